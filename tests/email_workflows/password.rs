//! Password reset (`/user/password/reset` → email → `/verify` or the raw ticket →
//! `/user/password`) and password change with an access token.

use serde_json::json;

use crate::common::*;
use crate::support::app::TestApp;

async fn request_reset(app: &TestApp, email: &str, redirect_to: Option<&str>) {
    let mut body = json!({ "email": email });
    if let Some(r) = redirect_to {
        body["options"] = json!({ "redirectTo": r });
    }
    let r = app.post("/user/password/reset", body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
}

#[tokio::test]
async fn reset_by_emailed_link_then_change_with_the_session() {
    let (app, smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "reset@example.com").await;
    app.sql("UPDATE auth.users SET locale = 'fr'").await;
    request_reset(
        &app,
        "RESET@example.com",
        Some("http://localhost:3000/reset?step=2"),
    )
    .await;

    let mail = nth_email(&smtp, "reset@example.com", 1).await;
    assert_eq!(header(&mail, "X-Email-Template"), "password-reset");
    let link = header(&mail, "X-Link");
    assert!(link.contains("type=passwordReset"), "{link}");
    assert!(header(&mail, "X-Ticket").starts_with("passwordReset:"));
    assert!(
        mail.html().unwrap_or_default().contains("lang=\"fr\""),
        "rendered in the user's locale"
    );
    assert!(mail.text().unwrap_or_default().contains(&link));

    // Following the link signs the user in, changing nothing yet.
    let target = follow(&app, &link).await;
    assert!(
        target.starts_with("http://localhost:3000/reset?"),
        "{target}"
    );
    let q = query(&target);
    assert_eq!(q["step"], "2", "the redirect keeps its own query");
    assert_eq!(q["type"], "passwordReset");
    let session = app
        .post("/token", json!({"refreshToken": q["refreshToken"]}))
        .await;
    assert_eq!(session.status, 200, "{}", session.text);
    let token = access_token(&session.body);

    let r = app
        .post_auth(
            "/user/password",
            &token,
            json!({"newPassword": "brand-new-pw"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    sign_in(&app, "reset@example.com", PASSWORD)
        .await
        .assert_error(401, "invalid-email-password");
    assert_eq!(
        sign_in(&app, "reset@example.com", "brand-new-pw")
            .await
            .status,
        200
    );

    // The link was used up by the visit.
    let again = follow(&app, &link).await;
    assert_eq!(query(&again)["error"], "invalid-ticket");
}

#[tokio::test]
async fn reset_with_the_raw_ticket_is_single_use() {
    let (app, smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "raw@example.com").await;
    request_reset(&app, "raw@example.com", None).await;
    let mail = nth_email(&smtp, "raw@example.com", 1).await;
    let ticket = header(&mail, "X-Ticket");
    assert!(
        header(&mail, "X-Link").contains("redirectTo=http%3A%2F%2Flocalhost%3A3000"),
        "defaults to the client URL"
    );
    // Stored hashed, never in clear.
    let stored = sql_value(&app, "SELECT ticket FROM auth.users")
        .await
        .unwrap_or_default();
    assert!(stored.starts_with("passwordReset:sha256:"), "{stored}");
    assert!(!stored.contains(&ticket["passwordReset:".len()..]));

    let change = json!({"newPassword": "via-ticket-1", "ticket": ticket});
    let r = app.post("/user/password", change.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sign_in(&app, "raw@example.com", "via-ticket-1")
            .await
            .status,
        200
    );
    app.post("/user/password", change)
        .await
        .assert_error(401, "invalid-ticket");
}

#[tokio::test]
async fn a_refused_password_does_not_burn_the_ticket() {
    let (app, smtp) = app_with_smtp(&["--password-min-length=8"]).await;
    app.post(
        "/signup/email-password",
        json!({"email": "short@example.com", "password": "long-enough-1"}),
    )
    .await;
    app.sql("UPDATE auth.users SET email_verified = true").await;
    request_reset(&app, "short@example.com", None).await;
    let ticket = header(&nth_email(&smtp, "short@example.com", 1).await, "X-Ticket");
    app.post(
        "/user/password",
        json!({"newPassword": "short", "ticket": ticket}),
    )
    .await
    .assert_error(400, "password-too-short");
    let r = app
        .post(
            "/user/password",
            json!({"newPassword": "long-enough-2", "ticket": ticket}),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "upstream burns the ticket here; we keep it: {}",
        r.text
    );
    assert_eq!(
        sign_in(&app, "short@example.com", "long-enough-2")
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_use_a_ticket_and_keeps_it() {
    let (app, smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "dis@example.com").await;
    request_reset(&app, "dis@example.com", None).await;
    let ticket = header(&nth_email(&smtp, "dis@example.com", 1).await, "X-Ticket");
    app.sql("UPDATE auth.users SET disabled = true").await;
    let change = json!({"newPassword": "another-pw", "ticket": ticket});
    app.post("/user/password", change.clone())
        .await
        .assert_error(401, "disabled-user");
    app.sql("UPDATE auth.users SET disabled = false").await;
    assert_eq!(app.post("/user/password", change).await.status, 200);
}

#[tokio::test]
async fn bad_tickets_are_refused() {
    let (app, smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "bad@example.com").await;
    // Missing ticket (no token): invalid-request. Another ticket type: refused by the
    // contract's pattern. Unknown and expired tickets: invalid-ticket.
    app.post("/user/password", json!({"newPassword": "whatever-1"}))
        .await
        .assert_error(400, "invalid-request");
    app.post(
        "/user/password",
        json!({"newPassword": "whatever-1", "ticket": "verifyEmail:00000000-0000-0000-0000-000000000000"}),
    )
    .await
    .assert_error(400, "invalid-request");
    app.post(
        "/user/password",
        json!({"newPassword": "whatever-1", "ticket": format!("passwordReset:{}", uuid::Uuid::new_v4())}),
    )
    .await
    .assert_error(401, "invalid-ticket");

    request_reset(&app, "bad@example.com", None).await;
    let ticket = header(&nth_email(&smtp, "bad@example.com", 1).await, "X-Ticket");
    app.sql("UPDATE auth.users SET ticket_expires_at = now() - interval '1 second'")
        .await;
    app.post(
        "/user/password",
        json!({"newPassword": "whatever-1", "ticket": ticket}),
    )
    .await
    .assert_error(401, "invalid-ticket");

    // A stored hash presented as a ticket is not accepted either.
    let stored = sql_value(&app, "SELECT ticket FROM auth.users")
        .await
        .unwrap_or_default();
    app.sql("UPDATE auth.users SET ticket_expires_at = now() + interval '1 hour'")
        .await;
    app.post(
        "/user/password",
        json!({"newPassword": "whatever-1", "ticket": stored}),
    )
    .await
    .assert_error(401, "invalid-ticket");
}

#[tokio::test]
async fn reset_says_ok_and_sends_nothing_for_unusable_accounts() {
    let (app, smtp) = app_with_smtp(&["--block-email-domains=blocked.example"]).await;
    // Unknown address.
    request_reset(&app, "nobody@example.com", None).await;
    // Unverified address (verification is required by default).
    app.post(
        "/signup/email-password",
        json!({"email": "unverified@example.com", "password": PASSWORD}),
    )
    .await;
    request_reset(&app, "unverified@example.com", None).await;
    // Disabled account.
    signed_up(&app, "disabled@example.com").await;
    app.sql("UPDATE auth.users SET disabled = true WHERE email = 'disabled@example.com'")
        .await;
    request_reset(&app, "disabled@example.com", None).await;
    // Blocked domain (the account predates the block list).
    app.sql(
        "INSERT INTO auth.users (email, email_verified, locale, display_name) \
         VALUES ('old@blocked.example', true, 'en', 'old')",
    )
    .await;
    request_reset(&app, "old@blocked.example", None).await;

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(emails_to(&smtp, "nobody@example.com"), 0);
    assert_eq!(
        emails_to(&smtp, "unverified@example.com"),
        1,
        "only the sign-up email"
    );
    assert_eq!(
        emails_to(&smtp, "disabled@example.com"),
        1,
        "only the sign-up email"
    );
    assert_eq!(emails_to(&smtp, "old@blocked.example"), 0);
    assert_eq!(
        sql_count(
            &app,
            "SELECT count(*) FROM auth.users WHERE ticket LIKE 'passwordReset:%'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn reset_refuses_a_redirect_outside_the_allow_list() {
    let (app, smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "redir@example.com").await;
    for bad in [
        "https://evil.example.com",
        "http://localhost:3000.evil.com/x",
        "https://app.example.com/welcomeX",
    ] {
        app.post(
            "/user/password/reset",
            json!({"email": "redir@example.com", "options": {"redirectTo": bad}}),
        )
        .await
        .assert_error(400, "redirectTo-not-allowed");
    }
    request_reset(
        &app,
        "redir@example.com",
        Some("https://app.example.com/welcome/sub#x"),
    )
    .await;
    assert_eq!(emails_to(&smtp, "redir@example.com"), 2);
}

#[tokio::test]
async fn change_with_a_token_follows_the_elevated_claim_policy() {
    let (app, smtp) = app_with_smtp(&["--require-elevated-claim=required"]).await;
    let session = signed_up(&app, "elev@example.com").await;
    let token = access_token(&session);
    // Not elevated: the token is ignored and the ticket branch wants a ticket.
    app.post_auth(
        "/user/password",
        &token,
        json!({"newPassword": "new-pass-1"}),
    )
    .await
    .assert_error(400, "invalid-request");
    // With a reset ticket the change goes through, token or not.
    request_reset(&app, "elev@example.com", None).await;
    let ticket = header(&nth_email(&smtp, "elev@example.com", 1).await, "X-Ticket");
    let r = app
        .post_auth(
            "/user/password",
            &token,
            json!({"newPassword": "new-pass-1", "ticket": ticket}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        sign_in(&app, "elev@example.com", "new-pass-1").await.status,
        200
    );
}

#[tokio::test]
async fn change_with_a_token_checks_the_user_and_the_password() {
    let (app, _smtp) = app_with_smtp(&["--password-min-length=6"]).await;
    let session = signed_up(&app, "tok@example.com").await;
    let token = access_token(&session);
    app.post_auth("/user/password", &token, json!({"newPassword": "abc"}))
        .await
        .assert_error(400, "password-too-short");
    // The contract's length limits apply before anything else.
    app.post_auth(
        "/user/password",
        &token,
        json!({"newPassword": "x".repeat(51)}),
    )
    .await
    .assert_error(400, "invalid-request");
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post_auth("/user/password", &token, json!({"newPassword": "abcdef"}))
        .await
        .assert_error(401, "disabled-user");
}
