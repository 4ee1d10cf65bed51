//! The device authorization grant (RFC 8628; [`crate::service::oauth2_provider::device`]):
//! `POST /oauth2/device` (the client asks for codes; OAuth2 errors, no-store), and
//! `GET|POST /oauth2/device/verify`, the verification page's API (the service's usual
//! error body, as `/oauth2/login`).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::form::{FormRejection, OAuth2Form};
use crate::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery, Bearer};
use crate::service::oauth2_provider::OAuth2Provider;
use crate::service::oauth2_provider::device::{DeviceDecision, PendingDevice};

/// `POST /oauth2/device` (form): `client_id` (with the client's credentials as at the
/// token endpoint) and `scope`.
pub async fn authorize(
    State(provider): State<Arc<OAuth2Provider>>,
    form: Result<OAuth2Form, FormRejection>,
) -> Response {
    if let Err(e) = provider.ensure_enabled() {
        return super::token::error(e);
    }
    let form = match form {
        Ok(form) => form,
        Err(rejection) => return rejection.into_response(),
    };
    let answer = async {
        let credentials = form.credentials()?;
        provider
            .device_authorization(&credentials, form.get("scope"))
            .await
    }
    .await;
    match answer {
        Ok(body) => {
            let mut res = Json(body).into_response();
            super::token::no_store(&mut res);
            res
        }
        Err(e) => super::token::error(e),
    }
}

#[derive(Deserialize)]
pub struct Query {
    user_code: String,
}

pub async fn get(
    State(provider): State<Arc<OAuth2Provider>>,
    query: Result<ApiQuery<Query>, ApiError>,
) -> Result<Json<PendingDevice>, ApiError> {
    provider.ensure_enabled_for_ui()?;
    let ApiQuery(query) = query?;
    Ok(Json(provider.pending_device(&query.user_code).await?))
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Approve,
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    user_code: String,
    action: Action,
}

pub async fn post(
    State(provider): State<Arc<OAuth2Provider>>,
    Bearer(token): Bearer,
    body: Result<ApiJson<Body>, ApiError>,
) -> Result<Json<DeviceDecision>, ApiError> {
    provider.ensure_enabled_for_ui()?;
    let ApiJson(body) = body?;
    let approve = body.action == Action::Approve;
    Ok(Json(
        provider
            .decide_device(&token, &body.user_code, approve)
            .await?,
    ))
}
