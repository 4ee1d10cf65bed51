//! `GET /oauth2/authorize` (query) and `POST /oauth2/authorize` (form): a 302 to the
//! consent page or to the client with an error, or a JSON error while the redirect URI
//! cannot be trusted.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::RawForm;
use crate::service::oauth2_provider::OAuth2Provider;
use crate::service::oauth2_provider::authorize::AuthorizeParams;

pub async fn get(
    State(provider): State<Arc<OAuth2Provider>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = AuthorizeParams::parse(query.unwrap_or_default().as_bytes());
    answer(&provider, &params).await
}

pub async fn post(
    State(provider): State<Arc<OAuth2Provider>>,
    form: Result<RawForm, crate::service::oauth2_provider::OAuth2Error>,
) -> Response {
    match form {
        Ok(RawForm(body)) => answer(&provider, &AuthorizeParams::parse(&body)).await,
        Err(e) => e.into_response(),
    }
}

async fn answer(provider: &OAuth2Provider, params: &AuthorizeParams) -> Response {
    match provider.authorize(params).await {
        Ok(location) => match HeaderValue::from_str(&location) {
            Ok(location) => (
                StatusCode::FOUND,
                [
                    (header::LOCATION, location),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
            )
                .into_response(),
            Err(e) => crate::service::oauth2_provider::OAuth2Error::internal(format!(
                "redirect location: {e}"
            ))
            .into_response(),
        },
        Err(e) => e.into_response(),
    }
}
