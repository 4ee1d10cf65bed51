//! `POST /signup/webauthn` and `POST /signup/webauthn/verify`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::domain::webauthn::CredentialCreation;
use crate::domain::{Email, SignUpOptionsInput};
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
}

pub async fn verify(
    State(passkeys): State<Arc<Passkeys>>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = passkeys
        .webauthn_signup_finish(body.credential, body.nickname)
        .await?;
    Ok(Json(SessionPayload { session }))
}
