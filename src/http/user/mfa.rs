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
#[serde(try_from = "String")]
pub enum ActiveMfaType {
    Totp,
    #[default]
    None,
}

/// Our own wording for a refused value (serde's names Rust's variants, and "``").
impl TryFrom<String> for ActiveMfaType {
    type Error = &'static str;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "totp" => Ok(ActiveMfaType::Totp),
            "" => Ok(ActiveMfaType::None),
            _ => Err(r#"activeMfaType must be "totp" (activate) or "" (deactivate)"#),
        }
    }
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
