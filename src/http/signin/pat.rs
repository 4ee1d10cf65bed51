//! `POST /signin/pat`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::token::UUID_IN_TOKEN;
use crate::service::pat::PersonalAccessTokens;
use crate::service::session::SessionPayload;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    personal_access_token: String,
}

pub async fn handle(
    State(pats): State<Arc<PersonalAccessTokens>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    if !UUID_IN_TOKEN.is_match(&body.personal_access_token) {
        return Err(ApiError::validation(
            "personalAccessToken must be a personal access token (a UUID)",
        ));
    }
    let session = pats.signin_pat(&body.personal_access_token).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
