//! `POST /user/deanonymize`.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::{CodeChallenge, Email, Password, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, Bearer};
use crate::http::ok;
use crate::service::deanonymize::Deanonymization;
use crate::service::deanonymize::{DeanonymizeInput, SignInMethod};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    sign_in_method: SignInMethod,
    email: Email,
    password: Option<Password>,
    /// Deprecated by upstream and ignored.
    #[serde(rename = "connection")]
    _connection: Option<String>,
    options: Option<SignUpOptionsInput>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn handle(
    State(deanonymization): State<Arc<Deanonymization>>,
    Bearer(token): Bearer,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    deanonymization
        .deanonymize(
            &token,
            DeanonymizeInput {
                sign_in_method: body.sign_in_method,
                email: body.email,
                password: body.password,
                options: body.options,
                code_challenge: body.code_challenge,
            },
        )
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SmsBody {
    phone_number: String,
    options: Option<SignUpOptionsInput>,
}

/// `POST /user/deanonymize/sms` (Nhost Auth 0.52): completed by
/// `POST /signin/passwordless/sms/otp`.
pub async fn sms(
    State(sms): State<Arc<crate::service::sms::SmsSignIn>>,
    Bearer(token): Bearer,
    ApiJson(body): ApiJson<SmsBody>,
) -> Result<Response, ApiError> {
    let phone = crate::domain::PhoneNumber::parse(&body.phone_number)
        .inspect_err(|e| tracing::debug!(error = %e, "phone number refused"))
        .ok();
    sms.deanonymize_sms_request(&token, phone, body.options)
        .await?;
    Ok(ok())
}
