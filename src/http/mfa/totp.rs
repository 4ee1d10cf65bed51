//! `GET /mfa/totp/generate`.

use std::sync::Arc;

use axum::{Json, extract::State};

use crate::error::ApiError;
use crate::http::extract::Bearer;
use crate::service::mfa::TotpMfa;
use crate::service::mfa::TotpSetup;

pub async fn generate(
    State(mfa): State<Arc<TotpMfa>>,
    Bearer(token): Bearer,
) -> Result<Json<TotpSetup>, ApiError> {
    Ok(Json(mfa.totp_generate(&token).await?))
}
