//! `POST /user/email/change` → email to the new address → `/verify`.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn change_email_by_link_sent_to_the_new_address() {
    let (app, smtp) = app_with_smtp(&["--email-verification-required=false"]).await;
    let session = signed_up(&app, "old@example.com").await;
    let token = access_token(&session);
    let r = app
        .post_auth(
            "/user/email/change",
            &token,
            json!({"newEmail": "new@example.com", "options": {"redirectTo": "http://localhost:3000/changed?k=v"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));

    // Nothing changes before the new address confirms; in particular the old address is
    // not marked verified (upstream does that here).
    let state = sql_value(
        &app,
        "SELECT email::text || ' ' || email_verified::text || ' ' || new_email::text FROM auth.users",
    )
    .await;
    assert_eq!(
        state.as_deref(),
        Some("old@example.com false new@example.com")
    );
    assert_eq!(emails_to(&smtp, "old@example.com"), 0);

    let mail = nth_email(&smtp, "new@example.com", 0).await;
    assert_eq!(header(&mail, "X-Email-Template"), "email-confirm-change");
    let html = mail.html().unwrap_or_default();
    assert!(html.contains("new@example.com"), "{html}");
    let link = header(&mail, "X-Link");
    assert!(link.contains("type=emailConfirmChange"), "{link}");

    let target = follow(&app, &link).await;
    let q = query(&target);
    assert!(
        target.starts_with("http://localhost:3000/changed?"),
        "{target}"
    );
    assert_eq!(q["k"], "v");
    assert_eq!(q["type"], "emailConfirmChange");
    let state = sql_value(
        &app,
        "SELECT email::text || ' ' || email_verified::text || ' ' || coalesce(new_email::text, '-') FROM auth.users",
    )
    .await;
    assert_eq!(state.as_deref(), Some("new@example.com true -"));
    assert_eq!(sign_in(&app, "new@example.com", PASSWORD).await.status, 200);
    sign_in(&app, "old@example.com", PASSWORD)
        .await
        .assert_error(401, "invalid-email-password");
}

#[tokio::test]
async fn change_email_refusals() {
    let (app, smtp) = app_with_smtp(&["--block-email-domains=blocked.example"]).await;
    let token = access_token(&signed_up(&app, "me@example.com").await);
    signed_up(&app, "taken@example.com").await;
    let change = |body: serde_json::Value| app.post_auth("/user/email/change", &token, body);

    change(json!({"newEmail": "TAKEN@example.com"}))
        .await
        .assert_error(409, "email-already-in-use");
    change(json!({"newEmail": "free@example.com", "options": {"redirectTo": "https://evil.example.com"}}))
        .await
        .assert_error(400, "redirectTo-not-allowed");
    // A blocked address would lock the account out (we check; upstream does not).
    change(json!({"newEmail": "me@blocked.example"}))
        .await
        .assert_error(401, "invalid-email-password");
    change(json!({"newEmail": "not an email"}))
        .await
        .assert_error(400, "invalid-request");
    app.post(
        "/user/email/change",
        json!({"newEmail": "free@example.com"}),
    )
    .await
    .assert_error(400, "invalid-request");
    assert_eq!(emails_to(&smtp, "free@example.com"), 0);
}

#[tokio::test]
async fn change_email_needs_an_elevated_token_when_required() {
    let (app, _smtp) = app_with_smtp(&["--require-elevated-claim=required"]).await;
    let token = access_token(&signed_up(&app, "me@example.com").await);
    app.post_auth(
        "/user/email/change",
        &token,
        json!({"newEmail": "new@example.com"}),
    )
    .await
    .assert_error(400, "elevated-claim-required");
}

#[tokio::test]
async fn confirming_an_address_taken_meanwhile_redirects_with_an_error() {
    let (app, smtp) = app_with_smtp(&[]).await;
    let token = access_token(&signed_up(&app, "me@example.com").await);
    let r = app
        .post_auth(
            "/user/email/change",
            &token,
            json!({"newEmail": "race@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = header(&nth_email(&smtp, "race@example.com", 0).await, "X-Link");
    signed_up(&app, "race@example.com").await;
    let q = query(&follow(&app, &link).await);
    assert_eq!(q["error"], "email-already-in-use");
    assert_eq!(q["errorDescription"], "Email already in use");
    assert_eq!(
        sql_value(
            &app,
            "SELECT email::text FROM auth.users WHERE new_email IS NOT NULL"
        )
        .await
        .as_deref(),
        Some("me@example.com")
    );
}
