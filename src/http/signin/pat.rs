//! `POST /signin/pat`.

use std::sync::Arc;

use axum::{Json, extract::State};
use serde::Deserialize;

use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::service::pat::PersonalAccessTokens;
use crate::service::session::SessionPayload;
use crate::tokens::refresh::RefreshToken;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Body {
    personal_access_token: RefreshToken,
}

pub async fn handle(
    State(pats): State<Arc<PersonalAccessTokens>>,
    ApiJson(body): ApiJson<Body>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = pats.signin_pat(&body.personal_access_token).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
