//! `POST /link/idtoken` (elevated bearer): link an Apple or Google account.

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::app::SharedState;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearer};
use crate::service::oauth::IdTokenProvider;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    provider: IdTokenProvider,
    id_token: String,
    nonce: Option<String>,
}

pub async fn handle(
    State(state): State<SharedState>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    state
        .link_id_token(&token, body.provider, &body.id_token, body.nonce.as_deref())
        .await?;
    Ok(crate::http::ok())
}
