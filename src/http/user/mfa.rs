//! `POST /user/mfa`: activate or deactivate TOTP.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::OneTimeCode;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, Bearer};
use crate::service::mfa::TotpMfa;

/// `activeMfaType`: `"totp"` activates; absent or `""` deactivates.
#[derive(Deserialize, Default, PartialEq, Eq)]
pub enum ActiveMfaType {
    #[serde(rename = "totp")]
    Totp,
    #[default]
    #[serde(rename = "")]
    None,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    code: OneTimeCode,
    #[serde(default)]
    active_mfa_type: ActiveMfaType,
}

pub async fn handle(
    State(mfa): State<Arc<TotpMfa>>,
    Bearer(token): Bearer,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    let activate = body.active_mfa_type == ActiveMfaType::Totp;
    mfa.change_mfa(&token, &body.code, activate).await?;
    Ok(crate::http::ok())
}
