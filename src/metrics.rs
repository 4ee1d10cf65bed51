//! Prometheus metrics, one registry per server instance, served in the text format on
//! a separate listener (`AUTH_METRICS_ADDRESS`, off by default).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::{
    counter::Counter, family::Family, gauge::Gauge, histogram::Histogram,
};
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<String>,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<String>,
    method: &'static str,
}

/// The label of a request method; methods outside HTTP's own are counted as `OTHER`
/// (a client could otherwise grow the label set without bound).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    flow: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    kind: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BucketLabels {
    bucket: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReuseLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuditLabels {
    event: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: String,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms … ~4 s
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.0005, 2.0, 14,
    ))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    outcomes: Family<OutcomeLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    rate_limited: Family<BucketLabels, Counter>,
    refresh_reuse: Family<ReuseLabels, Counter>,
    audit_events: Family<AuditLabels, Counter>,
    audit_dropped: Family<ReuseLabels, Counter>,
    audit_webhook: Family<ReuseLabels, Counter>,
    pool: Family<PoolLabels, Gauge>,
    log_lines_dropped: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("hasura_auth");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let outcomes = Family::<OutcomeLabels, Counter>::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let rate_limited = Family::<BucketLabels, Counter>::default();
        let pool = Family::<PoolLabels, Gauge>::default();
        let refresh_reuse = Family::<ReuseLabels, Counter>::default();
        registry.register(
            "refresh_token_reuse",
            "Rotated refresh tokens presented again: within-interval (a race, answered) or revoked (after the interval; the session ended)",
            refresh_reuse.clone(),
        );
        let audit_events = Family::<AuditLabels, Counter>::default();
        registry.register(
            "audit_events",
            "Security events recorded in the audit trail, by event and outcome",
            audit_events.clone(),
        );
        let audit_dropped = Family::<ReuseLabels, Counter>::default();
        registry.register(
            "audit_events_dropped",
            "Audit events lost: a queue was full or the batch could not be written",
            audit_dropped.clone(),
        );
        let audit_webhook = Family::<ReuseLabels, Counter>::default();
        registry.register(
            "audit_webhook_deliveries",
            "Audit events posted to AUTH_AUDIT_WEBHOOK_URL: sent, or failed after every retry",
            audit_webhook.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and method",
            latency.clone(),
        );
        registry.register(
            "auth_attempts",
            "Sign-in and sign-up attempts by flow and outcome (ok or the error code)",
            outcomes.clone(),
        );
        registry.register(
            "deliveries",
            "Emails and SMS by kind and outcome",
            deliveries.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate-limit bucket",
            rate_limited.clone(),
        );
        let log_lines_dropped = Counter::default();
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because stdout did not keep up (requests never wait for it)",
            log_lines_dropped.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            outcomes,
            deliveries,
            rate_limited,
            refresh_reuse,
            audit_events,
            audit_dropped,
            audit_webhook,
            pool,
            log_lines_dropped,
        }
    }

    pub fn record_request(
        &self,
        route: &Arc<String>,
        method: &'static str,
        status: u16,
        seconds: f64,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                route: Arc::clone(route),
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: Arc::clone(route),
                method,
            })
            .observe(seconds);
    }

    /// `flow` is the route without prefix (`signin/email-password`), `outcome` is `ok`
    /// or the error code.
    pub fn record_outcome(&self, flow: &str, outcome: &str) {
        self.outcomes
            .get_or_create(&OutcomeLabels {
                flow: flow.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// `kind` is `email:<template>` or `sms`.
    pub fn record_delivery(&self, kind: &str, ok: bool) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                kind: kind.to_owned(),
                outcome: if ok { "sent" } else { "failed" }.to_owned(),
            })
            .inc();
    }

    /// `outcome` is `within-interval` or `revoked`.
    pub fn record_refresh_reuse(&self, outcome: &str) {
        self.refresh_reuse
            .get_or_create(&ReuseLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// One audit event; `event` and `outcome` are names from the code, never input.
    pub fn record_audit_event(&self, event: &'static str, outcome: &'static str) {
        self.audit_events
            .get_or_create(&AuditLabels { event, outcome })
            .inc();
    }

    /// `why`: `queue-full`, `webhook-queue-full` or `write-failed`.
    pub fn record_audit_dropped(&self, why: &str) {
        self.audit_dropped
            .get_or_create(&ReuseLabels {
                outcome: why.to_owned(),
            })
            .inc();
    }

    pub fn record_audit_webhook(&self, ok: bool) {
        self.audit_webhook
            .get_or_create(&ReuseLabels {
                outcome: if ok { "sent" } else { "failed" }.to_owned(),
            })
            .inc();
    }

    pub fn record_rate_limited(&self, bucket: &str) {
        self.rate_limited
            .get_or_create(&BucketLabels {
                bucket: bucket.to_owned(),
            })
            .inc();
    }

    /// The text exposition, with the pool gauges read at scrape time.
    pub fn render(&self, pool: deadpool_postgres::Status) -> String {
        for (state, value) in [
            ("max", pool.max_size),
            ("open", pool.size),
            ("idle", pool.available),
            ("waiting", pool.waiting),
        ] {
            self.pool
                .get_or_create(&PoolLabels {
                    state: state.to_owned(),
                })
                .set(i64::try_from(value).unwrap_or(i64::MAX));
        }
        let dropped = crate::request_log::dropped_lines();
        let counted = self.log_lines_dropped.get();
        if dropped > counted {
            self.log_lines_dropped.inc_by(dropped - counted);
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        out
    }
}
