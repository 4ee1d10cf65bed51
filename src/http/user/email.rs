//! `POST /user/email/send-verification-email` and `POST /user/email/change`.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::options::RedirectOptionsInput;
use crate::domain::{CodeChallenge, Email};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearer};
use crate::http::ok;
use crate::service::user_email::EmailChange;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendVerificationBody {
    email: Email,
    options: Option<RedirectOptionsInput>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn send_verification(
    State(email_change): State<Arc<EmailChange>>,
    ApiJson(body): ApiJson<SendVerificationBody>,
) -> Result<Response, ApiError> {
    email_change
        .send_verification_email(body.email, body.options, body.code_challenge)
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeBody {
    new_email: Email,
    options: Option<RedirectOptionsInput>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn change(
    State(email_change): State<Arc<EmailChange>>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, ApiError> {
    email_change
        .change_email(&token, body.new_email, body.options, body.code_challenge)
        .await?;
    Ok(ok())
}
