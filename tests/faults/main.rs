//! The fault suite (issue 18): the real binary, attacked the way an attacker and an
//! unlucky operator would, each fault bounded in time, all traffic on loopback.
//!
//! `cargo test --test faults` runs the short form (part of `cargo test`, so CI runs it);
//! `faults/run.sh` runs the long form (release build, `FAULTS_LONG=1`) and collects the
//! `FAULT <name>: …` figure lines that docs/RELIABILITY.md records.

#[path = "../support/mod.rs"]
mod support;

mod fuzz;
mod harness;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use harness::{OwnCluster, PASSWORD, Server, Tally, figure, scale, serial};
use support::db::TestDb;

async fn status_of(r: Result<reqwest::Response, reqwest::Error>) -> u16 {
    r.map(|r| r.status().as_u16()).unwrap_or(0)
}

/// N concurrent refreshes of one token: one winner, never two sessions from one token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_have_one_winner() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let server = Server::start(&db.url, &[]).await;
    let racers = scale(50, 200);
    let rounds = scale(3, 10);
    let mut tally = Tally::default();
    for round in 0..rounds {
        let session = server.signup(&format!("race{round}@example.com")).await;
        let token = session["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned();
        let replies = join_all((0..racers).map(|_| {
            let http = server.http.clone();
            let url = server.url("/token");
            let token = token.clone();
            async move {
                let r = http
                    .post(url)
                    .json(&json!({"refreshToken": token}))
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        (status, body["refreshToken"].as_str().map(str::to_owned))
                    }
                    Err(_) => (0, None),
                }
            }
        }))
        .await;
        let winners: HashSet<String> = replies
            .iter()
            .filter(|(s, _)| *s == 200)
            .filter_map(|(_, t)| t.clone())
            .collect();
        for (status, _) in &replies {
            tally.add(*status);
        }
        assert_eq!(winners.len(), 1, "round {round}: {tally}");
    }
    assert_eq!(
        tally.server_errors() + tally.count(|s| s == 0),
        0,
        "{tally}"
    );
    figure(
        "refresh-race",
        &format!(
            "{rounds} rounds × {racers} concurrent refreshes of one token: {tally}; one winner each round"
        ),
    );
}

/// Saturation of /token and bcrypt sign-in: no 5xx, memory flat, /healthz answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturation_of_token_and_bcrypt_signin_gives_no_5xx() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let server = Server::start(&db.url, &[]).await;
    let duration = Duration::from_secs(scale(6, 120));
    let workers = 16;
    let mut sessions = Vec::new();
    for i in 0..workers / 2 {
        sessions.push(server.signup(&format!("load{i}@example.com")).await);
    }
    let started = Instant::now();
    let rss_start = server.rss_kib();
    let probe = {
        let http = server.http.clone();
        let url = server.url("/healthz");
        tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            let mut failures = 0u32;
            while started.elapsed() < duration {
                let t = Instant::now();
                let ok = tokio::time::timeout(Duration::from_secs(2), http.get(&url).send())
                    .await
                    .is_ok_and(|r| r.is_ok_and(|r| r.status() == 200));
                if !ok {
                    failures += 1;
                }
                worst = worst.max(t.elapsed());
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (failures, worst)
        })
    };
    let mut tasks = Vec::new();
    for (i, session) in sessions.into_iter().enumerate() {
        // A refresh chain per worker…
        let http = server.http.clone();
        let url = server.url("/token");
        let mut token = session["refreshToken"].as_str().expect("token").to_owned();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            while started.elapsed() < duration {
                let r = http
                    .post(&url)
                    .json(&json!({"refreshToken": token}))
                    .send()
                    .await;
                match r {
                    Ok(r) => {
                        tally.add(r.status().as_u16());
                        if let Ok(body) = r.json::<Value>().await
                            && let Some(next) = body["refreshToken"].as_str()
                        {
                            token = next.to_owned();
                        }
                    }
                    Err(_) => tally.add(0),
                }
            }
            tally
        }));
        // …and a bcrypt sign-in loop (right and wrong passwords).
        let http = server.http.clone();
        let url = server.url("/signin/email-password");
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut n = 0u32;
            while started.elapsed() < duration {
                n += 1;
                let password = if n.is_multiple_of(2) {
                    PASSWORD
                } else {
                    "wrong password!"
                };
                let r = http
                    .post(&url)
                    .json(&json!({"email": format!("load{i}@example.com"), "password": password}))
                    .send()
                    .await;
                tally.add(status_of(r).await);
            }
            tally
        }));
    }
    let mut rss_mid = 0;
    let mut tally = Tally::default();
    tokio::time::sleep(duration / 4).await;
    rss_mid = rss_mid.max(server.rss_kib());
    for task in tasks {
        tally.merge(&task.await.expect("worker"));
    }
    let rss_end = server.rss_kib();
    let (probe_failures, worst) = probe.await.expect("probe");
    let total: u64 = tally.count(|_| true);
    figure(
        "saturation",
        &format!(
            "{}s, {workers} workers (/token chains + bcrypt sign-ins): {total} requests ({:.0}/s): {tally}; \
             /healthz failures {probe_failures}, slowest {worst:?}; RSS start {rss_start} KiB, at 1/4 {rss_mid} KiB, end {rss_end} KiB",
            duration.as_secs(),
            total as f64 / duration.as_secs_f64()
        ),
    );
    assert_eq!(
        tally.server_errors() + tally.count(|s| s == 0),
        0,
        "{tally}"
    );
    assert_eq!(probe_failures, 0, "/healthz stopped answering");
    // Flat: no growth beyond allocator noise once warmed up.
    assert!(
        rss_end <= rss_mid + 32 * 1024,
        "memory grew: {rss_mid} KiB → {rss_end} KiB"
    );
}

/// PostgreSQL stopped mid-load: 503s (not 500s), readiness failing, recovery without a
/// restart, every acknowledged sign-up present afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_load_gives_503_and_loses_no_acknowledged_signup() {
    let _serial = serial().await;
    let Some(pg) = OwnCluster::start().await else {
        return;
    };
    let server = Server::start(&pg.url(), &["--postgres-pool-timeout=2s"]).await;
    let outage = Duration::from_secs(scale(3, 5));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let http = server.http.clone();
        let url = server.url("/signup/email-password");
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut acknowledged = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let email = format!("w{w}n{n}@example.com");
                let r = http
                    .post(&url)
                    .json(&json!({"email": email, "password": "pw-that-is-long-enough"}))
                    .send()
                    .await;
                let status = status_of(r).await;
                tally.add(status);
                if status == 200 {
                    acknowledged.push(email);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            (tally, acknowledged)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.stop().await;
    let stopped_at = Instant::now();
    let mut readiness = Tally::default();
    let mut liveness = Tally::default();
    while stopped_at.elapsed() < outage {
        readiness.add(status_of(server.http.get(server.url("/readyz")).send().await).await);
        liveness.add(status_of(server.http.get(server.url("/healthz")).send().await).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pg.restart().await;
    let restarted_at = Instant::now();
    let outage_len = restarted_at - stopped_at;
    // Recovery: the first sign-up acknowledged after the restart.
    let recovery = loop {
        let r = server
            .http
            .post(server.url("/signup/email-password"))
            .json(&json!({"email": format!("probe{}@example.com", uuid::Uuid::new_v4().simple()), "password": "pw-that-is-long-enough"}))
            .send()
            .await;
        if status_of(r).await == 200 {
            break restarted_at.elapsed();
        }
        assert!(
            restarted_at.elapsed() < Duration::from_secs(30),
            "no recovery"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut tally = Tally::default();
    let mut acknowledged = Vec::new();
    for w in workers {
        let (t, a) = w.await.expect("worker");
        tally.merge(&t);
        acknowledged.extend(a);
    }
    let ready_after = status_of(server.http.get(server.url("/readyz")).send().await).await;
    // Every acknowledged sign-up is in the database.
    let client = support::db::connect(&pg.url()).await;
    let rows = client
        .query("SELECT email::text FROM auth.users", &[])
        .await
        .expect("users");
    let stored: HashSet<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|e| !stored.contains(*e))
        .collect();
    figure(
        "postgres-stop",
        &format!(
            "outage {outage_len:.1?} (pg_ctl stop -m fast … start): sign-ups {tally}; /readyz during {readiness}, /healthz during {liveness}; \
             recovery {recovery:?} after the restart (no server restart); {} acknowledged sign-ups, {} missing",
            acknowledged.len(),
            missing.len()
        ),
    );
    assert_eq!(tally.count(|s| s == 500 || s == 0), 0, "{tally}");
    assert!(
        tally.count(|s| s == 503) > 0,
        "no 503 during the outage: {tally}"
    );
    assert!(readiness.count(|s| s == 503) > 0, "readiness: {readiness}");
    assert_eq!(liveness.count(|s| s != 200), 0, "liveness: {liveness}");
    assert_eq!(ready_after, 200);
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
}

/// PostgreSQL frozen (postmaster and backends SIGSTOPped): requests fail after the
/// configured timeouts instead of hanging; the thaw needs no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_frozen_requests_fail_after_the_timeouts() {
    let _serial = serial().await;
    let Some(pg) = OwnCluster::start().await else {
        return;
    };
    let server = Server::start(
        &pg.url(),
        &["--postgres-pool-timeout=1s", "--http-request-timeout=2s"],
    )
    .await;
    server.signup("frozen@example.com").await;
    let pids = pg.processes();
    harness::signal_pids("STOP", &pids);
    let frozen_at = Instant::now();
    let replies = join_all((0..12).map(|_| {
        let http = server.http.clone();
        let url = server.url("/signin/email-password");
        async move {
            let t = Instant::now();
            let r = http
                .post(url)
                .json(&json!({"email": "frozen@example.com", "password": PASSWORD}))
                .send()
                .await;
            (status_of(r).await, t.elapsed())
        }
    }))
    .await;
    let ready = status_of(server.http.get(server.url("/readyz")).send().await).await;
    let freeze = Duration::from_secs(scale(4, 12)).saturating_sub(frozen_at.elapsed());
    tokio::time::sleep(freeze).await;
    let frozen_for = frozen_at.elapsed();
    harness::signal_pids("CONT", &pg.processes());
    let thawed_at = Instant::now();
    let recovery = loop {
        let r = server
            .http
            .post(server.url("/signin/email-password"))
            .json(&json!({"email": "frozen@example.com", "password": PASSWORD}))
            .send()
            .await;
        if status_of(r).await == 200 {
            break thawed_at.elapsed();
        }
        assert!(thawed_at.elapsed() < Duration::from_secs(30), "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut tally = Tally::default();
    let slowest = replies.iter().map(|(_, t)| *t).max().unwrap_or_default();
    for (s, _) in &replies {
        tally.add(*s);
    }
    figure(
        "postgres-freeze",
        &format!(
            "SIGSTOP of {} processes for {frozen_for:.1?}, pool timeout 1s, request timeout 2s: 12 concurrent sign-ins {tally}, slowest answer {slowest:?}; /readyz {ready}; recovery {recovery:?} after SIGCONT",
            pids.len()
        ),
    );
    assert_eq!(tally.count(|s| s != 503), 0, "{tally}");
    assert!(slowest < Duration::from_secs(4), "{slowest:?}");
    assert_eq!(ready, 503);
}

async fn closed_within(mut stream: TcpStream, limit: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut got = Vec::new();
    match tokio::time::timeout(limit, stream.read_to_end(&mut got)).await {
        Ok(_) => Some((
            String::from_utf8_lossy(&got).into_owned(),
            started.elapsed(),
        )),
        Err(_) => None,
    }
}

/// Slow clients (idle, half headers, half body) are closed by the timeouts; many idle
/// connections, beyond the descriptor limit, do not stop /healthz for long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_closed_and_fd_exhaustion_is_survived() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let server = Server::start_with(
        &db.url,
        harness::Options {
            args: &[
                "--http-idle-timeout=3s",
                "--http-header-read-timeout=1s",
                "--http-body-read-timeout=1s",
                "--http-max-connections=100000",
            ],
            max_fds: Some(256),
        },
    )
    .await;
    // Half headers, half a body.
    let mut half_head = TcpStream::connect(server.addr).await.expect("connect");
    half_head
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let mut half_body = TcpStream::connect(server.addr).await.expect("connect");
    half_body
        .write_all(b"POST /signin/email-password HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{")
        .await
        .expect("write");
    let (head, body) = tokio::join!(
        closed_within(half_head, Duration::from_secs(5)),
        closed_within(half_body, Duration::from_secs(5))
    );
    let (_, head_took) = head.expect("half-header connection still open");
    let (body_reply, body_took) = body.expect("half-body connection still open");
    assert!(body_reply.starts_with("HTTP/1.1 408"), "{body_reply}");

    // More idle connections than the server has descriptors.
    let idle_count = scale(600, 3000);
    let mut idle = Vec::new();
    for _ in 0..idle_count {
        match TcpStream::connect(server.addr).await {
            Ok(s) => idle.push(s),
            Err(_) => break,
        }
    }
    let started = Instant::now();
    let healthz = loop {
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            server.http.get(server.url("/healthz")).send(),
        )
        .await;
        if matches!(r, Ok(Ok(ref r)) if r.status() == 200) {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "/healthz never answered"
        );
    };
    let accept_errors = server.log_text().matches("accept failed").count();
    figure(
        "slow-clients",
        &format!(
            "half headers closed after {head_took:.1?} (limit 1s), half body answered 408 after {body_took:.1?} (limit 1s); \
             {} idle connections against `ulimit -n 256`: /healthz answered after {healthz:.1?} (idle timeout 3s), \
             {accept_errors} accept-error log lines (EMFILE), process alive",
            idle.len()
        ),
    );
    assert!(head_took < Duration::from_secs(3), "{head_took:?}");
    assert!(healthz < Duration::from_secs(12), "{healthz:?}");
    drop(idle);
    let r = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("alive");
    assert_eq!(r.status(), 200);
}

/// SIGTERM with requests in flight and a slow client: the in-flight ones finish, the
/// process exits within the drain deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_requests_and_exits_within_the_deadline() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let mut server = Server::start(
        &db.url,
        &[
            "--shutdown-timeout=3s",
            "--http-body-read-timeout=60s",
            "--http-header-read-timeout=60s",
        ],
    )
    .await;
    server.signup("drain@example.com").await;
    let mut slow = TcpStream::connect(server.addr).await.expect("connect");
    slow.write_all(b"POST /signin/email-password HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{")
        .await
        .expect("write");
    let in_flight: Vec<_> = (0..scale(4, 20))
        .map(|_| {
            let http = server.http.clone();
            let url = server.url("/signin/email-password");
            tokio::spawn(async move {
                status_of(
                    http.post(url)
                        .json(&json!({"email": "drain@example.com", "password": PASSWORD}))
                        .send()
                        .await,
                )
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = Instant::now();
    server.signal("TERM");
    let exit = server.wait_exit(Duration::from_secs(10)).await;
    let took = signalled.elapsed();
    let mut tally = Tally::default();
    for r in in_flight {
        tally.add(r.await.expect("task"));
    }
    let slow_closed = closed_within(slow, Duration::from_secs(1)).await.is_some();
    figure(
        "sigterm",
        &format!(
            "SIGTERM with {} sign-ins in flight and a client holding half a body, drain deadline 3s: exit {exit:?} after {took:.1?}; in-flight {tally}; slow client cut: {slow_closed}",
            tally.count(|_| true)
        ),
    );
    assert_eq!(exit, Some(Some(0)), "did not exit in time");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(tally.count(|s| s != 200), 0, "{tally}");
    assert!(slow_closed);
}

/// Every contract operation fuzzed: no 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_every_contract_operation_gives_no_5xx() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let server = Server::start(&db.url, fuzz::FEATURES).await;
    let cases = scale(400, 6000);
    let report = fuzz::run(&server, cases).await;
    figure("fuzz", &report.summary());
    assert!(
        report.failures.is_empty(),
        "5xx answers:\n{}",
        report.failures.join("\n")
    );
}

/// The same fuzzing with the identity provider on (it needs an asymmetric key), its
/// built-in sign-in, consent and device pages included: no 5xx from any operation, the
/// provider's now answering instead of reporting itself disabled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_with_the_identity_provider_on_gives_no_5xx() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let secret = json!({
        "type": "RS256",
        "key": include_str!("../fixtures/keys/rsa2048-public.pem"),
        "signing_key": include_str!("../fixtures/keys/rsa2048-private.pem"),
    })
    .to_string();
    let secret_arg = format!("--hasura-graphql-jwt-secret={secret}");
    let mut args: Vec<&str> = fuzz::FEATURES.to_vec();
    args.extend([
        secret_arg.as_str(),
        "--oauth2-provider-enabled",
        "--oauth2-provider-builtin-login-page",
    ]);
    let server = Server::start(&db.url, &args).await;
    let cases = scale(400, 6000);
    let report = fuzz::run(&server, cases).await;
    figure("fuzz (identity provider on)", &report.summary());
    assert!(
        report.failures.is_empty(),
        "5xx answers:\n{}",
        report.failures.join("\n")
    );
}

/// Forged JWTs are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_jwts_are_refused() {
    let _serial = serial().await;
    let db = TestDb::empty().await;
    let rsa_private = include_str!("../fixtures/keys/rsa2048-private.pem");
    let rsa_public = include_str!("../fixtures/keys/rsa2048-public.pem");
    let other_private = include_str!("../fixtures/keys/other-private.pem");
    let secret =
        json!({"type": "RS256", "key": rsa_public, "signing_key": rsa_private}).to_string();
    let secret_arg = format!("--hasura-graphql-jwt-secret={secret}");
    let server = Server::start(&db.url, &[secret_arg.as_str()]).await;
    let session = server.signup("jwt@example.com").await;
    let valid = session["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let forged = fuzz::forged_tokens(&valid, rsa_public, rsa_private, other_private);
    let mut refused = 0;
    let mut accepted = Vec::new();
    for (name, token) in &forged {
        let user = status_of(
            server
                .http
                .get(server.url("/user"))
                .bearer_auth(token)
                .send()
                .await,
        )
        .await;
        let verify = server
            .http
            .post(server.url("/token/verify"))
            .json(&json!({"token": token}))
            .send()
            .await;
        let verify = status_of(verify).await;
        if (400..500).contains(&user) && (400..500).contains(&verify) {
            refused += 1;
        } else {
            accepted.push(format!("{name}: GET /user {user}, /token/verify {verify}"));
        }
    }
    // The genuine token still works (the check can tell the difference).
    let genuine = status_of(
        server
            .http
            .get(server.url("/user"))
            .bearer_auth(&valid)
            .send()
            .await,
    )
    .await;
    figure(
        "forged-jwt",
        &format!(
            "{refused}/{} forged tokens refused on GET /user and POST /token/verify ({}); genuine token {genuine}",
            forged.len(),
            forged
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    assert_eq!(genuine, 200);
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
}
