//! `POST /oauth2/token` (reference §2.1.4): the `authorization_code`,
//! `refresh_token` and device-code (RFC 8628) grants. Every answer, success or error, carries
//! `Cache-Control: no-store` and `Pragma: no-cache`; a 401 (`invalid_client`) also
//! `WWW-Authenticate`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::form::{FormRejection, OAuth2Form};
use crate::service::oauth2_provider::tokens::TokenRequest;
use crate::service::oauth2_provider::{OAuth2Error, OAuth2Provider};

pub async fn handle(
    State(provider): State<Arc<OAuth2Provider>>,
    form: Result<OAuth2Form, FormRejection>,
) -> Response {
    // Disabled first: whatever the request, the provider is off.
    if let Err(e) = provider.ensure_enabled() {
        return error(e);
    }
    let mut form = match form {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let answer = async {
        let credentials = form.credentials()?;
        let req = TokenRequest {
            grant_type: form.take("grant_type"),
            code: form.take("code"),
            redirect_uri: form.take("redirect_uri"),
            code_verifier: form.take("code_verifier"),
            refresh_token: form.take("refresh_token"),
            device_code: form.take("device_code"),
            credentials: Some(credentials),
        };
        provider.token(req).await
    }
    .await;
    match answer {
        Ok(body) => {
            let mut res = Json(body).into_response();
            no_store(&mut res);
            res
        }
        Err(e) => error(e),
    }
}

/// An error of the token endpoint, with its headers.
pub(super) fn error(e: OAuth2Error) -> Response {
    e.with_bearer_challenge().no_store().into_response()
}

pub(super) fn no_store(res: &mut Response) {
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
