//! Issue 18: slow clients, bounded shutdown, and database outages answered honestly.
//! The database is reached through a proxy the test takes down or freezes
//! (`support::pgproxy`); slow clients are raw TCP sockets.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::app::{Reply, TestApp};
use crate::support::db::TestDb;
use crate::support::pgproxy::{Mode, PgProxy};

/// A server whose database connection goes through a proxy the test controls.
async fn app_behind_proxy(args: &[&str]) -> (TestApp, PgProxy) {
    let db = TestDb::empty().await;
    let proxy = PgProxy::start(&db.url).await;
    let postgres = format!("--postgres={}", proxy.url);
    let mut all = vec![postgres.as_str(), "--email-verification-required=false"];
    all.extend_from_slice(args);
    (TestApp::with_db(db, &all).await, proxy)
}

async fn signin(app: &TestApp, email: &str) -> Reply {
    app.post(
        "/signin/email-password",
        json!({"email": email, "password": "correct horse battery"}),
    )
    .await
}

#[tokio::test]
async fn database_down_is_503_with_retry_after_readiness_fails_and_recovers_without_restart() {
    let (app, proxy) = app_behind_proxy(&["--postgres-pool-timeout=2s"]).await;
    app.signup("outage@example.com", "correct horse battery")
        .await;
    assert_eq!(app.get("/readyz").await.status, 200);

    proxy.set(Mode::Down);
    let r = signin(&app, "outage@example.com").await;
    r.assert_error(503, "service-unavailable");
    assert_eq!(r.headers["retry-after"], "5");
    app.post(
        "/signup/email-password",
        json!({"email": "during@example.com", "password": "correct horse battery"}),
    )
    .await
    .assert_error(503, "service-unavailable");
    app.get("/readyz")
        .await
        .assert_error(503, "service-unavailable");
    // Liveness stays up (upstream's /healthz); the verbose form says what is wrong.
    let live = app.get("/healthz").await;
    assert_eq!(
        (live.status.as_u16(), live.body.clone()),
        (200, json!("OK"))
    );
    let verbose = app.get("/healthz?verbose").await;
    assert_eq!(verbose.status, 200);
    assert_eq!(
        verbose.body,
        json!({"status": "ok", "database": "unavailable"})
    );

    proxy.set(Mode::Up);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = signin(&app, "outage@example.com").await;
        if r.status == 200 {
            break;
        }
        r.assert_error(503, "service-unavailable");
        assert!(Instant::now() < deadline, "no recovery after the outage");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/readyz").await.status, 200);
    assert_eq!(
        app.get("/healthz?verbose").await.body,
        json!({"status": "ok", "database": "ok"})
    );
}

#[tokio::test]
async fn frozen_database_fails_requests_after_the_timeouts_instead_of_hanging() {
    let (app, proxy) =
        app_behind_proxy(&["--postgres-pool-timeout=1s", "--http-request-timeout=2s"]).await;
    app.signup("frozen@example.com", "correct horse battery")
        .await;

    proxy.set(Mode::Frozen);
    let started = Instant::now();
    // More requests than pooled connections: some hold a connection whose statement
    // never returns (the request deadline ends them), the rest wait for the pool.
    let replies =
        futures_util::future::join_all((0..12).map(|_| signin(&app, "frozen@example.com"))).await;
    let took = started.elapsed();
    for r in &replies {
        r.assert_error(503, "service-unavailable");
    }
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let ready = app.get("/readyz").await;
    ready.assert_error(503, "service-unavailable");

    proxy.set(Mode::Up);
    let deadline = Instant::now() + Duration::from_secs(15);
    while signin(&app, "frozen@example.com").await.status != 200 {
        assert!(Instant::now() < deadline, "no recovery after the thaw");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn connections_get_postgres_statement_timeout() {
    let app = TestApp::with(&["--postgres-statement-timeout=1500ms"]).await;
    let client = app.state.db.get().await.expect("pooled connection");
    let row = client
        .query_one("SHOW statement_timeout", &[])
        .await
        .expect("show");
    assert_eq!(row.get::<_, String>(0), "1500ms");
    // A statement running longer is cancelled by the server, and that is a 503.
    let e = client
        .simple_query("SELECT pg_sleep(3)")
        .await
        .expect_err("cancelled");
    let e = hasura_auth::db::DbError::from(e);
    assert!(e.is_unavailable(), "{e}");
    assert!(e.to_string().contains("57014"), "SQLSTATE in the log: {e}");
}

#[tokio::test]
async fn database_errors_are_logged_with_sqlstate_and_message_but_no_values() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client
        .batch_execute(
            "CREATE TABLE t (email text UNIQUE); INSERT INTO t VALUES ('secret@example.com')",
        )
        .await
        .expect("setup");
    let e = client
        .execute(
            "INSERT INTO t VALUES ($1)",
            &[&"secret@example.com".to_owned()],
        )
        .await
        .expect_err("duplicate");
    let logged = hasura_auth::db::DbError::from(e).to_string();
    assert!(logged.contains("23505"), "{logged}");
    assert!(logged.contains("duplicate key value"), "{logged}");
    assert!(!logged.contains("secret@example.com"), "{logged}");
}

/// Reads until the server closes the connection; what it sent, and how long it took.
async fn until_closed(mut stream: TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "connection still open after {limit:?}");
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn idle_and_half_header_connections_are_closed_by_their_timeouts() {
    let app = TestApp::with(&["--http-idle-timeout=1s", "--http-header-read-timeout=1s"]).await;
    // Sends nothing.
    let idle = TcpStream::connect(app.addr).await.expect("connect");
    // Half the headers, then a byte now and then (each keeps the socket busy).
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let trickle = tokio::spawn(async move {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
        slow
    });
    let (_, took) = until_closed(idle, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "idle closed after {took:?}");
    let slow = trickle.await.expect("trickle");
    let (_, took) = until_closed(slow, Duration::from_secs(1)).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn keep_alive_connections_are_closed_after_the_idle_timeout() {
    let app = TestApp::with(&["--http-idle-timeout=1s"]).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let (text, took) = until_closed(stream, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn half_sent_body_gets_408_after_the_body_timeout() {
    let app = TestApp::with(&["--http-body-read-timeout=1s"]).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(
            b"POST /signin/email-password HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":",
        )
        .await
        .expect("write");
    let (text, took) = until_closed(stream, Duration::from_secs(5)).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error\":\"invalid-request\""), "{text}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn many_idle_connections_do_not_stop_healthz() {
    let app = TestApp::with(&["--http-idle-timeout=30s"]).await;
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(TcpStream::connect(app.addr).await.expect("connect"));
    }
    let started = Instant::now();
    assert_eq!(app.get("/healthz").await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(idle);
}

#[tokio::test]
async fn at_the_connection_cap_new_connections_wait_for_a_free_slot() {
    let app = TestApp::with(&["--http-max-connections=3", "--http-idle-timeout=1s"]).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(app.addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The 4th waits in the listen queue until the idle ones are closed (1 s).
    let started = Instant::now();
    let r = app.get("/healthz").await;
    assert_eq!(r.status, 200);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(4),
        "{took:?}"
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish_but_not_beyond_the_deadline() {
    let app = TestApp::with(&[
        "--email-verification-required=false",
        "--shutdown-timeout=2s",
        "--http-body-read-timeout=60s",
        "--http-header-read-timeout=60s",
    ])
    .await;
    app.signup("drain@example.com", "correct horse battery")
        .await;
    // A slow client: headers sent, the body never completes.
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(
        b"POST /signin/email-password HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    )
    .await
    .expect("write");
    // Requests in flight when the signal comes (bcrypt keeps them busy a while).
    let in_flight: Vec<_> = (0..4)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("/signin/email-password");
            tokio::spawn(async move {
                http.post(url)
                    .json(
                        &json!({"email": "drain@example.com", "password": "correct horse battery"}),
                    )
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let addr = app.addr;
    let started = Instant::now();
    let mut app = app;
    app.shutdown().await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "drain took {took:?}");
    for request in in_flight {
        assert_eq!(request.await.expect("task").expect("response"), 200);
    }
    // The slow client was cut, and nothing listens any more.
    let (_, _) = until_closed(slow, Duration::from_secs(1)).await;
    assert!(TcpStream::connect(addr).await.is_err());
}
