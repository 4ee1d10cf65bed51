//! `POST /token/provider/{provider}` (bearer): refresh the provider's access token.

use std::sync::Arc;

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
};
use serde::Deserialize;

use crate::adapters::oauth::OAuthProviders;
use crate::error::ApiError;
use crate::http::extract::{ApiJson, Bearer};
use crate::service::oauth::OAuthSignIn;
use crate::service::oauth::ProviderSession;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    refresh_token: String,
}

pub async fn refresh(
    State(oauth): State<Arc<OAuthSignIn>>,
    Bearer(token): Bearer,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<ProviderSession>, ApiError> {
    let Path(provider) = path.map_err(|e| ApiError::validation(format!("invalid path: {e}")))?;
    if !OAuthProviders::is_known(&provider) {
        return Err(ApiError::validation(format!(
            "unknown provider {provider:?}"
        )));
    }
    if body.refresh_token.is_empty() {
        return Err(ApiError::validation("refreshToken is required"));
    }
    Ok(Json(
        oauth
            .refresh_provider_session(&token, &provider, &body.refresh_token)
            .await?,
    ))
}
