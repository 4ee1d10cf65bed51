//! `GET /verify`: every ticket type, and every error as a redirect that keeps the
//! application's own query parameters.

use hasura_auth::service::tickets::stored_form;
use serde_json::json;

use crate::common::*;
use crate::support::app::TestApp;

/// Plants `ticket` (stored hashed, as we issue them) on the only user.
async fn plant(app: &TestApp, ticket: &str) {
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{}', ticket_expires_at = now() + interval '1 hour'",
        stored_form(ticket)
    ))
    .await;
}

fn verify_url(app: &TestApp, ticket: &str, redirect_to: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("ticket", ticket)
        .append_pair("redirectTo", redirect_to)
        .finish();
    app.url(&format!("/verify?{q}"))
}

async fn location(app: &TestApp, ticket: &str, redirect_to: &str) -> String {
    follow(app, &verify_url(app, ticket, redirect_to)).await
}

#[tokio::test]
async fn every_ticket_type_signs_in_and_echoes_its_type() {
    let (app, _smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "t@example.com").await;
    app.sql("UPDATE auth.users SET new_email = 'n@example.com'")
        .await;
    for (prefix, echoed) in [
        ("verifyEmail", "verifyEmail"),
        ("passwordlessEmail", "passwordlessEmail"),
        ("passwordReset", "passwordReset"),
        ("emailConfirmChange", "emailConfirmChange"),
    ] {
        let ticket = format!("{prefix}:{}", uuid::Uuid::new_v4());
        plant(&app, &ticket).await;
        let target = location(&app, &ticket, "http://localhost:3000/cb?state=s1").await;
        let q = query(&target);
        assert_eq!(q["type"], echoed, "{target}");
        assert_eq!(q["state"], "s1");
        assert!(
            q.contains_key("refreshToken") && !q.contains_key("error"),
            "{target}"
        );
    }
    assert_eq!(
        sql_value(&app, "SELECT email::text FROM auth.users")
            .await
            .as_deref(),
        Some("n@example.com")
    );
}

#[tokio::test]
async fn errors_keep_the_redirect_query_and_are_sorted() {
    let (app, _smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "e@example.com").await;
    let target = location(
        &app,
        "verifyEmail:00000000-0000-0000-0000-000000000000",
        "http://localhost:3000/cb?state=abc&x=1",
    )
    .await;
    assert_eq!(
        target,
        "http://localhost:3000/cb?error=invalid-ticket&errorDescription=Invalid+ticket&state=abc&x=1"
    );

    // Ticket types that /verify does not run.
    let mfa = format!("mfaTotp:{}", uuid::Uuid::new_v4());
    plant(&app, &mfa).await;
    assert_eq!(
        query(&location(&app, &mfa, "http://localhost:3000").await)["error"],
        "invalid-ticket"
    );
    assert_eq!(
        query(&location(&app, "otp:123456", "http://localhost:3000").await)["error"],
        "invalid-request"
    );
    assert_eq!(
        query(&location(&app, "nonsense", "http://localhost:3000").await)["error"],
        "invalid-ticket"
    );

    // A redirect outside the allow-list goes to the client URL instead.
    let target = location(&app, "verifyEmail:x", "https://evil.example.com/?a=1").await;
    assert!(target.starts_with("http://localhost:3000"), "{target}");
    assert_eq!(query(&target)["error"], "redirectTo-not-allowed");
    assert!(!target.contains("evil"), "{target}");
}

#[tokio::test]
async fn account_state_errors_leave_the_ticket_usable() {
    let (app, _smtp) = app_with_smtp(&[]).await;
    signed_up(&app, "d@example.com").await;
    let ticket = format!("passwordReset:{}", uuid::Uuid::new_v4());
    plant(&app, &ticket).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    let q = query(&location(&app, &ticket, "http://localhost:3000/r").await);
    assert_eq!(q["error"], "disabled-user");
    assert_eq!(q["errorDescription"], "User is disabled");

    // Unverified users may not use a reset link while verification is required.
    app.sql("UPDATE auth.users SET disabled = false, email_verified = false")
        .await;
    let q = query(&location(&app, &ticket, "http://localhost:3000/r").await);
    assert_eq!(q["error"], "unverified-user");

    app.sql("UPDATE auth.users SET email_verified = true").await;
    let q = query(&location(&app, &ticket, "http://localhost:3000/r").await);
    assert_eq!(
        q["type"], "passwordReset",
        "the ticket survived the refusals"
    );
}

#[tokio::test]
async fn concealed_errors_in_redirects() {
    let (app, _smtp) = app_with_smtp(&["--conceal-errors"]).await;
    signed_up(&app, "c@example.com").await;
    let ticket = format!("verifyEmail:{}", uuid::Uuid::new_v4());
    plant(&app, &ticket).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    for t in [ticket.as_str(), "verifyEmail:unknown"] {
        let q = query(&location(&app, t, "http://localhost:3000/r?keep=1").await);
        assert_eq!(q["error"], "invalid-request");
        assert_eq!(q["errorDescription"], "The request payload is incorrect");
        assert_eq!(q["keep"], "1");
    }
}

#[tokio::test]
async fn verify_requires_its_parameters() {
    let (app, _smtp) = app_with_smtp(&[]).await;
    app.get("/verify?ticket=verifyEmail:x")
        .await
        .assert_error(400, "invalid-request");
    app.get("/verify?ticket=verifyEmail:x&redirectTo=http://localhost:3000&type=bogus")
        .await
        .assert_error(400, "invalid-request");
    let r = app
        .get("/verify?ticket=verifyEmail:x&redirectTo=%3A%2F%2Fnot-a-url")
        .await;
    r.assert_error(400, "invalid-request");
    assert_eq!(json!(r.body["status"]), json!(400));
}
