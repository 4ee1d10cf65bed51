//! `POST /oauth2/revoke` (reference §2.1.8, RFC 7009): the calling client ends one of
//! its refresh provider. 200 with an empty body, also for unknown tokens and access tokens
//! (which cannot be revoked: they expire).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::form::{FormRejection, OAuth2Form};
use crate::service::oauth2_provider::OAuth2Provider;

pub async fn handle(
    State(provider): State<Arc<OAuth2Provider>>,
    form: Result<OAuth2Form, FormRejection>,
) -> Response {
    if let Err(e) = provider.ensure_enabled() {
        return e.into_response();
    }
    let form = match form {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let answer = async {
        let credentials = form.credentials()?;
        provider.revoke(&credentials, form.get("token")).await
    }
    .await;
    match answer {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}
