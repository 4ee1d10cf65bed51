//! `POST /user/email/send-verification-email`, and the sign-up email it re-sends.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn resend_verification_then_verify_by_link() {
    let (app, smtp) = app_with_smtp(&[]).await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "late@example.com", "password": PASSWORD, "options": {"locale": "de"}}),
        )
        .await;
    assert_eq!(r.body, json!({}), "{}", r.text);
    let first = header(&nth_email(&smtp, "late@example.com", 0).await, "X-Link");

    let r = app
        .post(
            "/user/email/send-verification-email",
            json!({"email": "late@example.com", "options": {"redirectTo": "https://app.example.com/welcome?from=mail"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    let mail = nth_email(&smtp, "late@example.com", 1).await;
    assert_eq!(header(&mail, "X-Email-Template"), "email-verify");
    assert!(mail.html().unwrap_or_default().contains("lang=\"de\""));
    let link = header(&mail, "X-Link");
    assert!(link.contains("type=emailVerify"), "{link}");

    // One ticket slot: the new link replaced the first one.
    assert_eq!(
        query(&follow(&app, &first).await)["error"],
        "invalid-ticket"
    );
    let target = follow(&app, &link).await;
    assert!(
        target.starts_with("https://app.example.com/welcome?"),
        "{target}"
    );
    let q = query(&target);
    assert_eq!(q["from"], "mail");
    assert_eq!(q["type"], "verifyEmail");
    assert!(q.contains_key("refreshToken"));
    assert_eq!(
        sign_in(&app, "late@example.com", PASSWORD).await.status,
        200
    );

    // Verified now: nothing more to send.
    app.post(
        "/user/email/send-verification-email",
        json!({"email": "late@example.com"}),
    )
    .await
    .assert_error(400, "email-already-verified");
}

#[tokio::test]
async fn resend_verification_errors_reveal_account_state_unless_concealed() {
    let (app, smtp) = app_with_smtp(&[]).await;
    app.post(
        "/signup/email-password",
        json!({"email": "off@example.com", "password": PASSWORD}),
    )
    .await;
    signed_up(&app, "done@example.com").await;
    app.sql("UPDATE auth.users SET disabled = true WHERE email = 'off@example.com'")
        .await;
    let send = |email: &str| {
        app.post(
            "/user/email/send-verification-email",
            json!({ "email": email }),
        )
    };
    send("unknown@example.com")
        .await
        .assert_error(401, "invalid-email-password");
    send("off@example.com")
        .await
        .assert_error(401, "disabled-user");
    send("done@example.com")
        .await
        .assert_error(400, "email-already-verified");
    app.post(
        "/user/email/send-verification-email",
        json!({"email": "done@example.com", "options": {"redirectTo": "https://evil.example.com"}}),
    )
    .await
    .assert_error(400, "redirectTo-not-allowed");
    assert_eq!(
        emails_to(&smtp, "off@example.com"),
        1,
        "only the sign-up email"
    );

    // With AUTH_CONCEAL_ERRORS the three answers look the same.
    let (concealed, _smtp) = app_with_smtp(&["--conceal-errors"]).await;
    signed_up(&concealed, "done@example.com").await;
    for email in ["unknown@example.com", "done@example.com"] {
        let r = concealed
            .post(
                "/user/email/send-verification-email",
                json!({ "email": email }),
            )
            .await;
        r.assert_error(400, "invalid-request");
        assert_eq!(r.body["message"], "The request payload is incorrect");
    }
}

#[tokio::test]
async fn body_must_match_the_contract() {
    let (app, _smtp) = app_with_smtp(&[]).await;
    for body in [
        json!({}),
        json!({"email": "not-an-email"}),
        json!({"email": "a@example.com", "extra": 1}),
        json!({"email": "a@example.com", "options": {"locale": "en"}}),
    ] {
        app.post("/user/email/send-verification-email", body.clone())
            .await
            .assert_error(400, "invalid-request");
    }
}
