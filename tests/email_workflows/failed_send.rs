//! When the email cannot be sent, the request fails with upstream's 500 and the
//! database is as it was: no user without a way in, no ticket or code nobody received,
//! no pending ticket overwritten, no session ended.

use serde_json::json;

use crate::common::*;
use crate::support::app::TestApp;
use crate::support::smtp::{SmtpOptions, SmtpServer};

/// A server whose SMTP server refuses its credentials: every send fails.
async fn app_failing_smtp(extra: &[&str]) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let mut args = vec![
        "--smtp-host=127.0.0.1",
        port.as_str(),
        "--smtp-user=user",
        "--smtp-password=wrong",
        "--smtp-sender=hasura-auth@example.com",
        "--email-passwordless-enabled",
        "--otp-email-enabled",
        "--enable-anonymous-users",
    ];
    args.extend_from_slice(extra);
    (TestApp::with(&args).await, smtp)
}

async fn users(app: &TestApp) -> i64 {
    sql_count(app, "SELECT count(*) FROM auth.users").await
}

#[tokio::test]
async fn new_users_are_not_kept_when_their_email_fails() {
    let (app, smtp) = app_failing_smtp(&[]).await;
    app.post(
        "/signup/email-password",
        json!({"email": "s@example.com", "password": PASSWORD}),
    )
    .await
    .assert_error(500, "internal-server-error");
    app.post(
        "/signin/passwordless/email",
        json!({"email": "m@example.com"}),
    )
    .await
    .assert_error(500, "internal-server-error");
    app.post("/signin/otp/email", json!({"email": "o@example.com"}))
        .await
        .assert_error(500, "internal-server-error");
    assert_eq!(users(&app).await, 0);
    assert_eq!(
        sql_count(&app, "SELECT count(*) FROM hasura_auth.email_otps").await,
        0
    );
    assert!(!smtp.auth_failures().is_empty(), "the sends were attempted");
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn pending_tickets_survive_a_failed_send() {
    let (app, _smtp) = app_failing_smtp(&["--email-verification-required=false"]).await;
    let session = signed_up(&app, "u@example.com").await;
    // A pending verification link the user already received.
    let pending = format!("verifyEmail:{}", uuid::Uuid::new_v4());
    app.sql(&format!(
        "UPDATE auth.users SET email_verified = false, ticket = '{}', \
         ticket_expires_at = now() + interval '1 day'",
        hasura_auth::service::tickets::stored_form(&pending)
    ))
    .await;
    let before = sql_value(
        &app,
        "SELECT ticket || ' ' || ticket_expires_at::text FROM auth.users",
    )
    .await;

    for (path, body) in [
        ("/user/password/reset", json!({"email": "u@example.com"})),
        (
            "/user/email/send-verification-email",
            json!({"email": "u@example.com"}),
        ),
        (
            "/signin/passwordless/email",
            json!({"email": "u@example.com"}),
        ),
    ] {
        app.post(path, body)
            .await
            .assert_error(500, "internal-server-error");
    }
    app.post_auth(
        "/user/email/change",
        &access_token(&session),
        json!({"newEmail": "n@example.com"}),
    )
    .await
    .assert_error(500, "internal-server-error");
    app.post("/signin/otp/email", json!({"email": "u@example.com"}))
        .await
        .assert_error(500, "internal-server-error");

    let after = sql_value(
        &app,
        "SELECT ticket || ' ' || ticket_expires_at::text FROM auth.users",
    )
    .await;
    assert_eq!(before, after, "the pending ticket was not replaced");
    assert_eq!(
        sql_value(&app, "SELECT new_email::text FROM auth.users").await,
        None
    );
    assert_eq!(
        sql_count(&app, "SELECT count(*) FROM hasura_auth.email_otps").await,
        0
    );
    // And it still works.
    let target = follow(
        &app,
        &app.url(&format!(
            "/verify?ticket={pending}&redirectTo=http://localhost:3000"
        )),
    )
    .await;
    assert_eq!(query(&target)["type"], "verifyEmail", "{target}");
}

#[tokio::test]
async fn deanonymize_is_undone_when_its_email_fails() {
    let (app, _smtp) = app_failing_smtp(&[]).await;
    let r = app.post("/signin/anonymous", json!({})).await;
    let anon = r.body["session"].clone();
    app.post_auth(
        "/user/deanonymize",
        &access_token(&anon),
        json!({"signInMethod": "passwordless", "email": "d@example.com"}),
    )
    .await
    .assert_error(500, "internal-server-error");
    let row = sql_value(
        &app,
        "SELECT is_anonymous::text || ' ' || coalesce(email::text, '-') FROM auth.users",
    )
    .await;
    assert_eq!(row.as_deref(), Some("true -"));
    assert_eq!(
        sql_value(&app, "SELECT string_agg(role, ',') FROM auth.user_roles")
            .await
            .as_deref(),
        Some("anonymous")
    );
    let refreshed = app
        .post("/token", json!({"refreshToken": anon["refreshToken"]}))
        .await;
    assert_eq!(
        refreshed.status, 200,
        "the anonymous session lives on: {}",
        refreshed.text
    );
}
