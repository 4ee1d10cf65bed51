//! `GET /user/sessions` and `POST /user/sessions/revoke`: the caller's sessions and
//! personal access tokens, and ending them.

use std::sync::Arc;

use axum::{Json, extract::State, response::Response};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, Bearer, ElevatedBearer};
use crate::http::ok;
use crate::service::session::{Revoke, SessionView, Sessions};

pub async fn list(
    State(sessions): State<Arc<Sessions>>,
    Bearer(token): Bearer,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
    Ok(Json(
        sessions.list(user_id, Sessions::session_of(&token)).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RevokeBody {
    session_id: Option<Uuid>,
    others: Option<bool>,
}

pub async fn revoke(
    State(sessions): State<Arc<Sessions>>,
    ElevatedBearer(token): ElevatedBearer,
    ApiJson(body): ApiJson<RevokeBody>,
) -> Result<Response, ApiError> {
    let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
    let what = match (body.session_id, body.others) {
        (Some(id), None) => Revoke::One(id),
        (None, Some(true)) => Revoke::Others,
        _ => {
            return Err(ApiError::validation(
                "give either sessionId or \"others\": true",
            ));
        }
    };
    sessions
        .revoke_for_user(user_id, Sessions::session_of(&token), what)
        .await?;
    Ok(ok())
}
