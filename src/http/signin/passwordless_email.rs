//! `POST /signin/passwordless/email` (magic link).

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::{Email, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::ok;
use crate::service::passwordless::EmailSignIn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    email: Email,
    options: Option<SignUpOptionsInput>,
}

pub async fn handle(
    State(email_signin): State<Arc<EmailSignIn>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    email_signin
        .signin_passwordless_email(body.email, body.options)
        .await?;
    Ok(ok())
}
