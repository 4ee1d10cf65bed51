//! `POST /change-env` (only with `AUTH_ENABLE_CHANGE_ENV=true`; for test suites).

use axum::{Json, extract::State};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::SharedState;
use crate::error::ApiError;
use crate::http::extract::ApiJson;

#[derive(Serialize)]
pub struct Changed {
    message: &'static str,
}

pub async fn handle(
    State(state): State<SharedState>,
    ApiJson(changes): ApiJson<Map<String, Value>>,
) -> Result<Json<Changed>, ApiError> {
    state.change_env(&changes).await?;
    Ok(Json(Changed {
        message: "environment changed successfully",
    }))
}
