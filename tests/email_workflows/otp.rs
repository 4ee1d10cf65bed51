//! Email one-time codes: `POST /signin/otp/email` → email → `POST /signin/otp/email/verify`.

use serde_json::{Value, json};

use crate::common::*;
use crate::support::app::{Reply, TestApp};
use crate::support::smtp::SmtpServer;

const ENABLED: &str = "--otp-email-enabled";

async fn request_code(app: &TestApp, smtp: &SmtpServer, email: &str, nth: usize) -> String {
    let r = app
        .post("/signin/otp/email", json!({ "email": email }))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    header(&nth_email(smtp, email, nth).await, "X-Ticket")
}

async fn verify(app: &TestApp, email: &str, otp: &str) -> Reply {
    app.post(
        "/signin/otp/email/verify",
        json!({"email": email, "otp": otp}),
    )
    .await
}

#[tokio::test]
async fn code_by_email_signs_in_once() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let r = app
        .post(
            "/signin/otp/email",
            json!({"email": "otp@example.com", "options": {"locale": "fr", "redirectTo": "http://localhost:3000/app"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = nth_email(&smtp, "otp@example.com", 0).await;
    assert_eq!(header(&mail, "X-Email-Template"), "signin-otp");
    let code = header(&mail, "X-Ticket");
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert_eq!(mail.header("X-Link").unwrap_or_default(), "", "no link");
    assert!(mail.text().unwrap_or_default().contains(&code));
    assert!(mail.html().unwrap_or_default().contains("lang=\"fr\""));
    assert_eq!(header(&mail, "X-Redirect-To"), "http://localhost:3000/app");

    // Only a bcrypt hash is stored, and not in the ticket column.
    let hash = sql_value(&app, "SELECT code_hash FROM hasura_auth.email_otps").await;
    assert!(
        hash.as_deref().is_some_and(|h| h.starts_with("$2")),
        "{hash:?}"
    );
    assert_eq!(sql_value(&app, "SELECT ticket FROM auth.users").await, None);

    verify(&app, "other@example.com", &code)
        .await
        .assert_error(401, "invalid-ticket");
    let r = verify(&app, "OTP@example.com", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = &r.body["session"];
    assert!(session["accessToken"].is_string() && session["refreshToken"].is_string());
    assert_eq!(session["user"]["emailVerified"], true);
    assert_eq!(session["user"]["locale"], "fr");
    verify(&app, "otp@example.com", &code)
        .await
        .assert_error(401, "invalid-ticket");
}

#[tokio::test]
async fn a_code_belongs_to_its_address_only() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let a = request_code(&app, &smtp, "a@example.com", 0).await;
    let b = request_code(&app, &smtp, "b@example.com", 0).await;
    if a != b {
        verify(&app, "a@example.com", &b)
            .await
            .assert_error(401, "invalid-ticket");
        verify(&app, "b@example.com", &a)
            .await
            .assert_error(401, "invalid-ticket");
    }
    assert_eq!(verify(&app, "a@example.com", &a).await.status, 200);
    assert_eq!(verify(&app, "b@example.com", &b).await.status, 200);
}

#[tokio::test]
async fn wrong_guesses_burn_the_code() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let code = request_code(&app, &smtp, "guess@example.com", 0).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        verify(&app, "guess@example.com", wrong)
            .await
            .assert_error(401, "invalid-ticket");
    }
    verify(&app, "guess@example.com", &code)
        .await
        .assert_error(401, "invalid-ticket");

    // A new code starts over.
    let code = request_code(&app, &smtp, "guess@example.com", 1).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..4 {
        verify(&app, "guess@example.com", wrong).await;
    }
    assert_eq!(verify(&app, "guess@example.com", &code).await.status, 200);
}

#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_bound() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let code = request_code(&app, &smtp, "burst@example.com", 0).await;
    let wrong: Vec<String> = (0..20u32)
        .map(|i| {
            format!(
                "{:06}",
                (code.parse::<u32>().unwrap_or(0) + 1 + i) % 1_000_000
            )
        })
        .collect();
    let replies: Vec<Reply> =
        futures_util::future::join_all(wrong.iter().map(|w| verify(&app, "burst@example.com", w)))
            .await;
    for r in &replies {
        r.assert_error(401, "invalid-ticket");
    }
    let attempts = sql_value(&app, "SELECT attempts::text FROM hasura_auth.email_otps").await;
    assert_eq!(attempts.as_deref(), Some("5"));
    verify(&app, "burst@example.com", &code)
        .await
        .assert_error(401, "invalid-ticket");
}

#[tokio::test]
async fn expired_replaced_and_foreign_codes_are_refused() {
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let first = request_code(&app, &smtp, "x@example.com", 0).await;
    let second = request_code(&app, &smtp, "x@example.com", 1).await;
    if first != second {
        verify(&app, "x@example.com", &first)
            .await
            .assert_error(401, "invalid-ticket");
    }
    app.sql("UPDATE hasura_auth.email_otps SET expires_at = now() - interval '1 second'")
        .await;
    verify(&app, "x@example.com", &second)
        .await
        .assert_error(401, "invalid-ticket");

    // Upstream accepted any current ticket of the user as the code; we do not.
    let ticket = format!("verifyEmail:{}", uuid::Uuid::new_v4());
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{ticket}', ticket_expires_at = now() + interval '1 hour'"
    ))
    .await;
    for otp in [ticket.as_str(), "", "12345", "1234567", "abcdef"] {
        verify(&app, "x@example.com", otp)
            .await
            .assert_error(401, "invalid-ticket");
    }
    verify(&app, "nobody@example.com", "123456")
        .await
        .assert_error(401, "invalid-ticket");
}

#[tokio::test]
async fn otp_refusals() {
    let (off, _s) = app_with_smtp(&[]).await;
    off.post("/signin/otp/email", json!({"email": "a@example.com"}))
        .await
        .assert_error(409, "disabled-endpoint");

    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    signed_up(&app, "off@example.com").await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post("/signin/otp/email", json!({"email": "off@example.com"}))
        .await
        .assert_error(401, "disabled-user");
    assert_eq!(
        emails_to(&smtp, "off@example.com"),
        1,
        "only the sign-up email"
    );
    app.post(
        "/signin/otp/email/verify",
        json!({"email": "off@example.com"}),
    )
    .await
    .assert_error(400, "invalid-request");

    // A disabled user cannot sign in with a code issued before it was disabled.
    let (app, smtp) = app_with_smtp(&[ENABLED]).await;
    let code = request_code(&app, &smtp, "later@example.com", 0).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    let r: Value = verify(&app, "later@example.com", &code).await.body;
    assert_eq!(r["error"], "disabled-user");
}

/// Under the 0.52 contract: `invalid-otp` while attempts are left (and for malformed
/// codes, unknown addresses, no code), and the fifth wrong guess burns the code
/// (`otp-too-many-attempts`, also for the right code, until a new one is sent).
#[tokio::test]
async fn wrong_guesses_under_0_52_answer_invalid_otp_then_too_many_attempts() {
    let (app, smtp) = app_with_smtp(&[ENABLED, "--upstream-generation=0.52"]).await;
    verify(&app, "nobody@example.com", "123456")
        .await
        .assert_error(400, "invalid-otp");
    let code = request_code(&app, &smtp, "guess@example.com", 0).await;
    verify(&app, "guess@example.com", "12ab56")
        .await
        .assert_error(400, "invalid-otp");
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..4 {
        verify(&app, "guess@example.com", wrong)
            .await
            .assert_error(400, "invalid-otp");
    }
    verify(&app, "guess@example.com", wrong)
        .await
        .assert_error(400, "otp-too-many-attempts");
    verify(&app, "guess@example.com", &code)
        .await
        .assert_error(400, "otp-too-many-attempts");

    // A new code starts over.
    let code = request_code(&app, &smtp, "guess@example.com", 1).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    verify(&app, "guess@example.com", wrong)
        .await
        .assert_error(400, "invalid-otp");
    let r = verify(&app, "guess@example.com", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Used once: gone.
    verify(&app, "guess@example.com", &code)
        .await
        .assert_error(400, "invalid-otp");
}

/// `AUTH_CONCEAL_ERRORS` hides both 0.52 codes.
#[tokio::test]
async fn otp_codes_under_0_52_are_concealed_when_configured() {
    let (app, smtp) = app_with_smtp(&[
        ENABLED,
        "--upstream-generation=0.52",
        "--conceal-errors=true",
    ])
    .await;
    let code = request_code(&app, &smtp, "hide@example.com", 0).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..6 {
        verify(&app, "hide@example.com", wrong)
            .await
            .assert_error(400, "invalid-request");
    }
}
