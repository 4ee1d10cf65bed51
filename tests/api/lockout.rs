//! Per-account brute-force protection (`AUTH_LOCKOUT_*`).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::audit::wait_for_rows;
use crate::support::app::{Reply, TestApp};

const NO_VERIFY: &str = "--email-verification-required=false";

/// A password sign-in from `ip` (believed: the tests trust the loopback proxy).
async fn signin_from(app: &TestApp, password: &str, ip: &str) -> Reply {
    let res = app
        .http
        .post(app.url("/signin/email-password"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": "v@example.com", "password": password}))
        .send()
        .await
        .expect("request");
    Reply::read(res).await
}

/// The seconds of the account's current lock, from when it started.
async fn lock_secs(app: &TestApp) -> Option<f64> {
    app.db
        .client()
        .await
        .query_opt(
            "SELECT extract(epoch FROM locked_until - last_failure_at)::float8 \
             FROM hasura_auth.account_lockouts WHERE locked_until > now()",
            &[],
        )
        .await
        .expect("lock")
        .map(|r| r.get(0))
}

async fn wait_unlocked(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while lock_secs(app).await.is_some() {
        assert!(Instant::now() < deadline, "lock never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn lockout_off_by_default_never_locks() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    app.signup("v@example.com", "hunter22").await;
    for _ in 0..8 {
        signin_from(&app, "wrong-pw", "127.0.0.1")
            .await
            .assert_error(401, "invalid-email-password");
    }
    let r = signin_from(&app, "hunter22", "127.0.0.1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rows: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT count(*) FROM hasura_auth.account_lockouts", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(rows, 0, "nothing is counted when locking is off");
}

#[tokio::test]
async fn lockout_locks_the_account_whatever_the_ip_and_hides_it() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--trusted-proxies=127.0.0.1",
        "--lockout-max-failures=3",
        "--lockout-duration=2s",
        "--lockout-max-duration=1m",
    ])
    .await;
    app.signup("v@example.com", "hunter22").await;
    let wrong = signin_from(&app, "wrong-pw", "203.0.113.1").await;
    wrong.assert_error(401, "invalid-email-password");
    // Each guess from another address: a per-IP limit would not see them.
    signin_from(&app, "wrong-pw", "203.0.113.2")
        .await
        .assert_error(401, "invalid-email-password");
    signin_from(&app, "wrong-pw", "203.0.113.3")
        .await
        .assert_error(401, "invalid-email-password");
    assert!(lock_secs(&app).await.is_some(), "locked after 3 failures");

    // The right password, from yet another address, during the lock: the very answer
    // a wrong password gets.
    let during = signin_from(&app, "hunter22", "198.51.100.4").await;
    during.assert_error(401, "invalid-email-password");
    assert_eq!(during.body, wrong.body);

    // Unlocked by time.
    wait_unlocked(&app).await;
    let r = signin_from(&app, "hunter22", "198.51.100.4").await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The success forgot the failures.
    signin_from(&app, "wrong-pw", "203.0.113.1")
        .await
        .assert_error(401, "invalid-email-password");
    assert!(lock_secs(&app).await.is_none());

    let rows = wait_for_rows(&app, 9).await;
    let events: Vec<(&str, Option<&str>)> = rows
        .iter()
        .filter(|r| r.event != "signup")
        .map(|r| (r.event.as_str(), r.reason.as_deref()))
        .collect();
    assert!(
        events.contains(&("signin", Some("account-locked"))),
        "{events:?}"
    );
    assert!(
        events.iter().any(|(e, _)| *e == "account-locked"),
        "{events:?}"
    );
}

#[tokio::test]
async fn lockout_is_lifted_by_a_password_reset() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--lockout-max-failures=2",
        "--lockout-duration=1h",
        "--lockout-max-duration=1h",
    ])
    .await;
    app.signup("v@example.com", "hunter22").await;
    for _ in 0..2 {
        signin_from(&app, "wrong-pw", "127.0.0.1")
            .await
            .assert_error(401, "invalid-email-password");
    }
    signin_from(&app, "hunter22", "127.0.0.1")
        .await
        .assert_error(401, "invalid-email-password");
    // The emailed reset link's ticket (stored in clear, as upstream stored them).
    let ticket = format!("passwordReset:{}", uuid::Uuid::new_v4());
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{ticket}', ticket_expires_at = now() + interval '1 hour'"
    ))
    .await;
    let r = app
        .post(
            "/user/password",
            json!({"newPassword": "hunter99", "ticket": ticket}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = signin_from(&app, "hunter99", "127.0.0.1").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let rows = wait_for_rows(&app, 8).await;
    assert!(
        rows.iter()
            .any(|r| r.event == "account-unlocked" && r.reason.as_deref() == Some("password-reset")),
        "{rows:#?}"
    );
}

#[tokio::test]
async fn lockout_waits_grow_and_stop_at_the_cap() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--lockout-max-failures=1",
        "--lockout-duration=1s",
        "--lockout-max-duration=2s",
    ])
    .await;
    app.signup("v@example.com", "hunter22").await;
    let mut waits = Vec::new();
    for _ in 0..3 {
        signin_from(&app, "wrong-pw", "127.0.0.1")
            .await
            .assert_error(401, "invalid-email-password");
        waits.push(lock_secs(&app).await.expect("locked"));
        // Attempts during the lock do not extend it (a victim cannot be kept out).
        signin_from(&app, "wrong-pw", "127.0.0.1")
            .await
            .assert_error(401, "invalid-email-password");
        assert!(
            (lock_secs(&app).await.expect("still locked")
                - waits.last().copied().unwrap_or_default())
            .abs()
                < 0.01
        );
        wait_unlocked(&app).await;
    }
    let rounded: Vec<i64> = waits.iter().map(|w| w.round() as i64).collect();
    assert_eq!(rounded, [1, 2, 2], "{waits:?}");
}

#[tokio::test]
async fn lockout_reveal_says_so_with_429() {
    let app = TestApp::with(&[
        NO_VERIFY,
        "--lockout-max-failures=1",
        "--lockout-duration=1h",
        "--lockout-reveal=true",
    ])
    .await;
    app.signup("v@example.com", "hunter22").await;
    signin_from(&app, "wrong-pw", "127.0.0.1")
        .await
        .assert_error(401, "invalid-email-password");
    let r = signin_from(&app, "hunter22", "127.0.0.1").await;
    r.assert_error(429, "invalid-email-password");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("locked"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn lockout_counts_wrong_email_codes_and_refuses_the_right_one_during_the_lock() {
    use crate::support::smtp::{SmtpOptions, SmtpServer};
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let app = TestApp::with(&[
        NO_VERIFY,
        "--otp-email-enabled=true",
        "--smtp-host=127.0.0.1",
        &port,
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=hasura-auth@example.com",
        "--lockout-max-failures=2",
        "--lockout-duration=1h",
    ])
    .await;
    app.signup("v@example.com", "hunter22").await;
    let r = app
        .post("/signin/otp/email", json!({"email": "v@example.com"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = smtp
        .wait_for_message("v@example.com", Duration::from_secs(10))
        .await;
    let code = mail.header("X-Ticket").expect("code");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..2 {
        app.post(
            "/signin/otp/email/verify",
            json!({"email": "v@example.com", "otp": wrong}),
        )
        .await
        .assert_error(401, "invalid-ticket");
    }
    assert!(
        lock_secs(&app).await.is_some(),
        "locked after 2 wrong codes"
    );
    // The right code (not burned: 2 of its 5 attempts) is refused during the lock.
    app.post(
        "/signin/otp/email/verify",
        json!({"email": "v@example.com", "otp": code}),
    )
    .await
    .assert_error(401, "invalid-ticket");
    // The password too.
    signin_from(&app, "hunter22", "127.0.0.1")
        .await
        .assert_error(401, "invalid-email-password");
}
