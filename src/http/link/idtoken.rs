//! `POST /link/idtoken` (elevated bearer): link an Apple or Google account.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::extract::{ApiJson, ElevatedBearer};
use crate::service::oauth::IdTokenProvider;
use crate::service::oauth::OAuthSignIn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    provider: IdTokenProvider,
    id_token: String,
    nonce: Option<String>,
}

pub async fn handle(
    State(oauth): State<Arc<OAuthSignIn>>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    oauth
        .link_id_token(&token, body.provider, &body.id_token, body.nonce.as_deref())
        .await?;
    Ok(crate::http::ok())
}
