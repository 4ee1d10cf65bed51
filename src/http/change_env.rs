//! `POST /change-env` (only with `AUTH_ENABLE_CHANGE_ENV=true`; for test suites).

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::change_env::EnvChange;

#[derive(Serialize)]
pub struct Changed {
    message: &'static str,
}

pub async fn handle(
    State(env): State<Arc<EnvChange>>,
    ApiJson(changes): ApiJson<Map<String, Value>>,
) -> Result<Json<Changed>, ApiError> {
    env.change_env(&changes).await?;
    Ok(Json(Changed {
        message: "environment changed successfully",
    }))
}
