//! `GET /.well-known/openid-configuration`, `GET /.well-known/oauth-authorization-server`
//! (the same document) and `GET /oauth2/jwks`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::service::oauth2_provider::OAuth2Provider;

pub async fn openid_configuration(State(provider): State<Arc<OAuth2Provider>>) -> Response {
    match provider.discovery() {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn jwks(State(provider): State<Arc<OAuth2Provider>>) -> Response {
    match provider.jwks() {
        Ok(keys) => crate::http::json_bytes(keys),
        Err(e) => e.into_response(),
    }
}
