//! `POST /signout`: one refresh token, or every token of the signed-in user.

use std::sync::Arc;

use axum::{extract::State, response::Response};
use serde::Deserialize;

use crate::error::ApiError;
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
    // Refusals say what was wrong, in the words `POST /token` uses for the same token.
    if body.all {
        let user_id = bearer.and_then(|t| t.subject_id()).ok_or_else(|| {
            ApiError::validation("\"all\": true needs a valid access token (Authorization: Bearer)")
        })?;
        sessions.sign_out_everywhere(user_id).await?;
    } else {
        let token = match body.refresh_token {
            None => {
                return Err(ApiError::validation(
                    "invalid request body: missing field `refreshToken`",
                ));
            }
            Some(t) if t.is_empty() => {
                return Err(ApiError::validation(
                    "invalid request body: expected a token containing a UUID",
                ));
            }
            Some(t) => t,
        };
        sessions.sign_out(token).await?;
    }
    Ok(super::ok())
}
