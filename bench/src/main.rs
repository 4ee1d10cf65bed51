//! `hasura-auth-bench`: a load benchmark for hasura-auth (issue 6).
//!
//! Prepares its data through the public API only (email + password sign-ups, which
//! return access and refresh tokens), then drives each scenario at a fixed number of
//! keep-alive connections from ONE thread (a closed loop: each connection sends its next
//! request when the previous answer is in), and prints a Markdown table: req/s, p50/p99,
//! non-2xx, the server's CPU seconds per 1,000 requests and its RSS (with
//! `--server-pid`), PostgreSQL's CPU (with `--pg-url`), and the generator's own CPU.
//!
//! See `docs/PERFORMANCE.md` for how to run it and what the figures mean.

mod compare;
mod http;
mod procfs;
mod run;
mod scenario;
mod setup;

use std::time::Duration;

use clap::Parser;

use crate::http::Target;
use crate::run::{Census, Ctx, Params, ScenarioResult};
use crate::scenario::ScenarioId;

#[derive(Parser, Debug)]
#[command(
    version,
    args_override_self = true,
    about = "Load benchmark for hasura-auth (see docs/PERFORMANCE.md)"
)]
pub struct Args {
    /// Base URL of the server under test, API prefix included (http only)
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    url: String,

    /// PID of the server process: CPU seconds per 1,000 requests and RSS are read from
    /// /proc/<pid>
    #[arg(long)]
    server_pid: Option<u32>,

    /// Connections per scenario (each one a closed loop)
    #[arg(long, default_value_t = 32)]
    concurrency: usize,

    /// Measured seconds per scenario and run
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Unmeasured seconds before each measured window
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,

    /// A fixed number of measured requests per scenario and run instead of --duration
    #[arg(long)]
    requests: Option<u64>,

    /// Runs per scenario; the table shows the median of each figure
    #[arg(long, default_value_t = 1)]
    runs: usize,

    /// Scenarios to run, comma-separated (default: all)
    #[arg(long, value_enum, value_delimiter = ',')]
    scenarios: Vec<ScenarioId>,

    /// Users created at set-up with POST /signup/email-password (default: 1.5 ×
    /// concurrency): their access tokens and credentials drive /user, /token/verify and
    /// the sign-ins
    #[arg(long)]
    users: Option<usize>,

    /// Refresh tokens in the /token pool, from POST /signin/anonymous; each used token's
    /// successor goes to the back of the pool, so a session row is rotated once per
    /// this many requests
    #[arg(long, default_value_t = 8192)]
    token_pool: usize,

    /// Connections signing in during the mixed scenario (the rest refresh tokens)
    #[arg(long)]
    mixed_signin: Option<usize>,

    /// PostgreSQL URL of the server's database (read-only use: pg_stat_database), to
    /// count transactions and rows per request; also enables PostgreSQL CPU figures
    #[arg(long)]
    pg_url: Option<String>,

    /// Requests per scenario for the transaction count (with --pg-url; at most 200 for
    /// sign-ins; 0 skips it)
    #[arg(long, default_value_t = 1000)]
    census_requests: u64,

    /// Seconds to wait for PostgreSQL to publish its statistics (it flushes them at
    /// most every 10 s when idle)
    #[arg(long, default_value_t = 11.0)]
    census_settle: f64,

    /// A label for the report header (e.g. "HS256")
    #[arg(long, default_value = "")]
    label: String,

    /// Also write the Markdown report to this file
    #[arg(long)]
    output: Option<std::path::PathBuf>,

    /// Also write the figures as JSON to this file (the input of --compare-*)
    #[arg(long)]
    json: Option<std::path::PathBuf>,

    /// Runs no load: combines JSON files of upstream runs (this option) and of ours
    /// (--compare-ours) into a side-by-side table of medians and ratios
    #[arg(long, num_args = 1.., requires = "compare_ours")]
    compare_upstream: Vec<std::path::PathBuf>,

    /// JSON files of our server's runs, for --compare-upstream
    #[arg(long, num_args = 1.., requires = "compare_upstream")]
    compare_ours: Vec<std::path::PathBuf>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // One thread: the generator must leave the CPUs to the server and PostgreSQL.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hasura-auth-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(bench(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hasura-auth-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn bench(args: Args) -> Result<(), String> {
    if !args.compare_upstream.is_empty() {
        let table = compare::report(&args.compare_upstream, &args.compare_ours)?;
        println!("{table}");
        if let Some(path) = &args.output {
            std::fs::write(path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        return Ok(());
    }
    if args.concurrency == 0 || args.runs == 0 {
        return Err("--concurrency and --runs must be at least 1".into());
    }
    let target = Target::parse(&args.url).await?;
    let pid = args.server_pid.map(|p| p.to_string());
    if let Some(pid) = &pid
        && procfs::cpu_seconds(pid).is_none()
    {
        return Err(format!("--server-pid {pid}: no such process in /proc"));
    }
    let pg_db = args.pg_url.as_deref().map(run::database_name).transpose()?;
    let scenarios = if args.scenarios.is_empty() {
        ScenarioId::ALL.to_vec()
    } else {
        args.scenarios.clone()
    };
    let rss_idle = pid.as_deref().and_then(|p| procfs::status_kib(p, "VmRSS"));
    let load_start = procfs::loadavg();

    let users = args
        .users
        .unwrap_or(args.concurrency + args.concurrency.div_ceil(2));
    eprintln!("setting up: {users} users through POST /signup/email-password …");
    let data = setup::prepare(&target, users.max(1), args.token_pool.max(args.concurrency)).await?;
    let rss_after_setup = pid.as_deref().and_then(|p| procfs::status_kib(p, "VmRSS"));

    let ctx = Ctx {
        target,
        data,
        pid: pid.clone(),
        pg_db: pg_db.clone(),
        mixed_signin: args.mixed_signin.unwrap_or(args.concurrency / 2),
    };
    let params = Params {
        concurrency: args.concurrency,
        warmup: Duration::from_secs_f64(args.warmup),
        duration: Duration::from_secs_f64(args.duration),
        requests: args.requests,
    };

    let mut results: Vec<ScenarioResult> = Vec::new();
    for &scenario in &scenarios {
        let mut runs = Vec::new();
        for i in 0..args.runs {
            let r = run::run_once(&ctx, scenario, &params).await?;
            eprintln!(
                "{} run {}/{}: {}",
                scenario.name(),
                i + 1,
                args.runs,
                r.summary()
            );
            runs.push(r);
        }
        results.push(ScenarioResult::new(scenario, runs));
    }

    let census = match (&args.pg_url, args.census_requests) {
        (Some(url), n) if n > 0 => {
            eprintln!("counting transactions per request (pg_stat_database) …");
            Some(
                run::census(
                    &ctx,
                    url,
                    &scenarios,
                    n,
                    Duration::from_secs_f64(args.census_settle),
                )
                .await?,
            )
        }
        _ => None,
    };

    let rss_peak = pid.as_deref().and_then(|p| procfs::status_kib(p, "VmHWM"));
    if let Some(path) = &args.json {
        let json = compare::to_json(&args.label, &results, rss_idle, rss_peak);
        std::fs::write(path, json.to_string()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let report = report(
        &args,
        &results,
        census.as_deref(),
        Memory {
            pool_left: ctx.data.pool_len(),
            idle: rss_idle,
            after_setup: rss_after_setup,
            peak: rss_peak,
        },
        (load_start, procfs::loadavg()),
    );
    println!("{report}");
    if let Some(path) = &args.output {
        std::fs::write(path, &report).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

struct Memory {
    /// Tokens left in the /token pool at the end (each failed /token loses one).
    pool_left: usize,
    idle: Option<u64>,
    after_setup: Option<u64>,
    peak: Option<u64>,
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("–".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn report(
    args: &Args,
    results: &[ScenarioResult],
    census: Option<&[Census]>,
    mem: Memory,
    load: (Option<String>, Option<String>),
) -> String {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let mut o = String::new();
    let measure = match args.requests {
        Some(n) => format!("{n} requests"),
        None => format!("{} s", args.duration),
    };
    o.push_str(&format!(
        "### hasura-auth load benchmark{}\n\n{} · {} · {} connections · {measure} per run after {} s warm-up · {} · generator: 1 thread\n\n",
        if args.label.is_empty() {
            String::new()
        } else {
            format!(" ({})", args.label)
        },
        utc_now(),
        args.url,
        args.concurrency,
        args.warmup,
        if args.runs > 1 {
            format!("median of {} runs", args.runs)
        } else {
            "1 run".to_owned()
        },
    ));
    o.push_str(&format!(
        "Load average (1, 5, 15 min) at start: {}; at end: {}.\n\n",
        load.0.as_deref().unwrap_or("–"),
        load.1.as_deref().unwrap_or("–")
    ));
    o.push_str(&format!("| scenario | req/s | p50 ms | p99 ms | non-2xx | server CPU s / 1k req | PostgreSQL CPU s / 1k req | generator CPU s / 1k req | CPU-bound ceiling req/s ({cpus} CPUs) ² | machine CPU busy |\n"));
    o.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        for lane in &r.lanes {
            let shared = if r.lanes.len() > 1 { " ¹" } else { "" };
            o.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} | {}{} | {}{shared} | {}{shared} | {}{shared} | {}{shared} | {} |\n",
                lane.kind.label(r.scenario),
                thousands(lane.rps),
                lane.p50_ms,
                lane.p99_ms,
                lane.non2xx,
                if lane.errors > 0 {
                    format!(" (+{} I/O errors)", lane.errors)
                } else {
                    String::new()
                },
                opt(r.server_cpu_per_1k, 3),
                opt(r.pg_cpu_per_1k, 3),
                opt(Some(r.bench_cpu_per_1k), 3),
                ceiling(r, cpus),
                r.busy_pct.map_or("–".into(), |b| format!("{b:.0} %")),
            ));
        }
    }
    o.push('\n');
    if results.iter().any(|r| r.lanes.len() > 1) {
        o.push_str("¹ CPU of the whole scenario divided by all its requests.\n");
    }
    o.push_str("² The CPUs divided by the CPU seconds one request costs the server, PostgreSQL and the generator together: the rate this machine could sustain if nothing else ran on it and nothing but CPU (e.g. WAL flushes) limited it.\n");
    o.push_str(&format!(
        "\nServer RSS: idle {} MiB (before set-up), {} MiB after set-up, peak {} MiB (VmHWM at the end).\n",
        mib(mem.idle),
        mib(mem.after_setup),
        mib(mem.peak)
    ));
    o.push_str(&format!(
        "Set-up through the API: {} users (email + password), a /token pool of {} refresh tokens ({} left at the end).\n",
        args.users.unwrap_or(args.concurrency + args.concurrency.div_ceil(2)),
        args.token_pool.max(args.concurrency),
        mem.pool_left
    ));
    let rss: Vec<String> = results
        .iter()
        .map(|r| format!("{} {}", r.scenario.name(), mib(r.rss_end_kib)))
        .collect();
    o.push_str(&format!(
        "RSS after each scenario (MiB): {}.\n",
        rss.join(", ")
    ));
    if let Some(census) = census {
        o.push_str(&format!(
            "\nPer request, counted from pg_stat_database deltas ({} requests per scenario, {} for sign-ins, 4 connections):\n\n",
            args.census_requests,
            args.census_requests.min(200)
        ));
        o.push_str("| scenario | transactions | rows fetched | rows returned | rows inserted | rows updated | rows deleted |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for c in census {
            o.push_str(&format!(
                "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
                c.label,
                c.per_request[0],
                c.per_request[1],
                c.per_request[2],
                c.per_request[3],
                c.per_request[4],
                c.per_request[5]
            ));
        }
    }
    o
}

/// CPUs ÷ (server + PostgreSQL + generator CPU seconds per request).
fn ceiling(r: &ScenarioResult, cpus: usize) -> String {
    let per_1k =
        r.server_cpu_per_1k.unwrap_or(0.0) + r.pg_cpu_per_1k.unwrap_or(0.0) + r.bench_cpu_per_1k;
    if r.server_cpu_per_1k.is_none() || per_1k <= 0.0 {
        return "–".into();
    }
    thousands(cpus as f64 * 1000.0 / per_1k)
}

/// `YYYY-MM-DD HH:MM UTC`, without a date library.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert!(utc_now().ends_with(" UTC"));
    }
}
