//! `POST /user/deanonymize`: both sign-in methods, the emails, and refresh tokens.

use serde_json::{Value, json};

use crate::common::*;
use crate::support::app::TestApp;

const ANON: &str = "--enable-anonymous-users";

async fn anonymous(app: &TestApp) -> Value {
    let r = app.post("/signin/anonymous", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session"].clone()
}

async fn roles(app: &TestApp) -> String {
    sql_value(
        app,
        "SELECT string_agg(role, ',' ORDER BY role) FROM auth.user_roles",
    )
    .await
    .unwrap_or_default()
}

#[tokio::test]
async fn email_password_with_verification_emails_a_link_and_ends_the_anonymous_session() {
    let (app, smtp) = app_with_smtp(&[ANON]).await;
    let anon = anonymous(&app).await;
    let r = app
        .post_auth(
            "/user/deanonymize",
            &access_token(&anon),
            json!({"signInMethod": "email-password", "email": "real@example.com", "password": PASSWORD,
                   "options": {"displayName": "Real", "locale": "de", "redirectTo": "http://localhost:3000/done"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));

    let row = sql_value(
        &app,
        "SELECT is_anonymous::text || ' ' || email::text || ' ' || default_role || ' ' || display_name \
         || ' ' || locale || ' ' || email_verified::text || ' ' || coalesce(metadata::text, 'NULL') FROM auth.users",
    )
    .await;
    assert_eq!(
        row.as_deref(),
        Some("false real@example.com user Real de false NULL")
    );
    assert_eq!(roles(&app).await, "editor,me,user");
    // The anonymous refresh token is gone.
    app.post("/token", json!({"refreshToken": anon["refreshToken"]}))
        .await
        .assert_error(401, "invalid-refresh-token");

    let mail = nth_email(&smtp, "real@example.com", 0).await;
    assert_eq!(header(&mail, "X-Email-Template"), "email-verify");
    assert!(mail.html().unwrap_or_default().contains("lang=\"de\""));
    sign_in(&app, "real@example.com", PASSWORD)
        .await
        .assert_error(401, "unverified-user");
    let q = query(&follow(&app, &header(&mail, "X-Link")).await);
    assert_eq!(q["type"], "verifyEmail");
    let s = sign_in(&app, "real@example.com", PASSWORD).await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["session"]["user"]["isAnonymous"], false);
}

#[tokio::test]
async fn passwordless_emails_a_magic_link() {
    let (app, smtp) = app_with_smtp(&[ANON]).await;
    let anon = anonymous(&app).await;
    let r = app
        .post_auth(
            "/user/deanonymize",
            &access_token(&anon),
            json!({"signInMethod": "passwordless", "email": "ml@example.com", "connection": "ignored",
                   "options": {"metadata": {"a": 1}}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post("/token", json!({"refreshToken": anon["refreshToken"]}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let mail = nth_email(&smtp, "ml@example.com", 0).await;
    assert_eq!(header(&mail, "X-Email-Template"), "signin-passwordless");
    let q = query(&follow(&app, &header(&mail, "X-Link")).await);
    assert_eq!(q["type"], "passwordlessEmail");
    let s = app
        .post("/token", json!({"refreshToken": q["refreshToken"]}))
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["user"]["email"], "ml@example.com");
    assert_eq!(s.body["user"]["emailVerified"], true);
    assert_eq!(s.body["user"]["metadata"], json!({"a": 1}));
    assert_eq!(
        sql_value(
            &app,
            "SELECT coalesce(password_hash, 'none') FROM auth.users"
        )
        .await
        .as_deref(),
        Some("none")
    );
}

#[tokio::test]
async fn email_password_without_verification_keeps_the_session() {
    let (app, smtp) = app_with_smtp(&[ANON, "--email-verification-required=false"]).await;
    let anon = anonymous(&app).await;
    let r = app
        .post_auth(
            "/user/deanonymize",
            &access_token(&anon),
            json!({"signInMethod": "email-password", "email": "keep@example.com", "password": PASSWORD,
                   "options": {"defaultRole": "me", "allowedRoles": ["me"]}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        smtp.messages().is_empty(),
        "nothing to verify, nothing sent"
    );
    // The refresh token still works and now carries the new roles.
    let s = app
        .post("/token", json!({"refreshToken": anon["refreshToken"]}))
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["user"]["isAnonymous"], false);
    assert_eq!(s.body["user"]["roles"], json!(["me"]));
    assert_eq!(
        sign_in(&app, "keep@example.com", PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn deanonymize_refusals() {
    let (app, smtp) = app_with_smtp(&[ANON, "--block-email-domains=blocked.example"]).await;
    let anon = anonymous(&app).await;
    let token = access_token(&anon);
    let regular = access_token(&signed_up(&app, "taken@example.com").await);
    let send = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { app.post_auth("/user/deanonymize", &token, body).await }
    };
    send(
        &regular,
        json!({"signInMethod": "passwordless", "email": "x@example.com"}),
    )
    .await
    .assert_error(400, "user-not-anonymous");
    send(
        &token,
        json!({"signInMethod": "email-password", "email": "x@example.com"}),
    )
    .await
    .assert_error(400, "invalid-request");
    send(
        &token,
        json!({"signInMethod": "sms", "email": "x@example.com"}),
    )
    .await
    .assert_error(400, "invalid-request");
    send(
        &token,
        json!({"signInMethod": "passwordless", "email": "TAKEN@example.com"}),
    )
    .await
    .assert_error(409, "email-already-in-use");
    send(
        &token,
        json!({"signInMethod": "passwordless", "email": "x@blocked.example"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    send(&token, json!({"signInMethod": "passwordless", "email": "x@example.com", "options": {"allowedRoles": ["admin"]}}))
        .await
        .assert_error(400, "role-not-allowed");
    app.post(
        "/user/deanonymize",
        json!({"signInMethod": "passwordless", "email": "x@example.com"}),
    )
    .await
    .assert_error(400, "invalid-request");
    assert_eq!(emails_to(&smtp, "x@example.com"), 0);
    assert_eq!(
        sql_count(&app, "SELECT count(*) FROM auth.users WHERE is_anonymous").await,
        1
    );

    // Once deanonymized, the still-valid anonymous access token cannot do it again.
    let ok = send(
        &token,
        json!({"signInMethod": "passwordless", "email": "first@example.com"}),
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    send(
        &token,
        json!({"signInMethod": "passwordless", "email": "second@example.com"}),
    )
    .await
    .assert_error(400, "user-not-anonymous");
    assert_eq!(emails_to(&smtp, "second@example.com"), 0);
}

#[tokio::test]
async fn password_rules_apply() {
    let (app, _smtp) = app_with_smtp(&[ANON, "--password-min-length=10"]).await;
    let token = access_token(&anonymous(&app).await);
    app.post_auth(
        "/user/deanonymize",
        &token,
        json!({"signInMethod": "email-password", "email": "p@example.com", "password": "short-pw"}),
    )
    .await
    .assert_error(400, "password-too-short");
}
