//! Magic links: `POST /signin/passwordless/email` → email → `/verify` → session.

use serde_json::json;

use crate::common::*;

const ENABLED: &str = "--email-passwordless-enabled";

#[tokio::test]
async fn magic_link_creates_the_user_and_signs_in() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": "magic@example.com", "options": {
                "displayName": "Magic User", "locale": "fr", "defaultRole": "editor",
                "allowedRoles": ["editor", "me"], "metadata": {"plan": "pro"},
                "redirectTo": "http://localhost:3000/in?next=%2Fhome"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let created = sql_value(
        &app,
        "SELECT email_verified::text || ' ' || coalesce(password_hash, '-') || ' ' || locale FROM auth.users",
    )
    .await;
    assert_eq!(created.as_deref(), Some("false - fr"));

    let mail = nth_email(&smtp, "magic@example.com", 0).await;
    assert_eq!(header(&mail, "X-Email-Template"), "signin-passwordless");
    assert!(header(&mail, "X-Ticket").starts_with("passwordlessEmail:"));
    assert!(mail.html().unwrap_or_default().contains("lang=\"fr\""));
    let link = header(&mail, "X-Link");
    assert!(link.contains("type=signinPasswordless"), "{link}");

    let target = follow(&app, &link).await;
    let q = query(&target);
    assert!(target.starts_with("http://localhost:3000/in?"), "{target}");
    assert_eq!(q["next"], "/home");
    assert_eq!(q["type"], "passwordlessEmail");
    let s = app
        .post("/token", json!({"refreshToken": q["refreshToken"]}))
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    let user = &s.body["user"];
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Magic User");
    assert_eq!(user["defaultRole"], "editor");
    assert_eq!(user["metadata"], json!({"plan": "pro"}));
    assert_eq!(query(&follow(&app, &link).await)["error"], "invalid-ticket");
}

#[tokio::test]
async fn magic_link_for_an_existing_unverified_user() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    app.post(
        "/signup/email-password",
        json!({"email": "known@example.com", "password": PASSWORD, "options": {"locale": "de"}}),
    )
    .await;
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": "known@example.com", "options": {"locale": "fr", "displayName": "Ignored"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = nth_email(&smtp, "known@example.com", 1).await;
    assert!(
        mail.html().unwrap_or_default().contains("lang=\"de\""),
        "the stored locale, not the request's"
    );
    let q = query(&follow(&app, &header(&mail, "X-Link")).await);
    assert_eq!(q["type"], "passwordlessEmail");
    assert_eq!(
        sign_in(&app, "known@example.com", PASSWORD).await.status,
        200
    );
    assert_eq!(sql_count(&app, "SELECT count(*) FROM auth.users").await, 1);
}

#[tokio::test]
async fn magic_link_refusals() {
    let (off, _s) = app_with_smtp(&[]).await;
    off.post(
        "/signin/passwordless/email",
        json!({"email": "a@example.com"}),
    )
    .await
    .assert_error(409, "disabled-endpoint");

    let (app, smtp) = app_with_smtp(&[ENABLED, "--block-emails=blocked@example.com"]).await;
    let send = |body: serde_json::Value| app.post("/signin/passwordless/email", body);
    send(json!({"email": "blocked@example.com"}))
        .await
        .assert_error(401, "invalid-email-password");
    send(json!({"email": "a@example.com", "options": {"allowedRoles": ["admin"]}}))
        .await
        .assert_error(400, "role-not-allowed");
    send(json!({"email": "a@example.com", "options": {"redirectTo": "https://evil.example.com"}}))
        .await
        .assert_error(400, "redirectTo-not-allowed");
    signed_up(&app, "off@example.com").await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    send(json!({"email": "off@example.com"}))
        .await
        .assert_error(401, "disabled-user");
    assert_eq!(emails_to(&smtp, "a@example.com"), 0);
    assert_eq!(
        emails_to(&smtp, "off@example.com"),
        1,
        "only the sign-up email"
    );
}

#[tokio::test]
async fn magic_link_sign_up_rules() {
    let (app, smtp) = app_with_smtp(&[ENABLED, "--disable-signup"]).await;
    app.post(
        "/signin/passwordless/email",
        json!({"email": "new@example.com"}),
    )
    .await
    .assert_error(403, "signup-disabled");
    assert_eq!(sql_count(&app, "SELECT count(*) FROM auth.users").await, 0);

    // New users disabled: the account is created (for an admin to enable), nothing is sent.
    let (app2, smtp2) = app_with_smtp(&[ENABLED, "--disable-new-users"]).await;
    app2.post(
        "/signin/passwordless/email",
        json!({"email": "new@example.com"}),
    )
    .await
    .assert_error(401, "disabled-user");
    let row = sql_value(
        &app2,
        "SELECT disabled::text || ' ' || coalesce(ticket, '-') FROM auth.users",
    )
    .await;
    assert_eq!(row.as_deref(), Some("true -"));
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(smtp.messages().is_empty() && smtp2.messages().is_empty());
}
