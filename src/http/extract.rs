//! Extractors that turn a request into parsed domain values, failing with the contract's
//! error body instead of axum's plain-text rejections.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{StatusCode, header::AUTHORIZATION, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};
use crate::http::state::SharedState;
use crate::service::accounts::Elevation;
use crate::tokens::VerifiedToken;

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::custom(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidRequest,
                "request body too large",
            )
        } else {
            ApiError::validation(format!("cannot read request body: {rejection}"))
        }
    })
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::validation(format!("invalid request body: {e}")))
}

/// A required JSON body, decoded into a type that rejects what the contract rejects.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::validation("request body is required"));
        }
        Ok(ApiJson(parse_json(&bytes)?))
    }
}

/// An optional JSON body: an empty body means `None`.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        Ok(OptionalJson(Some(parse_json(&bytes)?)))
    }
}

/// The raw token of an `Authorization: Bearer <jwt>` header (case-sensitive, one space).
fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .filter(|t| !t.is_empty())
}

/// A valid access token is required (upstream answers 400 when it is missing or invalid).
pub struct Bearer(pub VerifiedToken);

impl FromRequestParts<SharedState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or_else(|| {
            ApiError::validation("authorization header with a bearer token is required")
        })?;
        state
            .jwt
            .verify(token)
            .map(Bearer)
            .map_err(|e| ApiError::validation(format!("bearer token rejected: {e}")))
    }
}

/// Optional authentication: a missing or invalid token counts as none.
pub struct OptionalBearer(pub Option<VerifiedToken>);

impl FromRequestParts<SharedState> for OptionalBearer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        Ok(OptionalBearer(
            bearer_token(parts).and_then(|t| state.jwt.verify(t).ok()),
        ))
    }
}

/// A valid access token that also satisfies `AUTH_REQUIRE_ELEVATED_CLAIM`
/// (upstream's `BearerAuthElevated`). Refusal: 400 `elevated-claim-required`.
pub struct ElevatedBearer(pub VerifiedToken);

impl FromRequestParts<SharedState> for ElevatedBearer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        if state
            .workflows
            .accounts
            .satisfies_elevation(&token, Elevation::Policy)
            .await?
        {
            Ok(ElevatedBearer(token))
        } else {
            Err(ApiError::Code(ErrorCode::ElevatedClaimRequired))
        }
    }
}

/// Like [`ElevatedBearer`], but a user without any security key may proceed even in
/// `required` mode (adding a first key).
pub struct ElevatedBearerFirstKey(pub VerifiedToken);

impl FromRequestParts<SharedState> for ElevatedBearerFirstKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let Bearer(token) = Bearer::from_request_parts(parts, state).await?;
        if state
            .workflows
            .accounts
            .satisfies_elevation(&token, Elevation::FirstKeyExempt)
            .await?
        {
            Ok(ElevatedBearerFirstKey(token))
        } else {
            Err(ApiError::Code(ErrorCode::ElevatedClaimRequired))
        }
    }
}
