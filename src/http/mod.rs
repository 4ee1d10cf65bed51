//! The HTTP layer: the whole API is assembled in [`router`]; each workflow has its own
//! module whose path mirrors the URL (`POST /signin/email-password` →
//! `http::signin::email_password`). Handlers extract input, call one service method and
//! map the result; they hold no SQL and no business rules.

pub mod elevate;
pub mod extract;
pub mod middleware;
pub mod signin;
pub mod signout;
pub mod signup;
pub mod system;
pub mod token;
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
    let api: Router<SharedState> = Router::new()
        .route("/healthz", get(system::healthz))
        .route("/version", get(system::version))
        .route("/.well-known/jwks.json", get(system::jwks))
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
        .route("/signup/webauthn", post(signup::webauthn::start))
        .route("/signup/webauthn/verify", post(signup::webauthn::verify))
        .route("/signin/webauthn", post(signin::webauthn::start))
        .route("/signin/webauthn/verify", post(signin::webauthn::verify))
        .route("/user/webauthn/add", post(user::webauthn::add))
        .route("/user/webauthn/verify", post(user::webauthn::verify))
        .route("/elevate/webauthn", post(elevate::webauthn::start))
        .route("/elevate/webauthn/verify", post(elevate::webauthn::verify));

    let prefix = normalise_prefix(&state.config().api_prefix);
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
        .layer(axum::middleware::from_fn(middleware::b3_trace))
        .layer(axum::middleware::from_fn(middleware::cors))
        .with_state(state)
}

/// `/v1/` → `Some("/v1")`, `""` or `/` → `None`.
fn normalise_prefix(prefix: &str) -> Option<String> {
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
