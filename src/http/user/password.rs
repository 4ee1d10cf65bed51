//! `POST /user/password/reset` and `POST /user/password`.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::options::RedirectOptionsInput;
use crate::domain::{CodeChallenge, Email, Password};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, OptionalBearer};
use crate::http::ok;
use crate::service::password::PasswordChange;
use crate::service::tickets::Ticket;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    email: Email,
    options: Option<RedirectOptionsInput>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn reset(
    State(passwords): State<Arc<PasswordChange>>,
    ApiJson(body): ApiJson<ResetBody>,
) -> Result<Response, ApiError> {
    passwords
        .request_password_reset(body.email, body.options, body.code_challenge)
        .await?;
    Ok(ok())
}

/// A ticket as the contract allows it here: `^passwordReset:.*$`.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub struct ResetTicket(String);

impl TryFrom<String> for ResetTicket {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.starts_with("passwordReset:") {
            Ok(ResetTicket(s))
        } else {
            Err("ticket must start with passwordReset:".to_owned())
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeBody {
    new_password: Password,
    ticket: Option<ResetTicket>,
}

/// Authentication is optional: without a (sufficiently elevated) token the ticket is
/// used instead, as upstream.
pub async fn change(
    State(passwords): State<Arc<PasswordChange>>,
    OptionalBearer(token): OptionalBearer,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, ApiError> {
    passwords
        .change_password(
            token,
            body.new_password,
            body.ticket.map(|t| Ticket::presented(t.0)),
        )
        .await?;
    Ok(ok())
}
