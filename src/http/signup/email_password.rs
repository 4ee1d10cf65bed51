//! `POST /signup/email-password`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::domain::{CodeChallenge, Email, Password, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::session::SessionPayload;
use crate::service::signup::SignUp;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    email: Email,
    password: Password,
    options: Option<SignUpOptionsInput>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn handle(
    State(signup): State<Arc<SignUp>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = signup
        .signup_email_password(body.email, body.password, body.options, body.code_challenge)
        .await?;
    Ok(Json(SessionPayload { session }))
}
