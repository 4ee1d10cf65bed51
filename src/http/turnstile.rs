//! Cloudflare Turnstile (SPEC §8.21), after the rate limiter: when `AUTH_TURNSTILE_SECRET`
//! is set, requests to the routes whose policy asks for it (the sign-up starts: upstream's
//! `/signup/…` paths except those ending in `/verify` or `/callback`) need an
//! `X-Cf-Turnstile-Response` header that Cloudflare accepts.
//!
//! Statuses and texts are upstream's (403 missing/failed, 500 when Cloudflare cannot be
//! asked); the body is the standard error shape, with upstream's text as the message.

use axum::{
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::adapters::turnstile;
use crate::error::{ApiError, ErrorCode};
use crate::http::state::SharedState;

const HEADER: &str = "x-cf-turnstile-response";

fn forbidden(message: impl Into<String>) -> Response {
    ApiError::custom(StatusCode::FORBIDDEN, ErrorCode::InvalidRequest, message).into_response()
}

pub async fn verify(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let settings = state.settings.snapshot();
    let secret = settings.config.turnstile.turnstile_secret.expose();
    if secret.is_empty() {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if token.is_empty() {
        return forbidden("missing x-cf-turnstile-response header");
    }
    match turnstile::verify(
        &state.http_client,
        &settings.config.turnstile.turnstile_url,
        secret,
        token,
    )
    .await
    {
        Ok(verdict) if verdict.success => next.run(req).await,
        Ok(verdict) => {
            tracing::info!(
                error_codes = ?verdict.error_codes,
                "sign-up refused: turnstile challenge not passed"
            );
            forbidden(format!(
                "failed to pass turnstile: {}",
                verdict.messages_text()
            ))
        }
        Err(e) => ApiError::internal(format!(
            "internal server error when attempting to pass turnstile: {e}"
        ))
        .into_response(),
    }
}
