//! `POST /signin/passwordless/email` (magic link) and `POST /signup/passwordless/email`.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::domain::{CodeChallenge, Email, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::ok;
use crate::service::passwordless::EmailSignIn;
use crate::service::registration::Origin;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    email: Email,
    options: Option<SignUpOptionsInput>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn handle(
    State(email_signin): State<Arc<EmailSignIn>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    email_signin
        .signin_passwordless_email(
            body.email,
            body.options,
            body.code_challenge,
            Origin::SignIn,
        )
        .await?;
    Ok(ok())
}

/// `POST /signup/passwordless/email`: `"OK"` for a known address too, without sending.
pub async fn sign_up(
    State(email_signin): State<Arc<EmailSignIn>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    email_signin
        .signin_passwordless_email(
            body.email,
            body.options,
            body.code_challenge,
            Origin::SignUp,
        )
        .await?;
    Ok(ok())
}
