//! `GET /mfa/totp/generate`.

use axum::{Json, extract::State};

use crate::app::SharedState;
use crate::error::ApiError;
use crate::http::extract::Bearer;
use crate::service::mfa::TotpSetup;

pub async fn generate(
    State(state): State<SharedState>,
    Bearer(token): Bearer,
) -> Result<Json<TotpSetup>, ApiError> {
    Ok(Json(state.totp_generate(&token).await?))
}
