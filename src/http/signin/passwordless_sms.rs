//! `POST /signin/passwordless/sms` and `POST /signin/passwordless/sms/otp`.

use axum::{Json, extract::State, response::Response};
use serde::Deserialize;

use crate::app::SharedState;
use crate::domain::PhoneNumber;
use crate::domain::options::SignUpOptionsInput;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::session::SessionPayload;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestBody {
    phone_number: String,
    options: Option<SignUpOptionsInput>,
}

pub async fn request(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    let phone = PhoneNumber::parse(&body.phone_number)
        .inspect_err(|e| tracing::debug!(error = %e, "phone number refused"))
        .ok();
    state.signin_sms_request(phone, body.options).await?;
    Ok(crate::http::ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OtpBody {
    phone_number: String,
    otp: String,
}

pub async fn verify_otp(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<OtpBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let phone = PhoneNumber::parse(&body.phone_number).ok();
    let session = state.signin_sms_verify(phone, &body.otp).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
