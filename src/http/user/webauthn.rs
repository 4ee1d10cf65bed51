//! `POST /user/webauthn/add` and `POST /user/webauthn/verify` (elevated; a user without
//! any key may add a first one even when the elevated claim is required).

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};

use crate::domain::webauthn::CredentialCreation;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearerFirstKey};
use crate::service::webauthn::CreationOptions;
use crate::service::webauthn::Passkeys;

pub async fn add(
    State(passkeys): State<Arc<Passkeys>>,
    ElevatedBearerFirstKey(token): ElevatedBearerFirstKey,
) -> Result<Json<CreationOptions>, ApiError> {
    Ok(Json(passkeys.webauthn_add_key_start(&token).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    credential: CredentialCreation,
    nickname: Option<String>,
}

#[derive(Serialize)]
pub struct Added {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
}

pub async fn verify(
    State(passkeys): State<Arc<Passkeys>>,
    ElevatedBearerFirstKey(token): ElevatedBearerFirstKey,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Added>, ApiError> {
    let added = passkeys
        .webauthn_add_key_finish(&token, body.credential, body.nickname)
        .await?;
    Ok(Json(Added {
        id: added.id.to_string(),
        nickname: added.nickname,
    }))
}
