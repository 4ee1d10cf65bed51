//! Side-by-side report: several runs of two servers (upstream and ours), each written by
//! `--json`, combined into one table of medians and ratios (issue 17).
//!
//! The ratio that matters is server CPU per request: on a 2-CPU machine the server,
//! PostgreSQL and the load generator share the CPUs, so req/s moves with whatever else
//! runs, while the CPU one request costs stays put.

use serde_json::{Value, json};

use crate::run::ScenarioResult;

/// The machine-readable form of one benchmark run, written by `--json`.
pub fn to_json(
    label: &str,
    results: &[ScenarioResult],
    rss_idle: Option<u64>,
    rss_peak: Option<u64>,
) -> Value {
    let scenarios: Vec<Value> = results
        .iter()
        .map(|r| {
            let lanes: Vec<Value> = r
                .lanes
                .iter()
                .map(|l| {
                    json!({
                        "label": l.kind.label(r.scenario),
                        "rps": l.rps,
                        "p50_ms": l.p50_ms,
                        "p99_ms": l.p99_ms,
                        "non2xx": l.non2xx,
                        "errors": l.errors,
                    })
                })
                .collect();
            json!({
                "name": r.scenario.name(),
                "lanes": lanes,
                "server_cpu_us_per_req": r.server_cpu_per_1k.map(|s| s * 1000.0),
                "pg_cpu_us_per_req": r.pg_cpu_per_1k.map(|s| s * 1000.0),
                "rss_end_kib": r.rss_end_kib,
            })
        })
        .collect();
    json!({
        "label": label,
        "rss_idle_kib": rss_idle,
        "rss_peak_kib": rss_peak,
        "scenarios": scenarios,
    })
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

fn load(paths: &[std::path::PathBuf]) -> Result<Vec<Value>, String> {
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect()
}

/// The figures of scenario `name` in one run.
fn scenario<'a>(run: &'a Value, name: &str) -> Option<&'a Value> {
    run["scenarios"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
}

/// The median over runs of one figure of one lane of one scenario.
fn lane_median(runs: &[Value], name: &str, lane: usize, field: &str) -> Option<f64> {
    median(
        runs.iter()
            .filter_map(|r| scenario(r, name)?["lanes"].get(lane)?[field].as_f64())
            .collect(),
    )
}

fn scenario_median(runs: &[Value], name: &str, field: &str) -> Option<f64> {
    median(
        runs.iter()
            .filter_map(|r| scenario(r, name)?[field].as_f64())
            .collect(),
    )
}

fn top_median(runs: &[Value], field: &str) -> Option<f64> {
    median(runs.iter().filter_map(|r| r[field].as_f64()).collect())
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.digits$}"))
}

fn ratio(ours: Option<f64>, upstream: Option<f64>) -> String {
    match (ours, upstream) {
        (Some(o), Some(u)) if u > 0.0 => format!("{:.2}", o / u),
        _ => "–".into(),
    }
}

/// The Markdown table of medians of `upstream` and `ours` runs, with ratios ours ÷ upstream.
pub fn report(
    upstream: &[std::path::PathBuf],
    ours: &[std::path::PathBuf],
) -> Result<String, String> {
    let up = load(upstream)?;
    let us = load(ours)?;
    let Some(first) = us.first().or(up.first()) else {
        return Err("nothing to compare".into());
    };
    let mut o = String::new();
    o.push_str(&format!(
        "### Side by side: upstream (Go, v0.42) and ours, medians of {} and {} runs, alternated\n\n",
        up.len(),
        us.len()
    ));
    o.push_str("| scenario | upstream req/s | ours req/s | ratio | upstream p99 ms | ours p99 ms | upstream server CPU µs/req | ours | ratio | upstream PostgreSQL CPU µs/req | ours | ratio | non-2xx (up / ours) |\n");
    o.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for s in first["scenarios"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let Some(name) = s["name"].as_str() else {
            continue;
        };
        let lanes = s["lanes"].as_array().map_or(0, Vec::len);
        for lane in 0..lanes {
            let label = s["lanes"][lane]["label"].as_str().unwrap_or(name);
            let rps = |runs: &[Value]| lane_median(runs, name, lane, "rps");
            let p99 = |runs: &[Value]| lane_median(runs, name, lane, "p99_ms");
            let non2xx = |runs: &[Value]| -> u64 {
                runs.iter()
                    .filter_map(|r| scenario(r, name)?["lanes"].get(lane)?["non2xx"].as_u64())
                    .sum()
            };
            // CPU figures belong to the whole scenario (all its lanes together).
            let (cpu_u, cpu_o, pg_u, pg_o) = if lane == 0 {
                (
                    scenario_median(&up, name, "server_cpu_us_per_req"),
                    scenario_median(&us, name, "server_cpu_us_per_req"),
                    scenario_median(&up, name, "pg_cpu_us_per_req"),
                    scenario_median(&us, name, "pg_cpu_us_per_req"),
                )
            } else {
                (None, None, None, None)
            };
            let cpu_cells = if lane == 0 {
                format!(
                    "{} | {} | {} | {} | {} | {}",
                    fmt(cpu_u, 0),
                    fmt(cpu_o, 0),
                    ratio(cpu_o, cpu_u),
                    fmt(pg_u, 0),
                    fmt(pg_o, 0),
                    ratio(pg_o, pg_u)
                )
            } else {
                "(above) | | | | | ".to_owned()
            };
            o.push_str(&format!(
                "| {label} | {} | {} | {} | {} | {} | {cpu_cells} | {} / {} |\n",
                fmt(rps(&up), 0),
                fmt(rps(&us), 0),
                ratio(rps(&us), rps(&up)),
                fmt(p99(&up), 2),
                fmt(p99(&us), 2),
                non2xx(&up),
                non2xx(&us),
            ));
        }
    }
    let mib = |v: Option<f64>| fmt(v.map(|k| k / 1024.0), 1);
    o.push_str(&format!(
        "\nServer RSS, idle at start / peak (VmHWM) at the end, MiB: upstream {} / {}, ours {} / {} (ratio of peaks {}).\n",
        mib(top_median(&up, "rss_idle_kib")),
        mib(top_median(&up, "rss_peak_kib")),
        mib(top_median(&us, "rss_idle_kib")),
        mib(top_median(&us, "rss_peak_kib")),
        ratio(top_median(&us, "rss_peak_kib"), top_median(&up, "rss_peak_kib")),
    ));
    o.push_str("Ratios are ours ÷ upstream: above 1 for req/s is better, below 1 for CPU and latency is better.\n");
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        assert_eq!(ratio(Some(1.0), Some(4.0)), "0.25");
        assert_eq!(ratio(Some(1.0), None), "–");
    }

    #[test]
    fn combines_runs_into_one_table() {
        let dir = std::env::temp_dir().join(format!("bench-compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, rps: f64, cpu: f64| {
            let v = json!({"label": name, "rss_idle_kib": 10240, "rss_peak_kib": 20480,
                "scenarios": [{"name": "healthz", "server_cpu_us_per_req": cpu, "pg_cpu_us_per_req": null,
                  "lanes": [{"label": "GET /healthz", "rps": rps, "p50_ms": 1.0, "p99_ms": 2.0, "non2xx": 0, "errors": 0}]}]});
            let p = dir.join(name);
            std::fs::write(&p, v.to_string()).unwrap();
            p
        };
        let up = [
            write("u1", 100.0, 40.0),
            write("u2", 300.0, 60.0),
            write("u3", 200.0, 50.0),
        ];
        let us = [write("o1", 400.0, 10.0), write("o2", 500.0, 12.0)];
        let table = report(&up, &us).unwrap();
        assert!(
            table.contains("| GET /healthz | 200 | 450 | 2.25 |"),
            "{table}"
        );
        assert!(table.contains("| 50 | 11 | 0.22 |"), "{table}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
