//! `GET|POST /oauth2/userinfo` (reference §2.1.5, OIDC Core §5.3): the user an OAuth2
//! access token was issued for, as its scopes allow. The token comes in the
//! `Authorization: Bearer` header; refusals are 401 `invalid_token` with
//! `WWW-Authenticate`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};

use crate::service::oauth2_provider::OAuth2Provider;

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive,
/// RFC 6750 §2.1).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub async fn handle(State(provider): State<Arc<OAuth2Provider>>, headers: HeaderMap) -> Response {
    match provider.userinfo(bearer(&headers)).await {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.with_bearer_challenge().into_response(),
    }
}
