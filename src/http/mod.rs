//! The HTTP layer: the whole API is listed in [`routes::table`], each route with its
//! policy ([`policy`]), and assembled in [`router`]; each workflow has its own
//! module whose path mirrors the URL (`POST /signin/email-password` →
//! `http::signin::email_password`). Handlers extract input and the one workflow they call
//! (`State<Arc<SignUp>>`, see [`state`]), call it and map the result; they hold no SQL
//! and no business rules.

pub mod change_env;
pub mod elevate;
pub mod extract;
pub mod link;
pub mod mfa;
pub mod middleware;
pub mod oauth2;
pub mod pat;
pub mod policy;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod signin;
pub mod signout;
pub mod signup;
pub mod state;
pub mod system;
pub mod token;
pub mod turnstile;
pub mod user;
pub mod verify;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{Method, StatusCode, Uri},
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
    routing::{MethodRouter, any, get},
};

use crate::error::{ApiError, ErrorCode};
use crate::http::state::SharedState;
use policy::{Challenge, Limits};
use routes::{Mount, Route};

/// Bodies above this size are refused with 413 before they are read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// `"OK"`, upstream's success body for actions without a result.
pub fn ok() -> Response {
    json_bytes(bytes::Bytes::from_static(b"\"OK\""))
}

/// A 200 answer with a body that is already JSON (no serializer runs).
pub fn json_bytes(body: bytes::Bytes) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// What the server runs for every request: the routes behind the middleware every
/// request passes through.
pub type App =
    tower::util::BoxCloneSyncService<axum::extract::Request, Response, std::convert::Infallible>;

/// The API ([`routes`]) behind the middleware every request passes through, outermost
/// first: CORS → trace ids and the request log → read deadlines → body limit → the
/// served contract's error bodies.
///
/// These wrap the router as a whole, not each route: `Router::layer` wraps every route
/// in a boxed service per layer, and each `from_fn` layer clones the boxed stack under
/// it on every request, so five layers cost some 60 allocations per request. Here the
/// stack is boxed once, and cloning the router inside is a reference count.
pub fn app(state: SharedState) -> App {
    let config = state.config();
    let deadlines = middleware::Deadlines {
        body: config.server.http_body_read_timeout,
        handler: config.server.http_request_timeout,
    };
    drop(config);
    let error_contract = middleware::ErrorContract {
        settings: state.settings.clone(),
        generation: state.generation,
    };
    // Upstream's order: CORS → request log → rate limiter → Turnstile → routes. The
    // rate limiter and Turnstile are layers of each route: routing picks the route's
    // policy first, which nothing observes.
    let stack = tower::ServiceBuilder::new()
        .layer(axum::middleware::from_fn(middleware::cors))
        .layer(axum::middleware::from_fn(middleware::b3_trace))
        .layer(from_fn_with_state(deadlines, middleware::deadlines))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(
            error_contract,
            middleware::error_contract,
        ))
        .service(routes(state));
    tower::util::BoxCloneSyncService::new(stack)
}

/// The API, built from [`routes::table`] only: each route carries its own rate-limit and
/// Turnstile layers (see [`layered`]); requests that match no route count in the global
/// bucket and get the 404 body.
pub fn routes(state: SharedState) -> Router {
    let config = state.config();
    let prefix = normalise_prefix(&config.server.api_prefix);
    // Parsed once here, not per request; a list that does not parse was refused at
    // start-up (the rate limiter parses it too), so the fallback trusts nobody.
    let proxies = std::sync::Arc::new(
        crate::domain::client_ip::TrustedProxies::parse(&config.rate_limit.trusted_proxies)
            .unwrap_or_default(),
    );
    let mut api: Router<SharedState> = Router::new();
    let mut root: Router<SharedState> = Router::new();
    for route in routes::table() {
        if !route.policy.gate.mounted(&config) {
            continue;
        }
        match route.mount {
            Mount::Api => {
                // The label is the path as matched, prefix included.
                let label = format!("{}{}", prefix.as_deref().unwrap_or(""), route.path);
                api = api.route(route.path, layered(&state, &proxies, route, Some(label)));
            }
            Mount::RootWhenPrefixed if prefix.is_some() => {
                root = root.route(route.path, layered(&state, &proxies, route, None));
            }
            Mount::RootWhenPrefixed => {}
        }
    }
    drop(config);
    let app = match prefix {
        None => api,
        Some(prefix) => root.nest(&prefix, api),
    };
    app.fallback_service(unrouted(&state)).with_state(state)
}

/// A route's handlers under its policy, outermost first: rate limit → client capture →
/// Turnstile → metrics → handler. `MethodRouter::layer` also covers the route's 405
/// answers. `metrics_label`: the route's label in `/metrics`, if it is counted. Read-only
/// routes (health, JWKS, `/user`, …) skip the client capture, which allocates.
fn layered(
    state: &SharedState,
    proxies: &std::sync::Arc<crate::domain::client_ip::TrustedProxies>,
    route: Route,
    metrics_label: Option<String>,
) -> MethodRouter<SharedState> {
    let mut handlers = route.handlers;
    if let Some(label) = metrics_label {
        handlers = handlers.layer(from_fn_with_state(
            middleware::Metered::new(state.clone(), route.path, label),
            middleware::track_metrics,
        ));
    }
    if route.policy.challenge == Challenge::Turnstile {
        handlers = handlers.layer(from_fn_with_state(state.clone(), turnstile::verify));
    }
    if route.captures_client {
        handlers = handlers.layer(from_fn_with_state(proxies.clone(), middleware::client_info));
    }
    if state.rate_limiter.is_some() {
        handlers = handlers.layer(from_fn_with_state(
            rate_limit::RouteLimits::new(state.clone(), route.policy.limits),
            rate_limit::limit,
        ));
    }
    handlers
}

/// Requests no route matches: the global bucket, then 404.
fn unrouted(state: &SharedState) -> MethodRouter {
    let not_found = any(not_found);
    let not_found = if state.rate_limiter.is_some() {
        not_found.layer(from_fn_with_state(
            rate_limit::RouteLimits::new(state.clone(), Limits::GLOBAL),
            rate_limit::limit,
        ))
    } else {
        not_found
    };
    not_found.with_state(state.clone())
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

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::custom(
        StatusCode::NOT_FOUND,
        ErrorCode::InvalidRequest,
        format!("no route for {method} {}", uri.path()),
    )
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
