//! `POST /signin/mfa/totp`.

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::app::SharedState;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::session::SessionPayload;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    ticket: String,
    otp: String,
}

pub async fn handle(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    // The contract's pattern `^mfaTotp:.*$`.
    if !body.ticket.starts_with("mfaTotp:") {
        return Err(ApiError::validation("ticket must start with mfaTotp:"));
    }
    let session = state.signin_mfa_totp(&body.ticket, &body.otp).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
