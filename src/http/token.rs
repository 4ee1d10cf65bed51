//! `POST /token` (refresh), `POST /token/verify` and `POST /token/exchange` (PKCE).

pub mod provider;

use std::sync::Arc;

use axum::{Json, extract::State, response::Response};
use serde::Deserialize;

use crate::domain::CodeVerifier;
use crate::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, OptionalBearer, OptionalJson};
use crate::service::accounts::Accounts;
use crate::service::pkce::PkceCodes;
use crate::service::session::Sessions;
use crate::service::session::{Session, SessionPayload};
use crate::tokens::JwtKeys;
use crate::tokens::refresh::RefreshToken;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RefreshBody {
    refresh_token: RefreshToken,
}

/// Answers a bare `Session` (not wrapped in `session`), as upstream.
pub async fn refresh(
    State(sessions): State<Arc<Sessions>>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(sessions.refresh_session(&body.refresh_token).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    token: Option<String>,
}

/// With `token`: checks that token alone (no database). Without: the bearer token must be
/// valid and its user must pass the user check.
pub async fn verify(
    State(jwt): State<Arc<JwtKeys>>,
    State(accounts): State<Arc<Accounts>>,
    OptionalBearer(bearer): OptionalBearer,
    OptionalJson(body): OptionalJson<VerifyBody>,
) -> Result<Response, ApiError> {
    if let Some(token) = body.and_then(|b| b.token) {
        jwt.verify(&token)
            .map_err(|_| ApiError::Code(ErrorCode::InvalidRequest))?;
        return Ok(super::ok());
    }
    let token = bearer.ok_or(ErrorCode::InvalidRequest)?;
    let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
    accounts.current_user(user_id).await?;
    Ok(super::ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExchangeBody {
    code: String,
    code_verifier: CodeVerifier,
}

/// `POST /token/exchange`: the code of a PKCE redirect and its verifier → `{"session"}`.
pub async fn exchange(
    State(pkce): State<Arc<PkceCodes>>,
    ApiJson(body): ApiJson<ExchangeBody>,
) -> Result<Json<SessionPayload>, ApiError> {
    let session = pkce.exchange(&body.code, &body.code_verifier).await?;
    Ok(Json(SessionPayload {
        session: Some(session),
    }))
}
