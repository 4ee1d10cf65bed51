//! `GET /healthz`, `GET /version`, `GET /.well-known/jwks.json`.

use std::sync::Arc;

use axum::{Json, extract::State, response::Response};
use serde_json::{Value, json};

use crate::tokens::JwtKeys;

pub async fn healthz() -> Response {
    super::ok()
}

/// The extra un-prefixed health check when `AUTH_API_PREFIX` is set.
pub async fn healthz_unprefixed() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn version() -> Json<Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

pub async fn jwks(State(jwt): State<Arc<JwtKeys>>) -> Json<Value> {
    Json(jwt.jwks().clone())
}

/// This server's OpenAPI document (`openapi/hasura-auth.json`: upstream's structure,
/// our own summaries).
pub async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi/hasura-auth.json"),
    )
}
