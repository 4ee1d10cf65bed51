//! `GET /healthz`, `GET /readyz`, `GET /version`, `GET /.well-known/jwks.json`.

use std::sync::Arc;

use axum::{
    Json,
    extract::State,
    http::Uri,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::service::health::Health;
use crate::tokens::JwtKeys;

/// Liveness, as upstream: 200 whenever the process answers, whatever the database does
/// (restarting the process would not bring the database back). `?verbose` adds the
/// database's state to a JSON body, still with 200.
pub async fn healthz(State(health): State<Arc<Health>>, uri: Uri) -> Response {
    match verbose(&uri) {
        true => verbose_body(&health).await.into_response(),
        false => super::ok(),
    }
}

/// The extra un-prefixed health check when `AUTH_API_PREFIX` is set.
pub async fn healthz_unprefixed(State(health): State<Arc<Health>>, uri: Uri) -> Json<Value> {
    match verbose(&uri) {
        true => verbose_body(&health).await,
        false => Json(json!({ "status": "ok" })),
    }
}

/// Readiness (ours): 200 `"OK"` when the database answers in time, else 503
/// `service-unavailable` with `Retry-After`, so a load balancer stops sending traffic
/// during a database outage and resumes without a restart.
pub async fn readyz(State(health): State<Arc<Health>>) -> Result<Response, ApiError> {
    health.database().await?;
    Ok(super::ok())
}

fn verbose(uri: &Uri) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.split('=').next() == Some("verbose"))
    })
}

async fn verbose_body(health: &Health) -> Json<Value> {
    let database = match health.database().await {
        Ok(()) => "ok",
        Err(_) => "unavailable",
    };
    Json(json!({ "status": "ok", "database": database }))
}

pub async fn version() -> Json<Value> {
    Json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}

/// Pre-serialized when the keys are loaded: the hot path copies no JSON.
pub async fn jwks(State(jwt): State<Arc<JwtKeys>>) -> Response {
    super::json_bytes(jwt.jwks_json())
}

/// This server's OpenAPI document (`openapi/hasura-auth.json`: upstream's structure,
/// our own summaries).
pub async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi/hasura-auth.json"),
    )
}
