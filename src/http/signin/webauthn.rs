//! `POST /signin/webauthn` (body optional) and `POST /signin/webauthn/verify`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::domain::Email;
use crate::domain::webauthn::CredentialAssertion;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, OptionalJson};
use crate::service::session::SessionPayload;
use crate::service::webauthn::Passkeys;
use crate::service::webauthn::RequestOptions;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    email: Option<Email>,
}

pub async fn start(
    State(passkeys): State<Arc<Passkeys>>,
    OptionalJson(body): OptionalJson<StartBody>,
) -> Result<Json<RequestOptions>, ApiError> {
    let body = body.unwrap_or_default();
    Ok(Json(passkeys.webauthn_signin_start(body.email).await?))
}

/// Also the body of `POST /elevate/webauthn/verify`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    pub credential: CredentialAssertion,
    /// Deprecated and ignored (upstream too).
    #[allow(dead_code)]
    pub email: Option<Email>,
}

pub async fn verify(
    State(passkeys): State<Arc<Passkeys>>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = passkeys.webauthn_signin_finish(body.credential).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
