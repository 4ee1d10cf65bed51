//! Cross-cutting HTTP behaviour: CORS as upstream answers it, B3 trace headers, the
//! concealment of account-revealing error codes (`AUTH_CONCEAL_ERRORS`), the time
//! limits of the body and the handler, and the client a new session records.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::Response,
};

use std::time::Duration;

use axum::response::IntoResponse;

use crate::config::parse::format_go_duration;
use crate::contract::Generation;
use crate::domain::client_ip::TrustedProxies;
use crate::error::{ApiError, ErrorCode, for_contract, rendered_code};
use crate::http::rate_limit::{FORWARDED_FOR, REAL_IP, header_lines};
use crate::http::state::SharedState;
use crate::request_log::{self, RequestLine, TraceId};
use crate::service::audit;
use crate::service::session::{CLIENT, ClientInfo};
use crate::settings::SettingsHandle;

/// Reflects the request's `Origin` (credentials allowed) and answers every `OPTIONS`
/// request with 204, exactly as upstream does.
pub async fn cors(req: Request, next: Next) -> Response {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let requested_headers = req
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned();
    let mut res = if req.method() == Method::OPTIONS {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NO_CONTENT;
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        r
    } else {
        next.run(req).await
    };
    if let Some(origin) = origin {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, GET"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            requested_headers.unwrap_or_else(|| HeaderValue::from_static("")),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
        h.insert(
            header::VARY,
            HeaderValue::from_static("Origin, Access-Control-Request-Method"),
        );
    }
    res
}

const TRACE_ID: HeaderName = HeaderName::from_static("x-b3-traceid");
const SPAN_ID: HeaderName = HeaderName::from_static("x-b3-spanid");
const PARENT_SPAN_ID: HeaderName = HeaderName::from_static("x-b3-parentspanid");

fn header_id(headers: &HeaderMap, name: &HeaderName) -> Option<TraceId> {
    headers.get(name).and_then(|v| TraceId::parse(v.as_bytes()))
}

/// Reads B3 headers (a trace id is generated when absent), logs the request line, and
/// echoes the ids on the response. A span is opened only for OpenTelemetry export.
pub async fn b3_trace(req: Request, next: Next) -> Response {
    let trace_id = header_id(req.headers(), &TRACE_ID).unwrap_or_else(TraceId::generate);
    let span_id = header_id(req.headers(), &SPAN_ID);
    let parent = header_id(req.headers(), &PARENT_SPAN_ID);
    let method = req.method().clone();
    // A clone of the URI shares its bytes: no copy of the path.
    let uri = req.uri().clone();
    let path = uri.path();
    let started = std::time::Instant::now();
    let mut res = if request_log::spans() {
        let span = tracing::info_span!(
            "request",
            otel.name = %format!("{method} {path}"),
            otel.kind = "server",
            http.request.method = %method,
            url.path = %path,
            b3.trace_id = trace_id.as_str(),
            http.response.status_code = tracing::field::Empty,
        );
        let res = tracing::Instrument::instrument(
            request_log::with_trace_id(trace_id, next.run(req)),
            span.clone(),
        )
        .await;
        span.record("http.response.status_code", res.status().as_u16());
        res
    } else {
        request_log::with_trace_id(trace_id, next.run(req)).await
    };
    request_log::log(&RequestLine {
        trace_id: &trace_id,
        span_id: span_id.as_ref(),
        parent_span_id: parent.as_ref(),
        method: method.as_str(),
        path,
        status: res.status().as_u16(),
        latency_us: started.elapsed().as_micros() as u64,
    });
    let h = res.headers_mut();
    for (name, id) in [
        (TRACE_ID, Some(trace_id)),
        (SPAN_ID, span_id),
        (PARENT_SPAN_ID, parent),
    ] {
        if let Some(v) = id.and_then(|id| HeaderValue::from_bytes(id.as_bytes()).ok()) {
            h.insert(name, v);
        }
    }
    res
}

/// The metrics layer of one route: the route's sign-in / sign-up flow, if it is one.
#[derive(Clone)]
pub struct Metered {
    state: SharedState,
    /// The route's label, made once: counting a request allocates nothing.
    label: std::sync::Arc<String>,
    /// The table path without its leading `/` (`signin/email-password`).
    flow: Option<&'static str>,
    /// The same for every route: the audit trail's `method`.
    path: &'static str,
}

impl Metered {
    pub fn new(state: SharedState, path: &'static str, label: String) -> Metered {
        let flow = path.trim_start_matches('/');
        let is_flow = flow.starts_with("signin") || flow.starts_with("signup");
        Metered {
            state,
            label: std::sync::Arc::new(label),
            flow: is_flow.then_some(flow),
            path: flow,
        }
    }
}

/// Counts requests and their latency per matched route, and sign-in / sign-up outcomes
/// (`ok` or the error code). Runs as a layer of each route, so the route template is
/// known and no identifier from the URL ends up in a label.
pub async fn track_metrics(State(route): State<Metered>, req: Request, next: Next) -> Response {
    let method = crate::metrics::method_label(req.method());
    let started = std::time::Instant::now();
    let recorded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scope = audit::AuditScope::new(
        route.state.audit.clone(),
        Some(route.path),
        recorded.clone(),
    );
    let res = audit::SCOPE.scope(scope, next.run(req)).await;
    // A sign-in refused before its workflow could say anything (a bad ticket, code or
    // token, a disabled account): still a failed sign-in in the audit trail.
    if route.path.starts_with("signin")
        && matches!(res.status().as_u16(), 401 | 403)
        && !recorded.load(std::sync::atomic::Ordering::Relaxed)
        && let Some(code) = crate::error::rendered_code(&res)
    {
        audit::AuditScope::new(route.state.audit.clone(), Some(route.path), recorded)
            .record_now(audit::event("signin", audit::Outcome::Failure).reason(code.as_str()));
    }
    let metrics = &route.state.metrics;
    metrics.record_request(
        &route.label,
        method,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(flow) = route.flow {
        let outcome = match crate::error::rendered_code(&res) {
            Some(code) => code.as_str(),
            None if res.status().is_success() || res.status().is_redirection() => "ok",
            None => "invalid-request",
        };
        metrics.record_outcome(flow, outcome);
    }
    res
}

/// What [`error_contract`] needs: the settings (for `AUTH_CONCEAL_ERRORS`) and the
/// contract resolved at start-up.
#[derive(Clone)]
pub struct ErrorContract {
    pub settings: SettingsHandle,
    pub generation: Generation,
}

/// Gives every JSON error response the shape of the contract served and applies
/// `AUTH_CONCEAL_ERRORS` (both in [`crate::error::for_contract`]).
pub async fn error_contract(
    State(contract): State<ErrorContract>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    if rendered_code(&res).is_none() {
        return res;
    }
    let conceal = contract.settings.config().server.conceal_errors;
    for_contract(res, contract.generation, conceal)
}

/// The time limits of one request, applied by [`deadlines`].
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// From the end of the headers to the end of the body (`AUTH_HTTP_BODY_READ_TIMEOUT`).
    pub body: Duration,
    /// From the end of the body to the response (`AUTH_HTTP_REQUEST_TIMEOUT`).
    pub handler: Duration,
}

/// Reads the whole body within its deadline (408 otherwise: a client sending half a body
/// does not hold a worker), refusing more than [`super::MAX_BODY_BYTES`] (413), then runs
/// the handler within its deadline: a request stuck on a frozen database or a stalled
/// dependency gets 503 `service-unavailable` instead of hanging. Dropping the handler is
/// what a client disconnect does too, so handlers already tolerate it.
pub async fn deadlines(State(limits): State<Deadlines>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > super::MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let body = match within(limits.body, read_limited(body)).await {
        Ok(Ok(body)) => body,
        Ok(Err(BodyError::TooLarge)) => return too_large(),
        Ok(Err(BodyError::Read(e))) => {
            return ApiError::validation(format!("cannot read request body: {e}")).into_response();
        }
        Err(_) => {
            return ApiError::custom(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::InvalidRequest,
                format!(
                    "request body not received within {}",
                    format_go_duration(limits.body)
                ),
            )
            .into_response();
        }
    };
    let req = Request::from_parts(parts, body);
    match within(limits.handler, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::Unavailable(format!(
            "no response within AUTH_HTTP_REQUEST_TIMEOUT ({})",
            format_go_duration(limits.handler)
        ))
        .into_response(),
    }
}

/// `future` within `limit`; zero means no limit.
async fn within<F: std::future::Future>(
    limit: Duration,
    future: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    if limit.is_zero() {
        Ok(future.await)
    } else {
        tokio::time::timeout(limit, future).await
    }
}

enum BodyError {
    TooLarge,
    Read(axum::Error),
}

fn too_large() -> Response {
    ApiError::custom(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::InvalidRequest,
        "request body too large",
    )
    .into_response()
}

/// The body, buffered, at most [`super::MAX_BODY_BYTES`].
async fn read_limited(body: Body) -> Result<Body, BodyError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut chunks: Vec<axum::body::Bytes> = Vec::new();
    let mut len = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Read)?;
        len += chunk.len();
        if len > super::MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        chunks.push(chunk);
    }
    Ok(match chunks.len() {
        0 => Body::empty(),
        1 => Body::from(chunks.swap_remove(0)),
        _ => Body::from(chunks.concat()),
    })
}

/// Makes the client's user agent and IP address (by the rate limiter's rules: forwarded
/// headers only from `AUTH_TRUSTED_PROXIES`) known to a session that starts while the
/// request is served (`GET /user/sessions` shows them).
pub async fn client_info(
    State(proxies): State<std::sync::Arc<TrustedProxies>>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = peer.map(|peer| {
        proxies
            .client_ip(
                peer,
                &header_lines(req.headers(), &FORWARDED_FOR),
                &header_lines(req.headers(), &REAL_IP),
            )
            .to_string()
    });
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let client = ClientInfo::new(user_agent, ip);
    CLIENT.scope(client, next.run(req)).await
}
