//! The explicit email sign-up routes of Nhost Auth 0.50 (`POST /signup/passwordless/email`,
//! `POST /signup/otp/email`) and `AUTH_DISABLE_AUTO_SIGNUP` on their sign-in twins, on a
//! fresh database (level 27) and on a v18 database kept at 18.

use serde_json::json;

use crate::pkce::{Level, app_at, follow, pkce_pair};
use crate::support::app::TestApp;
use crate::support::smtp::SmtpServer;

async fn users(app: &TestApp) -> i64 {
    app.db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM auth.users WHERE email LIKE '%@signup.test'",
            &[],
        )
        .await
        .expect("count")
        .get(0)
}

fn sent_to(smtp: &SmtpServer, to: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to)))
        .count()
}

async fn ok(app: &TestApp, path: &str, body: serde_json::Value) {
    let r = app.post(path, body).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    assert_eq!(r.body, json!("OK"));
}

async fn magic_link_sign_up(level: Level) {
    let (app, smtp) = app_at(level, &["--otp-email-enabled=true"]).await;
    let (verifier, challenge) = pkce_pair();
    ok(
        &app,
        "/signup/passwordless/email",
        json!({"email": "new@signup.test", "codeChallenge": challenge,
               "options": {"displayName": "New"}}),
    )
    .await;
    assert_eq!(users(&app).await, 1);
    let link = smtp
        .wait_for_message("new@signup.test", crate::pkce::WAIT)
        .await
        .header("X-Link")
        .expect("X-Link");
    let q = follow(&app, &link).await;
    let r = app
        .post(
            "/token/exchange",
            json!({"code": q["code"], "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["displayName"], "New");

    // A known address: the same answer, nothing sent, nobody created.
    ok(
        &app,
        "/signup/passwordless/email",
        json!({"email": "new@signup.test"}),
    )
    .await;
    ok(
        &app,
        "/signup/otp/email",
        json!({"email": "new@signup.test"}),
    )
    .await;
    assert_eq!(sent_to(&smtp, "new@signup.test"), 1);
    assert_eq!(users(&app).await, 1);

    // A code sign-up, then its verification.
    ok(
        &app,
        "/signup/otp/email",
        json!({"email": "otp@signup.test"}),
    )
    .await;
    let code = smtp
        .wait_for_message("otp@signup.test", crate::pkce::WAIT)
        .await
        .header("X-Ticket")
        .expect("X-Ticket");
    let r = app
        .post(
            "/signin/otp/email/verify",
            json!({"email": "otp@signup.test", "otp": code}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(users(&app).await, 2);
}

#[tokio::test]
async fn email_sign_up_routes_create_only_new_users_at_level_27() {
    magic_link_sign_up(Level::Fresh).await;
}

#[tokio::test]
async fn email_sign_up_routes_create_only_new_users_at_level_18() {
    magic_link_sign_up(Level::V18).await;
}

async fn no_auto_signup(level: Level) {
    let (app, smtp) = app_at(
        level,
        &["--otp-email-enabled=true", "--disable-auto-signup=true"],
    )
    .await;
    // Unknown addresses: "OK", nothing sent, nobody created.
    ok(
        &app,
        "/signin/passwordless/email",
        json!({"email": "ghost@signup.test"}),
    )
    .await;
    ok(
        &app,
        "/signin/otp/email",
        json!({"email": "ghost@signup.test"}),
    )
    .await;
    assert_eq!(users(&app).await, 0);
    assert_eq!(sent_to(&smtp, "ghost@signup.test"), 0);
    // Sign-up still creates; then the sign-in routes know the address.
    ok(
        &app,
        "/signup/passwordless/email",
        json!({"email": "ghost@signup.test"}),
    )
    .await;
    assert_eq!(users(&app).await, 1);
    ok(
        &app,
        "/signin/passwordless/email",
        json!({"email": "ghost@signup.test"}),
    )
    .await;
    ok(
        &app,
        "/signin/otp/email",
        json!({"email": "ghost@signup.test"}),
    )
    .await;
    let deadline = tokio::time::Instant::now() + crate::pkce::WAIT;
    while sent_to(&smtp, "ghost@signup.test") < 3 {
        assert!(tokio::time::Instant::now() < deadline, "three emails");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Email-password sign-up is an explicit sign-up: unaffected.
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "pw@signup.test", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn without_auto_signup_email_sign_ins_create_nobody_at_level_27() {
    no_auto_signup(Level::Fresh).await;
}

#[tokio::test]
async fn without_auto_signup_email_sign_ins_create_nobody_at_level_18() {
    no_auto_signup(Level::V18).await;
}

#[tokio::test]
async fn email_sign_up_routes_refuse_what_their_sign_in_twins_refuse() {
    let (app, _smtp) = app_at(Level::Fresh, &["--otp-email-enabled=true"]).await;
    for path in ["/signup/passwordless/email", "/signup/otp/email"] {
        for body in [
            json!({}),
            json!({"email": "not-an-email"}),
            json!({"email": "a@signup.test", "extra": 1}),
            json!({"email": "a\u{0}b@signup.test"}),
            json!({"email": "a@signup.test", "options": {"redirectTo": "https://evil.test"}}),
        ] {
            let r = app.post(path, body.clone()).await;
            assert_eq!(r.status, 400, "{path} {body}: {}", r.text);
        }
    }
    // codeChallenge belongs to the magic link only.
    let r = app
        .post(
            "/signup/otp/email",
            json!({"email": "a@signup.test", "codeChallenge": pkce_pair().1}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    app.post(
        "/signup/passwordless/email",
        json!({"email": "a@signup.test", "codeChallenge": "x"}),
    )
    .await
    .assert_error(400, "invalid-request");
    assert_eq!(users(&app).await, 0);

    let (closed, _smtp) = app_at(
        Level::Fresh,
        &["--otp-email-enabled=true", "--disable-signup=true"],
    )
    .await;
    for path in ["/signup/passwordless/email", "/signup/otp/email"] {
        closed
            .post(path, json!({"email": "a@signup.test"}))
            .await
            .assert_error(403, "signup-disabled");
    }
    let (off, _smtp) = app_at(Level::Fresh, &["--email-passwordless-enabled=false"]).await;
    for path in ["/signup/passwordless/email", "/signup/otp/email"] {
        off.post(path, json!({"email": "a@signup.test"}))
            .await
            .assert_error(409, "disabled-endpoint");
    }
}
