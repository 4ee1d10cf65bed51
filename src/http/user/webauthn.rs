//! `POST /user/webauthn/add` and `POST /user/webauthn/verify` (elevated; a user without
//! any key may add a first one even when the elevated claim is required).

use axum::{Json, extract::State};
use serde::{Deserialize, Serialize};

use crate::app::SharedState;
use crate::domain::webauthn::CredentialCreation;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearerFirstKey};
use crate::service::webauthn::CreationOptions;

pub async fn add(
    State(state): State<SharedState>,
    ElevatedBearerFirstKey(token): ElevatedBearerFirstKey,
) -> Result<Json<CreationOptions>, ApiError> {
    Ok(Json(state.webauthn_add_key_start(&token).await?))
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
    State(state): State<SharedState>,
    ElevatedBearerFirstKey(token): ElevatedBearerFirstKey,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<Added>, ApiError> {
    let added = state
        .webauthn_add_key_finish(&token, body.credential, body.nickname)
        .await?;
    Ok(Json(Added {
        id: added.id.to_string(),
        nickname: added.nickname,
    }))
}
