//! `POST /user/email/send-verification-email` and `POST /user/email/change`.

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::app::SharedState;
use crate::domain::Email;
use crate::domain::options::RedirectOptionsInput;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearer};
use crate::http::ok;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendVerificationBody {
    email: Email,
    options: Option<RedirectOptionsInput>,
}

pub async fn send_verification(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<SendVerificationBody>,
) -> Result<Response, ApiError> {
    state
        .send_verification_email(body.email, body.options)
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ChangeBody {
    new_email: Email,
    options: Option<RedirectOptionsInput>,
}

pub async fn change(
    State(state): State<SharedState>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<Response, ApiError> {
    state
        .change_email(&token, body.new_email, body.options)
        .await?;
    Ok(ok())
}
