//! Cloudflare Turnstile (SPEC §8.21), after the rate limiter: when `AUTH_TURNSTILE_SECRET`
//! is set, sign-up requests (`<prefix>/signup/…`, except paths ending in `/verify` or
//! `/callback`) need an `X-Cf-Turnstile-Response` header that Cloudflare accepts.
//!
//! Statuses and texts are upstream's (403 missing/failed, 500 when Cloudflare cannot be
//! asked); the body is the standard error shape, with upstream's text as the message.

use axum::{
    Json,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::adapters::turnstile;
use crate::app::SharedState;
use crate::error::{ApiError, ErrorBody, ErrorCode};

const HEADER: &str = "x-cf-turnstile-response";

/// Whether `path` needs a Turnstile pass, given the normalised API prefix.
fn protected(path: &str, prefix: Option<&str>) -> bool {
    let signup = format!("{}/signup/", prefix.unwrap_or_default());
    path.starts_with(&signup) && !path.ends_with("/verify") && !path.ends_with("/callback")
}

fn forbidden(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(ErrorBody {
            error: ErrorCode::InvalidRequest.as_str(),
            message,
            status: StatusCode::FORBIDDEN.as_u16(),
        }),
    )
        .into_response()
}

pub async fn verify(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let settings = state.settings();
    let secret = settings.config.turnstile.turnstile_secret.expose();
    let prefix = super::normalise_prefix(&settings.config.server.api_prefix);
    if secret.is_empty() || !protected(req.uri().path(), prefix.as_deref()) {
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
            forbidden(&format!(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turnstile_protects_signup_routes_only() {
        assert!(protected("/signup/email-password", None));
        assert!(protected("/signup/webauthn", None));
        assert!(!protected("/signup/webauthn/verify", None));
        assert!(!protected("/signup/x/callback", None));
        assert!(!protected("/signin/email-password", None));
        assert!(!protected("/signup", None));
        assert!(protected("/v1/signup/email-password", Some("/v1")));
        assert!(!protected("/signup/email-password", Some("/v1")));
    }
}
