//! The audit trail: security events (sign-in and its failures, sign-up, sign-out,
//! refresh-token reuse, password and email changes, MFA, passkeys, PATs, sessions
//! ended, account locks, elevation), each with its time, user, client IP and user
//! agent, outcome and reason. Never a secret: no password, token, code or hash.
//!
//! Recording an event costs the request no round trip: it is counted in `/metrics` and
//! put on a bounded channel ([`QUEUE`]); a background task writes the events in batches
//! (one `INSERT … SELECT unnest(…)` per batch) to `hasura_auth.audit_events` and hands
//! each to the webhook worker, whose own bounded queue it never waits for. When a queue
//! is full the event is dropped and counted (`hasura_auth_audit_events_dropped_total`):
//! a flood of failures must not slow sign-in down.
//!
//! Where the event happened (client IP, user agent, the route) comes from the request
//! being served: [`ClientInfo`] and [`SCOPE`], both task-locals set by the HTTP layer,
//! so the workflows, free of HTTP types, record an event in one line. An event recorded
//! outside a request (a background task, an operator's command) is not written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::db::DbPool;
use crate::db::audit::{self as audit_db, AuditRow};
use crate::metrics::Metrics;
use crate::service::session::ClientInfo;

/// Events waiting for the writer, at most.
const QUEUE: usize = 8192;
/// Events written by one statement, at most.
const BATCH: usize = 256;
/// Events waiting for the webhook, at most.
const WEBHOOK_QUEUE: usize = 1024;
/// Attempts per webhook delivery, and the wait before the first retry (doubled each time).
const WEBHOOK_ATTEMPTS: u32 = 4;
const WEBHOOK_FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A batch that cannot be written within this is dropped (and logged).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Rows deleted by one purge statement at most; the purge repeats until done.
const PURGE_BATCH: i64 = 5000;
/// The longest wait between two purges.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// How an event ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One security event. Built with [`event`], completed and queued by [`AuditEvent::record`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(serialize_with = "rfc3339")]
    pub time: DateTime<Utc>,
    pub event: &'static str,
    #[serde(serialize_with = "outcome_str")]
    pub outcome: Outcome,
    pub user_id: Option<Uuid>,
    /// How: the route (`signin/email-password`, `verify`, `token/exchange`, …).
    pub method: Option<&'static str>,
    /// Why it failed (an error code), or what happened besides (`revoked`, `pat`, …).
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn outcome_str<S: serde::Serializer>(o: &Outcome, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(o.as_str())
}

/// A new event named `name` (`signin`, `password-change`, …).
pub fn event(name: &'static str, outcome: Outcome) -> AuditEvent {
    AuditEvent {
        time: Utc::now(),
        event: name,
        outcome,
        user_id: None,
        method: None,
        reason: None,
        ip: None,
        user_agent: None,
    }
}

impl AuditEvent {
    pub fn user(mut self, id: Uuid) -> Self {
        self.user_id = Some(id);
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Completes the event with the request's client and route and queues it. Never
    /// waits, never fails: a full queue drops the event (counted).
    pub fn record(self) {
        // Outside a request (no scope) there is nowhere to record it.
        let _ = SCOPE.try_with(|scope| scope.record_now(self));
    }
}

/// The request's audit context, set by the HTTP layer around each route's handler.
pub struct AuditScope {
    audit: Audit,
    /// The route, as its table names it, without the leading `/`.
    method: Option<&'static str>,
    /// Whether the workflow recorded an event itself (the HTTP layer then adds none).
    recorded: Arc<AtomicBool>,
}

impl AuditScope {
    /// Completes `event` with the request's client and this scope's route and queues it.
    pub fn record_now(&self, mut event: AuditEvent) {
        self.recorded.store(true, Ordering::Relaxed);
        let client = ClientInfo::current();
        event.ip = client.ip;
        event.user_agent = client.user_agent;
        if event.method.is_none() {
            event.method = self.method;
        }
        self.audit.send(event);
    }

    pub fn new(audit: Audit, method: Option<&'static str>, recorded: Arc<AtomicBool>) -> Self {
        AuditScope {
            audit,
            method,
            recorded,
        }
    }
}

tokio::task_local! {
    pub static SCOPE: AuditScope;
}

/// Where events go: the writer's queue (absent when the trail and the webhook are both
/// off) and the metrics.
#[derive(Clone)]
pub struct Audit {
    tx: Option<mpsc::Sender<AuditEvent>>,
    metrics: Arc<Metrics>,
}

/// What [`Audit::start`] needs from the configuration (read once at start-up).
pub struct AuditSettings {
    pub table: bool,
    /// Zero keeps events for ever.
    pub retention: Duration,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<Vec<u8>>,
}

impl Audit {
    /// An audit that only counts events (nothing written, nothing sent).
    pub fn counting_only(metrics: Arc<Metrics>) -> Audit {
        Audit { tx: None, metrics }
    }

    /// Starts the writer (and the purge, and the webhook worker, as configured). Must be
    /// called within a Tokio runtime. The tasks end when every [`Audit`] is dropped,
    /// after writing what was queued.
    pub fn start(
        db: DbPool,
        http: reqwest::Client,
        metrics: Arc<Metrics>,
        settings: AuditSettings,
    ) -> Audit {
        if !settings.table && settings.webhook_url.is_none() {
            return Audit::counting_only(metrics);
        }
        let webhook = settings.webhook_url.map(|url| {
            let (tx, rx) = mpsc::channel::<String>(WEBHOOK_QUEUE);
            tokio::spawn(deliver(
                rx,
                http,
                url,
                settings.webhook_secret,
                metrics.clone(),
            ));
            tx
        });
        let (tx, rx) = mpsc::channel(QUEUE);
        if settings.table && !settings.retention.is_zero() {
            tokio::spawn(purge(db.clone(), settings.retention, tx.downgrade()));
        }
        tokio::spawn(write(
            rx,
            settings.table.then_some(db),
            webhook,
            metrics.clone(),
        ));
        Audit {
            tx: Some(tx),
            metrics,
        }
    }

    fn send(&self, event: AuditEvent) {
        self.metrics
            .record_audit_event(event.event, event.outcome.as_str());
        if let Some(tx) = &self.tx
            && tx.try_send(event).is_err()
        {
            self.metrics.record_audit_dropped("queue-full");
        }
    }
}

/// The writer: takes what is queued (up to [`BATCH`]), writes it in one statement,
/// passes each event to the webhook worker.
async fn write(
    mut rx: mpsc::Receiver<AuditEvent>,
    db: Option<DbPool>,
    webhook: Option<mpsc::Sender<String>>,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        if let Some(tx) = &webhook {
            for e in &batch {
                match serde_json::to_string(e) {
                    Ok(body) => {
                        if tx.try_send(body).is_err() {
                            metrics.record_audit_dropped("webhook-queue-full");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "serializing an audit event failed"),
                }
            }
        }
        if let Some(db) = &db {
            let rows: Vec<AuditRow<'_>> = batch
                .iter()
                .map(|e| AuditRow {
                    at: e.time,
                    event: e.event,
                    outcome: e.outcome.as_str(),
                    user_id: e.user_id,
                    method: e.method,
                    reason: e.reason.as_deref(),
                    ip: e.ip.as_deref(),
                    user_agent: e.user_agent.as_deref(),
                })
                .collect();
            let written = async {
                let client = db.get().await?;
                audit_db::insert_batch(&client, &rows).await?;
                Ok::<_, crate::db::DbError>(())
            };
            match tokio::time::timeout(WRITE_TIMEOUT, written).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, events = rows.len(), "writing audit events failed");
                    metrics.record_audit_dropped("write-failed");
                }
                Err(_) => {
                    tracing::warn!(events = rows.len(), "writing audit events timed out");
                    metrics.record_audit_dropped("write-failed");
                }
            }
        }
        batch.clear();
    }
}

/// The webhook worker: one event at a time, retried with exponential backoff; a
/// delivery that fails every attempt is logged and counted, never retried later.
async fn deliver(
    mut rx: mpsc::Receiver<String>,
    http: reqwest::Client,
    url: String,
    secret: Option<Vec<u8>>,
    metrics: Arc<Metrics>,
) {
    use crate::adapters::audit_webhook;
    while let Some(body) = rx.recv().await {
        let mut backoff = WEBHOOK_FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match audit_webhook::post(&http, &url, secret.as_deref(), &body).await {
                Ok(()) => {
                    metrics.record_audit_webhook(true);
                    break;
                }
                Err(e) if attempt >= WEBHOOK_ATTEMPTS => {
                    tracing::warn!(error = %e, attempts = attempt, "audit webhook delivery failed");
                    metrics.record_audit_webhook(false);
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, attempt, "audit webhook delivery failed, retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

/// How often the purge runs: a quarter of the retention, between a second and an hour.
fn purge_interval(retention: Duration) -> Duration {
    (retention / 4).clamp(Duration::from_secs(1), PURGE_EVERY)
}

/// Deletes events older than the retention every [`purge_interval`], the first time
/// one interval after start: a short-lived process (an operator command) never purges,
/// so its exit cannot cut a purge's statement short. With several instances each
/// purges; the deletes are idempotent. Ends with the writer's queue (once every
/// [`Audit`] is gone), so it does not keep the pool alive.
async fn purge(db: DbPool, retention: Duration, alive: mpsc::WeakSender<AuditEvent>) {
    let max_age = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    let every = purge_interval(retention);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if alive.upgrade().is_none() {
            return;
        }
        let purged = async {
            let client = db.get().await?;
            let mut total = 0;
            loop {
                let n = audit_db::purge_older_than(&client, max_age, PURGE_BATCH).await?;
                total += n;
                if n < PURGE_BATCH as u64 {
                    return Ok::<_, crate::db::DbError>(total);
                }
            }
        };
        match tokio::time::timeout(WRITE_TIMEOUT * 6, purged).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(deleted = n, "old audit events deleted"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "deleting old audit events failed"),
            Err(_) => tracing::warn!("deleting old audit events timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_interval_is_bounded() {
        assert_eq!(
            purge_interval(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(
            purge_interval(Duration::from_secs(400)),
            Duration::from_secs(100)
        );
        assert_eq!(
            purge_interval(Duration::from_secs(90 * 24 * 3600)),
            PURGE_EVERY
        );
    }

    #[test]
    fn an_event_serializes_without_surprises() {
        let e = event("signin", Outcome::Failure).reason("invalid-email-password");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["event"], "signin");
        assert_eq!(v["outcome"], "failure");
        assert_eq!(v["reason"], "invalid-email-password");
        assert!(v["userId"].is_null());
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}
