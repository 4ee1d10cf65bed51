//! The HTTP layer: the whole API is assembled in [`router`]; each workflow has its own
//! module whose path mirrors the URL (`POST /signin/email-password` →
//! `http::signin::email_password`). Handlers extract input, call one service method and
//! map the result; they hold no SQL and no business rules.

pub mod change_env;
pub mod elevate;
pub mod extract;
pub mod link;
pub mod mfa;
pub mod middleware;
pub mod pat;
pub mod rate_limit;
pub mod signin;
pub mod signout;
pub mod signup;
pub mod system;
pub mod token;
pub mod turnstile;
pub mod user;
pub mod verify;

use axum::{
    Json, Router,
    extract::DefaultBodyLimit,
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};

use crate::app::SharedState;
use crate::error::{ErrorBody, ErrorCode};

/// Bodies above this size are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// `"OK"`, upstream's success body for actions without a result.
pub fn ok() -> Response {
    Json("OK").into_response()
}

pub fn router(state: SharedState) -> Router {
    // Routes are registered here; `track_metrics` must stay the last `route_layer` so it
    // covers every route above it.
    let api: Router<SharedState> = Router::new()
        .route("/healthz", get(system::healthz))
        .route("/version", get(system::version))
        .route("/.well-known/jwks.json", get(system::jwks))
        .route("/openapi.json", get(system::openapi))
        .route(
            "/signup/email-password",
            post(signup::email_password::handle),
        )
        .route(
            "/signin/email-password",
            post(signin::email_password::handle),
        )
        .route("/signin/anonymous", post(signin::anonymous::handle))
        .route("/token", post(token::refresh))
        .route("/token/verify", post(token::verify))
        .route("/signout", post(signout::handle))
        .route("/user", get(user::get))
        .route("/verify", get(verify::handle))
        .route("/signin/provider/{provider}", get(signin::provider::start))
        .route(
            "/signin/provider/{provider}/callback",
            get(signin::provider::callback_get).post(signin::provider::callback_post),
        )
        .route(
            "/signin/provider/{provider}/callback/tokens",
            get(signin::provider::tokens),
        )
        .route("/signin/idtoken", post(signin::idtoken::handle))
        .route("/link/idtoken", post(link::idtoken::handle))
        .route("/token/provider/{provider}", post(token::provider::refresh))
        .route(
            "/signin/passwordless/sms",
            post(signin::passwordless_sms::request),
        )
        .route(
            "/signin/passwordless/sms/otp",
            post(signin::passwordless_sms::verify_otp),
        )
        .route("/signin/mfa/totp", post(signin::mfa_totp::handle))
        .route("/mfa/totp/generate", get(mfa::totp::generate))
        .route("/user/mfa", post(user::mfa::handle))
        .route("/signin/pat", post(signin::pat::handle))
        .route("/pat", post(pat::create))
        .route(
            "/signin/passwordless/email",
            post(signin::passwordless_email::handle),
        )
        .route("/signin/otp/email", post(signin::otp_email::request))
        .route("/signin/otp/email/verify", post(signin::otp_email::verify))
        .route("/user/deanonymize", post(user::deanonymize::handle))
        .route("/user/email/change", post(user::email::change))
        .route(
            "/user/email/send-verification-email",
            post(user::email::send_verification),
        )
        .route("/user/password", post(user::password::change))
        .route("/user/password/reset", post(user::password::reset))
        .route("/signup/webauthn", post(signup::webauthn::start))
        .route("/signup/webauthn/verify", post(signup::webauthn::verify))
        .route("/signin/webauthn", post(signin::webauthn::start))
        .route("/signin/webauthn/verify", post(signin::webauthn::verify))
        .route("/user/webauthn/add", post(user::webauthn::add))
        .route("/user/webauthn/verify", post(user::webauthn::verify))
        .route("/elevate/webauthn", post(elevate::webauthn::start))
        .route("/elevate/webauthn/verify", post(elevate::webauthn::verify));

    // Only when enabled (upstream registers it the same way).
    let api = if state.config().server.enable_change_env {
        api.route("/change-env", post(change_env::handle))
    } else {
        api
    };
    let api = api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        middleware::track_metrics,
    ));

    let prefix = normalise_prefix(&state.config().server.api_prefix);
    let app = match prefix {
        None => api,
        Some(prefix) => Router::new()
            .nest(&prefix, api)
            .route("/healthz", get(system::healthz_unprefixed)),
    };

    app.fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::error::conceal_errors,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Upstream's order: CORS → request log → rate limiter → Turnstile → routes.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            turnstile::verify,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::limit,
        ))
        .layer(axum::middleware::from_fn(middleware::b3_trace))
        .layer(axum::middleware::from_fn(middleware::cors))
        .with_state(state)
}

/// `/v1/` → `Some("/v1")`, `""` or `/` → `None`.
pub(crate) fn normalise_prefix(prefix: &str) -> Option<String> {
    let trimmed = prefix.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    Some(if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    })
}

async fn not_found(method: Method, uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(ErrorBody {
            error: ErrorCode::InvalidRequest.as_str(),
            message: &format!("no route for {method} {}", uri.path()),
            status: StatusCode::NOT_FOUND.as_u16(),
        }),
    )
        .into_response()
}

/// The separate metrics listener: `GET /metrics` in Prometheus text format.
pub fn metrics_router(state: SharedState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(
                |axum::extract::State(state): axum::extract::State<SharedState>| async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        state.metrics.render(state.db.status()),
                    )
                },
            ),
        )
        .with_state(state)
}
