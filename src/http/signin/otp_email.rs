//! `POST /signin/otp/email` (send a code), `POST /signin/otp/email/verify`, and
//! `POST /signup/otp/email`.

use std::sync::Arc;

use axum::{Json, extract::State, response::Response};
use serde::Deserialize;

use crate::domain::OneTimeCode;
use crate::domain::{Email, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::ok;
use crate::service::passwordless::EmailSignIn;
use crate::service::registration::Origin;
use crate::service::session::SessionPayload;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    email: Email,
    options: Option<SignUpOptionsInput>,
}

pub async fn request(
    State(email_signin): State<Arc<EmailSignIn>>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    email_signin
        .signin_otp_email(body.email, body.options, Origin::SignIn)
        .await?;
    Ok(ok())
}

/// `POST /signup/otp/email`: `"OK"` for a known address too, without sending.
pub async fn sign_up(
    State(email_signin): State<Arc<EmailSignIn>>,
    ApiJson(body): ApiJson<RequestBody>,
) -> Result<Response, ApiError> {
    email_signin
        .signin_otp_email(body.email, body.options, Origin::SignUp)
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    otp: OneTimeCode,
    email: Email,
}

pub async fn verify(
    State(email_signin): State<Arc<EmailSignIn>>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = email_signin
        .signin_otp_email_verify(body.email, &body.otp)
        .await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
