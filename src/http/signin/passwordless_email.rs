//! `POST /signin/passwordless/email` (magic link).

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::app::SharedState;
use crate::domain::{Email, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::ok;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    email: Email,
    options: Option<SignUpOptionsInput>,
}

pub async fn handle(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    state
        .signin_passwordless_email(body.email, body.options)
        .await?;
    Ok(ok())
}
