//! Rate limits (SPEC §9), a layer of every route with the route's buckets (and of the
//! 404 fallback, global bucket only): after CORS and the request log, before Turnstile
//! and the handler, as upstream. 429 with an empty body when a bucket is exceeded, plus
//! `Retry-After`; every limited response carries `RateLimit-Limit`,
//! `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` of the tightest bucket.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};

mod limiter;
mod store;
mod window;

pub use limiter::RateLimiter;
use window::Decision;

use crate::domain::client_ip::rate_limit_key;
use crate::http::policy::{EmailLimit, Limits};
use crate::http::state::SharedState;

const LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RESET: HeaderName = HeaderName::from_static("ratelimit-reset");
const POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub(crate) const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) const REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// Every line of a header, in the order received; a line that is not visible ASCII is
/// kept as an empty (unparsable) value, so it ends a walk instead of being skipped.
pub(crate) fn header_lines<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Vec<&'h str> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or_default())
        .collect()
}

/// The rate-limit layer of one route: the buckets its policy declares.
#[derive(Clone)]
pub struct RouteLimits {
    state: SharedState,
    limits: Limits,
}

impl RouteLimits {
    pub fn new(state: SharedState, limits: Limits) -> RouteLimits {
        RouteLimits { state, limits }
    }
}

pub async fn limit(State(route): State<RouteLimits>, req: Request, next: Next) -> Response {
    let state = &route.state;
    let Some(limiter) = state.rate_limiter.as_ref() else {
        return next.run(req).await;
    };
    // Without a peer address (not served through `serve`) all requests share one key.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let client = limiter.trusted_proxies.client_ip(
        peer,
        &header_lines(req.headers(), &FORWARDED_FOR),
        &header_lines(req.headers(), &REAL_IP),
    );
    let email = match route.limits.email {
        EmailLimit::Never => false,
        EmailLimit::Always => true,
        EmailLimit::WhileVerificationRequired => state.config().signup.email_verification_required,
    };
    let decision = limiter
        .check(&rate_limit_key(client), &route.limits, email)
        .await;
    let mut res = if decision.allowed {
        next.run(req).await
    } else {
        state.metrics.record_rate_limited(decision.bucket);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        r
    };
    add_headers(res.headers_mut(), &decision);
    res
}

fn add_headers(headers: &mut HeaderMap, d: &Decision) {
    let num = |n: u64| HeaderValue::from(n);
    if d.window_secs > 0 {
        headers.insert(LIMIT, num(d.limit));
        headers.insert(REMAINING, num(d.remaining));
        headers.insert(RESET, num(d.reset_secs));
        if let Ok(v) = HeaderValue::from_str(&format!("{};w={}", d.limit, d.window_secs)) {
            headers.insert(POLICY, v);
        }
    }
    if let Some(secs) = d.retry_after_secs {
        headers.insert(header::RETRY_AFTER, num(secs));
    }
}
