//! `POST /oauth2/introspect` (reference §2.1.7, RFC 7662): whether a token is a live
//! token of the calling client, and what it grants. The client must authenticate.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
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
        provider
            .introspect(&credentials, form.get("token"), form.get("token_type_hint"))
            .await
    }
    .await;
    match answer {
        Ok(body) => {
            let mut res = Json(body).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => e.into_response(),
    }
}
