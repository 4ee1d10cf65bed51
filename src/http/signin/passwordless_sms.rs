//! `POST /signin/passwordless/sms`, `POST /signin/passwordless/sms/otp`, and
//! `POST /signup/passwordless/sms`.

use std::sync::Arc;

use axum::{Json, extract::State, response::Response};
use serde::Deserialize;

use crate::domain::OneTimeCode;
use crate::domain::PhoneNumber;
use crate::domain::options::SignUpOptionsInput;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::registration::Origin;
use crate::service::session::SessionPayload;
use crate::service::sms::SmsSignIn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestBody {
    phone_number: String,
    options: Option<SignUpOptionsInput>,
}

pub async fn request(
    State(sms): State<Arc<SmsSignIn>>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    send_code(&sms, body, Origin::SignIn).await
}

/// `POST /signup/passwordless/sms`: `"OK"` for a known number too, without sending.
pub async fn sign_up(
    State(sms): State<Arc<SmsSignIn>>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    send_code(&sms, body, Origin::SignUp).await
}

async fn send_code(
    sms: &SmsSignIn,
    body: RequestBody,
    origin: Origin,
) -> Result<Response, ApiError> {
    let phone = PhoneNumber::parse(&body.phone_number)
        .inspect_err(|e| tracing::debug!(error = %e, "phone number refused"))
        .ok();
    sms.signin_sms_request(phone, body.options, origin).await?;
    Ok(crate::http::ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OtpBody {
    phone_number: String,
    otp: OneTimeCode,
}

pub async fn verify_otp(
    State(sms): State<Arc<SmsSignIn>>,
    ApiJson(body): ApiJson<OtpBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let phone = PhoneNumber::parse(&body.phone_number).ok();
    let session = sms.signin_sms_verify(phone, &body.otp).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
