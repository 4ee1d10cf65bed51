//! `POST /user/phone-number/change` and `POST /user/phone-number/change/verify`
//! (Nhost Auth 0.52).

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::{OneTimeCode, PhoneNumber};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearer};
use crate::http::ok;
use crate::service::sms::SmsSignIn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeBody {
    new_phone_number: String,
}

/// A number no SMS can reach is `None` (the service answers for it).
fn parse(number: &str) -> Option<PhoneNumber> {
    PhoneNumber::parse(number)
        .inspect_err(|e| tracing::debug!(error = %e, "phone number refused"))
        .ok()
}

pub async fn change(
    State(sms): State<Arc<SmsSignIn>>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, ApiError> {
    sms.change_phone_request(&token, parse(&body.new_phone_number))
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifyBody {
    new_phone_number: String,
    otp: OneTimeCode,
}

pub async fn verify(
    State(sms): State<Arc<SmsSignIn>>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Response, ApiError> {
    sms.change_phone_verify(&token, parse(&body.new_phone_number), &body.otp)
        .await?;
    Ok(ok())
}
