//! `POST /signout`: one refresh token, or every token of the signed-in user.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, OptionalBearer};
use crate::service::session::Sessions;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Body {
    refresh_token: Option<String>,
    #[serde(default)]
    all: bool,
}

pub async fn handle(
    State(sessions): State<Arc<Sessions>>,
    OptionalBearer(bearer): OptionalBearer,
    ApiJson(body): ApiJson<Body>,
) -> Result<Response, ApiError> {
    if body.all {
        let user_id = bearer
            .and_then(|t| t.subject_id())
            .ok_or(ErrorCode::InvalidRequest)?;
        sessions.sign_out_everywhere(user_id).await?;
    } else {
        let token = body
            .refresh_token
            .filter(|t| !t.is_empty())
            .ok_or(ErrorCode::InvalidRequest)?;
        sessions.sign_out(token).await?;
    }
    Ok(super::ok())
}
