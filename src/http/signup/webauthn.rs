//! `POST /signup/webauthn` and `POST /signup/webauthn/verify`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::domain::webauthn::CredentialCreation;
use crate::domain::{CodeChallenge, Email, SignUpOptionsInput};
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::session::SessionPayload;
use crate::service::webauthn::CreationOptions;
use crate::service::webauthn::Passkeys;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    email: Email,
    options: Option<SignUpOptionsInput>,
}

pub async fn start(
    State(passkeys): State<Arc<Passkeys>>,
    ApiJson(body): ApiJson<StartBody>,
) -> Result<Json<CreationOptions>, ApiError> {
    Ok(Json(
        passkeys
            .webauthn_signup_start(body.email, body.options)
            .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    credential: CredentialCreation,
    /// Checked against the contract, then ignored, as upstream (see the service).
    #[allow(dead_code)]
    options: Option<SignUpOptionsInput>,
    nickname: Option<String>,
    /// PKCE (Nhost Auth 0.48): the emailed link ends in a code, not a refresh token.
    #[serde(rename = "codeChallenge")]
    code_challenge: Option<CodeChallenge>,
}

pub async fn verify(
    State(passkeys): State<Arc<Passkeys>>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = passkeys
        .webauthn_signup_finish(body.credential, body.nickname, body.code_challenge)
        .await?;
    Ok(Json(SessionPayload { session }))
}
