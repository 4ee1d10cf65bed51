//! Driving one scenario: connections, the closed loop, and the measurements around it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::http::{Conn, Target, json_str};
use crate::procfs;
use crate::scenario::{Kind, ScenarioId};
use crate::setup::{self, Data, PASSWORD};

pub struct Ctx {
    pub target: Target,
    pub data: Arc<Data>,
    pub pid: Option<String>,
    pub pg_db: Option<String>,
    pub mixed_signin: usize,
}

pub struct Params {
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Measured requests per run (instead of `duration`).
    pub requests: Option<u64>,
}

/// When the connections stop, shared by all of them.
struct Control {
    warm_end: Instant,
    end: Option<Instant>,
    remaining: Option<AtomicI64>,
}

impl Control {
    /// Whether a connection may start another request at `now`.
    fn go(&self, now: Instant) -> bool {
        if let Some(end) = self.end {
            return now < end;
        }
        match &self.remaining {
            Some(r) if now >= self.warm_end => r.fetch_sub(1, Ordering::Relaxed) > 0,
            _ => true,
        }
    }
}

struct WorkerResult {
    hist: Histogram<u64>,
    non2xx: u64,
    errors: u64,
    sample: Option<String>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).unwrap_or_else(|_| {
        Histogram::new(3).unwrap_or_else(|e| unreachable!("valid histogram bounds: {e}"))
    })
}

/// The requests a connection sends (all but `/token`, whose body changes every time).
fn static_requests(ctx: &Ctx, kind: Kind, worker: usize) -> Vec<Vec<u8>> {
    let t = &ctx.target;
    let access = ctx
        .data
        .access
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    let token = || access[worker % access.len().max(1)].clone();
    match kind {
        Kind::Healthz => vec![t.request("GET", "/healthz", "", None)],
        Kind::Jwks => vec![t.request("GET", "/.well-known/jwks.json", "", None)],
        Kind::User => vec![t.request(
            "GET",
            "/user",
            &format!("Authorization: Bearer {}\r\n", token()),
            None,
        )],
        Kind::Verify => vec![t.request(
            "POST",
            "/token/verify",
            "",
            Some(&format!("{{\"token\":\"{}\"}}", token())),
        )],
        Kind::Anonymous => vec![t.request("POST", "/signin/anonymous", "", Some("{}"))],
        // Each connection cycles through all users, starting at its own.
        Kind::Signin => {
            let emails = &ctx.data.emails;
            (0..emails.len())
                .map(|i| {
                    let email = &emails[(worker + i) % emails.len()];
                    let body = serde_json::json!({ "email": email, "password": PASSWORD });
                    t.request(
                        "POST",
                        "/signin/email-password",
                        "",
                        Some(&body.to_string()),
                    )
                })
                .collect()
        }
        Kind::Token => Vec::new(),
    }
}

async fn worker(
    kind: Kind,
    mut conn: Conn,
    requests: Vec<Vec<u8>>,
    target: Target,
    data: Arc<Data>,
    ctl: Arc<Control>,
) -> WorkerResult {
    let mut r = WorkerResult {
        hist: histogram(),
        non2xx: 0,
        errors: 0,
        sample: None,
    };
    // The pool token this connection is refreshing (`/token` only).
    let mut held: Option<String> = None;
    let mut token_req = Vec::with_capacity(256);
    let mut i = 0usize;
    loop {
        let start = Instant::now();
        if !ctl.go(start) {
            break;
        }
        let req: &[u8] = if kind == Kind::Token {
            held = data.take_token();
            let Some(token) = &held else {
                break; // The pool is empty: every token failed.
            };
            setup::token_request(&target, token, &mut token_req);
            &token_req
        } else {
            i = i.wrapping_add(1);
            &requests[i % requests.len()]
        };
        let measured = start >= ctl.warm_end;
        match conn.send(req).await {
            Ok((status, body)) => {
                if measured {
                    let us = start.elapsed().as_micros() as u64;
                    r.hist.saturating_record(us.max(1));
                }
                let ok = (200..300).contains(&status);
                if !ok {
                    if measured {
                        r.non2xx += 1;
                    }
                    if r.sample.is_none() {
                        r.sample = Some(format!("{status} {}", String::from_utf8_lossy(body)));
                    }
                }
                if kind == Kind::Token
                    && ok
                    && let Some(next) = json_str(body, "refreshToken")
                {
                    data.put_token(next.to_owned());
                }
                held = None;
            }
            Err(e) => {
                if measured {
                    r.errors += 1;
                }
                if r.sample.is_none() {
                    r.sample = Some(format!("I/O error: {e}"));
                }
                // The token may or may not have been consumed: drop it.
                held = None;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    debug_assert!(held.is_none());
    r
}

/// Counters read at the start and the end of the measured window.
struct Snapshot {
    at: Instant,
    server_cpu: Option<f64>,
    pg_cpu: Option<f64>,
    bench_cpu: Option<f64>,
    machine: Option<(u64, u64)>,
}

fn snapshot(ctx: &Ctx) -> Snapshot {
    Snapshot {
        at: Instant::now(),
        server_cpu: ctx.pid.as_deref().and_then(procfs::cpu_seconds),
        pg_cpu: ctx.pg_db.as_deref().and_then(procfs::postgres_cpu_seconds),
        bench_cpu: procfs::cpu_seconds("self"),
        machine: procfs::machine_jiffies(),
    }
}

pub struct LaneRun {
    pub kind: Kind,
    pub hist: Histogram<u64>,
    pub non2xx: u64,
    pub errors: u64,
}

pub struct RunResult {
    pub elapsed: f64,
    pub lanes: Vec<LaneRun>,
    pub server_cpu: Option<f64>,
    pub pg_cpu: Option<f64>,
    pub bench_cpu: f64,
    pub busy_pct: Option<f64>,
    pub rss_end_kib: Option<u64>,
}

impl RunResult {
    fn requests(&self) -> u64 {
        self.lanes.iter().map(|l| l.hist.len()).sum()
    }

    fn per_1k(&self, cpu: Option<f64>) -> Option<f64> {
        let n = self.requests();
        cpu.filter(|_| n > 0).map(|c| c * 1000.0 / n as f64)
    }

    pub fn summary(&self) -> String {
        let lanes: Vec<String> = self
            .lanes
            .iter()
            .map(|l| {
                format!(
                    "{:?} {:.0} req/s p50 {:.2} ms p99 {:.2} ms non-2xx {} errors {}",
                    l.kind,
                    l.hist.len() as f64 / self.elapsed,
                    l.hist.value_at_quantile(0.5) as f64 / 1000.0,
                    l.hist.value_at_quantile(0.99) as f64 / 1000.0,
                    l.non2xx,
                    l.errors
                )
            })
            .collect();
        format!(
            "{}; server CPU {} s/1k req",
            lanes.join("; "),
            self.per_1k(self.server_cpu)
                .map_or("–".into(), |v| format!("{v:.3}"))
        )
    }
}

/// Runs a scenario once: opens the connections, warms up, measures.
pub async fn run_once(ctx: &Ctx, scenario: ScenarioId, p: &Params) -> Result<RunResult, String> {
    if scenario.needs_access_tokens() {
        setup::refresh_access_tokens(&ctx.target, &ctx.data).await?;
    }
    drive(ctx, scenario, p).await
}

/// [`run_once`] without the access-token refresh.
async fn drive(ctx: &Ctx, scenario: ScenarioId, p: &Params) -> Result<RunResult, String> {
    let lanes = scenario.lanes(p.concurrency, ctx.mixed_signin);
    let mut conns = Vec::new();
    for &(kind, n) in &lanes {
        for w in 0..n {
            let conn = Conn::connect(ctx.target.addr)
                .await
                .map_err(|e| format!("cannot connect to {}: {e}", ctx.target.addr))?;
            conns.push((kind, w, conn));
        }
    }
    let start = Instant::now();
    let warm_end = start + p.warmup;
    let ctl = Arc::new(Control {
        warm_end,
        end: match p.requests {
            Some(_) => None,
            None => Some(warm_end + p.duration),
        },
        remaining: p.requests.map(|n| AtomicI64::new(n as i64)),
    });
    let mut handles = Vec::new();
    for (kind, w, conn) in conns {
        let requests = static_requests(ctx, kind, w);
        handles.push((
            kind,
            tokio::spawn(worker(
                kind,
                conn,
                requests,
                ctx.target.clone(),
                ctx.data.clone(),
                ctl.clone(),
            )),
        ));
    }
    tokio::time::sleep_until(warm_end.into()).await;
    let before = snapshot(ctx);
    let mut results: Vec<(Kind, WorkerResult)> = Vec::new();
    for (kind, h) in handles {
        results.push((kind, h.await.map_err(|e| e.to_string())?));
    }
    let after = snapshot(ctx);

    let mut lane_runs: Vec<LaneRun> = lanes
        .iter()
        .map(|&(kind, _)| LaneRun {
            kind,
            hist: histogram(),
            non2xx: 0,
            errors: 0,
        })
        .collect();
    for (kind, w) in results {
        if let Some(sample) = &w.sample {
            eprintln!("  {kind:?}: first failure: {}", truncate(sample, 300));
        }
        if let Some(lane) = lane_runs.iter_mut().find(|l| l.kind == kind) {
            lane.hist
                .add(&w.hist)
                .map_err(|e| format!("histogram: {e:?}"))?;
            lane.non2xx += w.non2xx;
            lane.errors += w.errors;
        }
    }
    let diff = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| (b - a).max(0.0));
    let busy_pct = before.machine.zip(after.machine).and_then(|(a, b)| {
        let total = b.1.saturating_sub(a.1);
        (total > 0).then(|| b.0.saturating_sub(a.0) as f64 * 100.0 / total as f64)
    });
    let result = RunResult {
        elapsed: after.at.duration_since(before.at).as_secs_f64().max(1e-9),
        lanes: lane_runs,
        server_cpu: diff(before.server_cpu, after.server_cpu),
        pg_cpu: diff(before.pg_cpu, after.pg_cpu),
        bench_cpu: diff(before.bench_cpu, after.bench_cpu).unwrap_or(0.0),
        busy_pct,
        rss_end_kib: ctx
            .pid
            .as_deref()
            .and_then(|p| procfs::status_kib(p, "VmRSS")),
    };
    Ok(result)
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Figures of one lane, as the median over runs (counts are summed).
pub struct LaneSummary {
    pub kind: Kind,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non2xx: u64,
    pub errors: u64,
}

pub struct ScenarioResult {
    pub scenario: ScenarioId,
    pub lanes: Vec<LaneSummary>,
    pub server_cpu_per_1k: Option<f64>,
    pub pg_cpu_per_1k: Option<f64>,
    pub bench_cpu_per_1k: f64,
    pub busy_pct: Option<f64>,
    pub rss_end_kib: Option<u64>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

impl ScenarioResult {
    pub fn new(scenario: ScenarioId, runs: Vec<RunResult>) -> ScenarioResult {
        let lane_count = runs.first().map_or(0, |r| r.lanes.len());
        let lanes = (0..lane_count)
            .map(|i| {
                let of = |f: &dyn Fn(&RunResult, &LaneRun) -> f64| {
                    median(runs.iter().map(|r| f(r, &r.lanes[i])).collect()).unwrap_or(0.0)
                };
                LaneSummary {
                    kind: runs[0].lanes[i].kind,
                    rps: of(&|r, l| l.hist.len() as f64 / r.elapsed),
                    p50_ms: of(&|_, l| l.hist.value_at_quantile(0.5) as f64 / 1000.0),
                    p99_ms: of(&|_, l| l.hist.value_at_quantile(0.99) as f64 / 1000.0),
                    non2xx: runs.iter().map(|r| r.lanes[i].non2xx).sum(),
                    errors: runs.iter().map(|r| r.lanes[i].errors).sum(),
                }
            })
            .collect();
        let med =
            |f: &dyn Fn(&RunResult) -> Option<f64>| median(runs.iter().filter_map(f).collect());
        ScenarioResult {
            scenario,
            lanes,
            server_cpu_per_1k: med(&|r| r.per_1k(r.server_cpu)),
            pg_cpu_per_1k: med(&|r| r.per_1k(r.pg_cpu)),
            bench_cpu_per_1k: med(&|r| r.per_1k(Some(r.bench_cpu))).unwrap_or(0.0),
            busy_pct: med(&|r| r.busy_pct),
            rss_end_kib: runs.last().and_then(|r| r.rss_end_kib),
        }
    }
}

/// The database name of a PostgreSQL URL (`postgres://…/NAME?…`).
pub fn database_name(url: &str) -> Result<String, String> {
    let no_query = url.split('?').next().unwrap_or(url);
    let after_scheme = no_query
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| format!("--pg-url: not a URL: {url}"))?;
    match after_scheme.split_once('/') {
        Some((_, db)) if !db.is_empty() => Ok(db.to_owned()),
        _ => Err("--pg-url must name the database (…/DBNAME)".into()),
    }
}

/// Per-request database work of one scenario.
pub struct Census {
    pub label: &'static str,
    /// transactions, rows fetched, rows returned, inserted, updated, deleted.
    pub per_request: [f64; 6],
}

async fn pg_counters(client: &tokio_postgres::Client) -> Result<[f64; 6], String> {
    let row = client
        .query_one(
            "SELECT (xact_commit + xact_rollback)::float8, tup_fetched::float8, \
             tup_returned::float8, tup_inserted::float8, tup_updated::float8, \
             tup_deleted::float8 FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .map_err(|e| format!("pg_stat_database: {e}"))?;
    let mut out = [0.0; 6];
    for (i, v) in out.iter_mut().enumerate() {
        *v = row.try_get(i).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Counts transactions and rows per request from `pg_stat_database` deltas around a
/// fixed number of requests of each single-route scenario. PostgreSQL publishes a
/// backend's counters at most once a second and, when it goes idle, within 10 s, hence
/// the `settle` wait before each reading. The statistics query itself is one
/// transaction, subtracted.
pub async fn census(
    ctx: &Ctx,
    pg_url: &str,
    scenarios: &[ScenarioId],
    requests: u64,
    settle: Duration,
) -> Result<Vec<Census>, String> {
    let (client, connection) = tokio_postgres::connect(pg_url, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("--pg-url: {e}"))?;
    tokio::spawn(connection);
    let mut out = Vec::new();
    for &scenario in scenarios {
        if scenario == ScenarioId::Mixed {
            continue;
        }
        let params = Params {
            concurrency: 4,
            warmup: Duration::ZERO,
            duration: Duration::ZERO,
            // Sign-ins cost a bcrypt verification each: fewer of them.
            requests: Some(if scenario == ScenarioId::Signin {
                requests.min(200)
            } else {
                requests
            }),
        };
        if scenario.needs_access_tokens() {
            setup::refresh_access_tokens(&ctx.target, &ctx.data).await?;
        }
        tokio::time::sleep(settle).await;
        let a = pg_counters(&client).await?;
        let run = drive(ctx, scenario, &params).await?;
        tokio::time::sleep(settle).await;
        let b = pg_counters(&client).await?;
        let n = run.requests().max(1) as f64;
        let mut per = [0.0; 6];
        for i in 0..6 {
            per[i] = (b[i] - a[i]) / n;
        }
        // The first statistics query is one transaction of its own.
        per[0] = (b[0] - a[0] - 1.0) / n;
        let label = scenario.lanes(1, 0)[0].0.label(scenario);
        eprintln!("  {label}: {per:.2?} per request over {n} requests");
        out.push(Census {
            label,
            per_request: per,
        });
    }
    Ok(out)
}
