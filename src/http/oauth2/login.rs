//! `GET /oauth2/login` (the pending request) and `POST /oauth2/login` (the signed-in user
//! approves it): the API of the application's consent page.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Bearer};
use crate::service::oauth2_provider::OAuth2Provider;
use crate::service::oauth2_provider::login::{Approved, PendingRequest};

#[derive(Deserialize)]
pub struct Query {
    request_id: Uuid,
}

pub async fn get(
    State(provider): State<Arc<OAuth2Provider>>,
    query: Result<ApiQuery<Query>, ApiError>,
) -> Result<Json<PendingRequest>, ApiError> {
    provider.ensure_enabled_for_ui()?;
    let ApiQuery(query) = query?;
    Ok(Json(provider.pending_request(query.request_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    request_id: Uuid,
}

pub async fn post(
    State(provider): State<Arc<OAuth2Provider>>,
    Bearer(token): Bearer,
    body: Result<ApiJson<Body>, ApiError>,
) -> Result<Json<Approved>, ApiError> {
    provider.ensure_enabled_for_ui()?;
    let ApiJson(body) = body?;
    Ok(Json(provider.approve(&token, body.request_id).await?))
}
