//! `POST /signin/mfa/totp`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::domain::OneTimeCode;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::mfa::TotpMfa;
use crate::service::session::SessionPayload;
use crate::service::tickets::Ticket;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    ticket: String,
    otp: OneTimeCode,
}

pub async fn handle(
    State(mfa): State<Arc<TotpMfa>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    // The contract's pattern `^mfaTotp:.*$`.
    if !body.ticket.starts_with("mfaTotp:") {
        return Err(ApiError::validation("ticket must start with mfaTotp:"));
    }
    let session = mfa
        .signin_mfa_totp(&Ticket::presented(body.ticket), &body.otp)
        .await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
