//! `POST /elevate/webauthn` and `POST /elevate/webauthn/verify`: a session whose access
//! token carries `x-hasura-auth-elevated`.

use std::sync::Arc;

use axum::{Json, extract::State};

use crate::error::ApiError;
use crate::http::extract::{ApiJson, Bearer};
use crate::http::signin::webauthn::VerifyBody;
use crate::service::session::SessionPayload;
use crate::service::webauthn::Passkeys;
use crate::service::webauthn::RequestOptions;

pub async fn start(
    State(passkeys): State<Arc<Passkeys>>,
    Bearer(token): Bearer,
) -> Result<Json<RequestOptions>, ApiError> {
    Ok(Json(passkeys.webauthn_elevate_start(&token).await?))
}

pub async fn verify(
    State(passkeys): State<Arc<Passkeys>>,
    Bearer(token): Bearer,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = passkeys
        .webauthn_elevate_finish(&token, body.credential)
        .await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
