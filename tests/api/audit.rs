//! The audit trail (`hasura_auth.audit_events`), its metrics, retention and webhook.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::app::{Reply, TestApp};

const NO_VERIFY: &str = "--email-verification-required=false";

/// One row of the trail, as the tests read it.
#[derive(Debug, Clone)]
pub struct Row {
    pub event: String,
    pub outcome: String,
    pub user_id: Option<uuid::Uuid>,
    pub method: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    app.db
        .client()
        .await
        .query(
            "SELECT event, outcome, user_id, method, reason, ip, user_agent \
             FROM hasura_auth.audit_events ORDER BY id",
            &[],
        )
        .await
        .expect("audit rows")
        .into_iter()
        .map(|r| Row {
            event: r.get(0),
            outcome: r.get(1),
            user_id: r.get(2),
            method: r.get(3),
            reason: r.get(4),
            ip: r.get(5),
            user_agent: r.get(6),
        })
        .collect()
}

/// The trail once it holds at least `n` rows (the writer is asynchronous).
pub async fn wait_for_rows(app: &TestApp, n: usize) -> Vec<Row> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = rows(app).await;
        if rows.len() >= n || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn signin(app: &TestApp, email: &str, password: &str, ua: &str, xff: &str) -> Reply {
    let res = app
        .http
        .post(app.url("/signin/email-password"))
        .header("user-agent", ua)
        .header("x-forwarded-for", xff)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request");
    Reply::read(res).await
}

fn user_id(session: &Value) -> uuid::Uuid {
    session["user"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("user id")
}

#[tokio::test]
async fn audit_records_signup_signins_failures_and_signout_with_the_client() {
    let app = TestApp::with(&[NO_VERIFY, "--trusted-proxies=127.0.0.1"]).await;
    let session = app.signup("a@example.com", "hunter22").await;
    let id = user_id(&session);
    signin(&app, "a@example.com", "wrong-pw", "Evil/1.0", "203.0.113.9")
        .await
        .assert_error(401, "invalid-email-password");
    signin(
        &app,
        "nobody@example.com",
        "hunter22",
        "Evil/1.0",
        "203.0.113.9",
    )
    .await
    .assert_error(401, "invalid-email-password");
    let ok = signin(
        &app,
        "a@example.com",
        "hunter22",
        "Firefox/99",
        "198.51.100.7",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let r = app
        .post(
            "/signout",
            json!({"refreshToken": ok.body["session"]["refreshToken"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let rows = wait_for_rows(&app, 5).await;
    let summary: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.event.as_str(), r.outcome.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            ("signup", "success"),
            ("signin", "failure"),
            ("signin", "failure"),
            ("signin", "success"),
            ("signout", "success"),
        ],
        "{rows:#?}"
    );
    assert_eq!(rows[0].user_id, Some(id));
    assert_eq!(rows[0].method.as_deref(), Some("signup/email-password"));
    // The wrong password: the account, the reason, where it came from.
    assert_eq!(rows[1].user_id, Some(id));
    assert_eq!(rows[1].reason.as_deref(), Some("invalid-email-password"));
    assert_eq!(rows[1].method.as_deref(), Some("signin/email-password"));
    assert_eq!(rows[1].ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(rows[1].user_agent.as_deref(), Some("Evil/1.0"));
    // The unknown address: no user.
    assert_eq!(rows[2].user_id, None);
    assert_eq!(rows[2].reason.as_deref(), Some("unknown-user"));
    assert_eq!(rows[3].user_id, Some(id));
    assert_eq!(rows[3].ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(rows[3].user_agent.as_deref(), Some("Firefox/99"));
    assert_eq!(rows[4].user_id, Some(id));
    assert_eq!(rows[4].method.as_deref(), Some("signout"));

    // Never a secret: no password, no token, in any column.
    let dump: String = app
        .db
        .client()
        .await
        .query_one(
            "SELECT string_agg(a::text, ' ') FROM hasura_auth.audit_events a",
            &[],
        )
        .await
        .expect("dump")
        .get(0);
    for secret in [
        "hunter22",
        "wrong-pw",
        ok.body["session"]["refreshToken"].as_str().unwrap_or("x"),
    ] {
        assert!(!dump.contains(secret), "{secret} in the trail: {dump}");
    }
}

#[tokio::test]
async fn audit_records_refused_signins_of_other_methods_password_change_and_reuse() {
    let app = TestApp::with(&[NO_VERIFY, "--refresh-reuse-interval=1ms"]).await;
    let session = app.signup("b@example.com", "hunter22").await;
    let id = user_id(&session);
    // A PAT sign-in with a token nobody issued: refused by its workflow, recorded by the
    // HTTP layer with the error code.
    app.post(
        "/signin/pat",
        json!({"personalAccessToken": uuid::Uuid::new_v4().to_string()}),
    )
    .await
    .assert_error(401, "invalid-pat");
    // A rotated refresh token presented after the (1 ms) interval: theft.
    let old = session["refreshToken"].clone();
    let r = app.post("/token", json!({"refreshToken": old})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.post("/token", json!({"refreshToken": old}))
        .await
        .assert_error(401, "invalid-refresh-token");
    // After the reuse: a password change ends every session (Nhost Auth 0.50.1).
    let access = session["accessToken"].as_str().expect("access token");
    let r = app
        .post_auth("/user/password", access, json!({"newPassword": "hunter23"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let rows = wait_for_rows(&app, 4).await;
    let find = |event: &str| {
        rows.iter()
            .find(|r| r.event == event)
            .unwrap_or_else(|| panic!("no {event} in {rows:#?}"))
    };
    let pat = find("signin");
    assert_eq!(pat.outcome, "failure");
    assert_eq!(pat.method.as_deref(), Some("signin/pat"));
    assert_eq!(pat.reason.as_deref(), Some("invalid-pat"));
    let change = find("password-change");
    assert_eq!(
        (change.outcome.as_str(), change.user_id),
        ("success", Some(id))
    );
    let reuse = find("refresh-token-reuse");
    assert_eq!(reuse.outcome, "failure");
    assert_eq!(reuse.user_id, Some(id));
    assert_eq!(reuse.reason.as_deref(), Some("revoked"));
}

#[tokio::test]
async fn audit_off_writes_nothing_but_still_counts() {
    let app = TestApp::with(&[NO_VERIFY, "--audit-enabled=false"]).await;
    app.signup("c@example.com", "hunter22").await;
    signin(&app, "c@example.com", "nope-nope", "x", "127.0.0.1")
        .await
        .assert_error(401, "invalid-email-password");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rows(&app).await.is_empty());
    let text = app.state.metrics.render(app.state.db.status());
    assert!(
        text.contains(r#"hasura_auth_audit_events_total{event="signin",outcome="failure"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hasura_auth_audit_events_total{event="signup",outcome="success"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn audit_retention_purges_old_events_only() {
    // A retention far above the test's duration, even on a loaded machine: only the
    // day-old event may go. (It is purged at most a quarter of the retention, 5 s, after
    // it is inserted.)
    let app = TestApp::with(&[NO_VERIFY, "--audit-retention=20s"]).await;
    app.sql(
        "INSERT INTO hasura_auth.audit_events (created_at, event, outcome) \
         VALUES (now() - interval '1 day', 'signin', 'success')",
    )
    .await;
    app.signup("d@example.com", "hunter22").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let rows = rows(&app).await;
        let old = rows.iter().filter(|r| r.event == "signin").count();
        // The sign-up's event is written by the background writer: wait for it too.
        if old == 0 && rows.iter().any(|r| r.event == "signup") {
            // The fresh event (seconds old) is still there.
            assert_eq!(rows.len(), 1, "{rows:#?}");
            assert_eq!(rows[0].event, "signup");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "old event never purged, or the new one never written: {rows:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A local webhook receiver: every request's signature header and body.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(Option<String>, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get("x-hasura-auth-signature")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let _ = tx.send((sig, body));
                "ok"
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, rx)
}

fn hmac_hex(key: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn audit_webhook_receives_each_event_signed() {
    let (url, mut rx) = receiver().await;
    let app = TestApp::with(&[
        NO_VERIFY,
        &format!("--audit-webhook-url={url}"),
        "--audit-webhook-secret=whsec-test",
    ])
    .await;
    let session = app.signup("e@example.com", "hunter22").await;
    let (sig, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("delivered in time")
        .expect("delivered");
    let event: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(event["event"], "signup");
    assert_eq!(event["outcome"], "success");
    assert_eq!(event["userId"], session["user"]["id"]);
    assert_eq!(event["method"], "signup/email-password");
    assert_eq!(
        sig.as_deref(),
        Some(format!("sha256={}", hmac_hex(b"whsec-test", body.as_bytes())).as_str())
    );
    // A signature under another key does not match.
    assert_ne!(
        sig.as_deref(),
        Some(format!("sha256={}", hmac_hex(b"other", body.as_bytes())).as_str())
    );
}

#[tokio::test]
async fn audit_webhook_down_or_slow_does_not_slow_signin() {
    // Slow: accepts connections and never answers.
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let slow_url = format!("http://{}/hook", slow.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = slow.accept().await {
            held.push(conn);
        }
    });
    // Down: a port nobody listens on.
    let down = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let down_url = format!("http://{}/hook", down.local_addr().expect("addr"));
    drop(down);

    for url in [slow_url, down_url] {
        let app = TestApp::with(&[NO_VERIFY, &format!("--audit-webhook-url={url}")]).await;
        app.signup("f@example.com", "hunter22").await;
        for _ in 0..5 {
            let started = Instant::now();
            let r = signin(&app, "f@example.com", "hunter22", "ua", "127.0.0.1").await;
            assert_eq!(r.status, 200, "{}", r.text);
            // A webhook attempt may take 5 s; a sign-in never waits for one.
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "sign-in took {:?} with webhook {url}",
                started.elapsed()
            );
        }
        // And the trail itself is written regardless.
        assert!(wait_for_rows(&app, 6).await.len() >= 6);
    }
}

#[tokio::test]
async fn audit_webhook_retries_a_failed_delivery() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let calls = Arc::new(AtomicUsize::new(0));
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let (tx, calls) = (tx.clone(), calls.clone());
            async move {
                let _ = tx.send(body);
                // The first attempt fails, the retry succeeds.
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::NO_CONTENT
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let app = TestApp::with(&[NO_VERIFY, &format!("--audit-webhook-url={url}")]).await;
    app.signup("g@example.com", "hunter22").await;
    let mut bodies = Vec::new();
    for _ in 0..2 {
        let body = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("attempt in time")
            .expect("attempt");
        bodies.push(body);
    }
    assert_eq!(bodies[0], bodies[1], "the same event, sent again");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = app.state.metrics.render(app.state.db.status());
        if text.contains(r#"hasura_auth_audit_webhook_deliveries_total{outcome="sent"} 1"#) {
            assert!(!text.contains(r#"outcome="failed""#), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
