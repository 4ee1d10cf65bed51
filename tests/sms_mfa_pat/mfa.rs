//! TOTP: set-up, activation, the MFA branch of password sign-in, skew and replays.

use base64::Engine;
use serde_json::json;

use crate::common::{
    NO_VERIFY, mfa_ticket, query_one, quick_ticket, settle_in_step, totp_code, user_with_token,
};
use crate::support::app::TestApp;

const MFA: &str = "--mfa-enabled=true";

/// Generates a secret for the user and returns it.
async fn generate(app: &TestApp, token: &str) -> String {
    let r = app.get_auth("/mfa/totp/generate", token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["totpSecret"].as_str().expect("secret").to_owned()
}

async fn change(
    app: &TestApp,
    token: &str,
    code: &str,
    kind: Option<&str>,
) -> crate::support::app::Reply {
    let body = match kind {
        Some(k) => json!({"code": code, "activeMfaType": k}),
        None => json!({"code": code}),
    };
    app.post_auth("/user/mfa", token, body).await
}

async fn signin_totp(app: &TestApp, ticket: &str, otp: &str) -> crate::support::app::Reply {
    app.post("/signin/mfa/totp", json!({"ticket": ticket, "otp": otp}))
        .await
}

#[tokio::test]
async fn mfa_generate_returns_secret_and_qr_png_and_stores_the_secret() {
    let app = TestApp::with(&[NO_VERIFY, MFA, "--mfa-totp-issuer=Acme Corp"]).await;
    let (_, token) = user_with_token(&app, "m@example.com").await;
    let r = app.get_auth("/mfa/totp/generate", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.body.as_object().expect("object");
    assert_eq!(body.len(), 2, "{}", r.text);
    let secret = r.body["totpSecret"].as_str().expect("secret");
    assert_eq!(secret.len(), 52);
    let image = r.body["imageUrl"].as_str().expect("image");
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            image
                .strip_prefix("data:image/png;base64,")
                .expect("data URL"),
        )
        .expect("base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[16..24], &[0, 0, 0, 200, 0, 0, 0, 200], "200x200");
    let row = query_one(&app, "SELECT totp_secret, active_mfa_type FROM auth.users").await;
    assert_eq!(row.get::<_, String>(0), secret);
    assert_eq!(row.get::<_, Option<String>>(1), None);

    // A new call replaces a secret that is not active yet.
    let again = generate(&app, &token).await;
    assert_ne!(again, secret);
}

#[tokio::test]
async fn mfa_endpoints_are_gated_and_authenticated() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let (_, token) = user_with_token(&app, "m@example.com").await;
    app.get_auth("/mfa/totp/generate", &token)
        .await
        .assert_error(409, "disabled-endpoint");
    change(&app, &token, "123456", Some("totp"))
        .await
        .assert_error(409, "disabled-endpoint");
    signin_totp(
        &app,
        "mfaTotp:00000000-0000-0000-0000-000000000000",
        "123456",
    )
    .await
    .assert_error(409, "disabled-endpoint");

    let app = TestApp::with(&[NO_VERIFY, MFA]).await;
    app.get("/mfa/totp/generate")
        .await
        .assert_error(400, "invalid-request");
    app.post("/user/mfa", json!({"code": "123456"}))
        .await
        .assert_error(400, "invalid-request");
    let (_, token) = user_with_token(&app, "m@example.com").await;
    change(&app, &token, "123456", Some("sms"))
        .await
        .assert_error(400, "invalid-request");
    app.post_auth("/user/mfa", &token, json!({"activeMfaType": "totp"}))
        .await
        .assert_error(400, "invalid-request");
    signin_totp(&app, "passwordReset:abc", "123456")
        .await
        .assert_error(400, "invalid-request");
    signin_totp(
        &app,
        "mfaTotp:00000000-0000-0000-0000-000000000000",
        "123456",
    )
    .await
    .assert_error(401, "invalid-ticket");
}

#[tokio::test]
async fn mfa_activate_sign_in_with_ticket_and_deactivate() {
    let app = TestApp::with(&[NO_VERIFY, MFA]).await;
    let (_, token) = user_with_token(&app, "m@example.com").await;

    // Nothing to activate without a secret; nothing to deactivate when inactive.
    change(&app, &token, "123456", Some("totp"))
        .await
        .assert_error(400, "no-totp-secret");
    change(&app, &token, "123456", Some(""))
        .await
        .assert_error(401, "disabled-mfa-totp");

    let secret = generate(&app, &token).await;
    settle_in_step().await;
    let now = totp_code(&secret, 0);
    let wrong = totp_code(&secret, 5);
    change(&app, &token, &wrong, Some("totp"))
        .await
        .assert_error(401, "invalid-totp");
    let r = change(&app, &token, &now, Some("totp")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!("OK"));
    assert_eq!(
        app.get_auth("/user", &token).await.body["activeMfaType"],
        "totp"
    );
    change(&app, &token, &now, Some("totp"))
        .await
        .assert_error(400, "totp-already-active");
    // An active secret is not silently replaced (upstream did).
    app.get_auth("/mfa/totp/generate", &token)
        .await
        .assert_error(400, "totp-already-active");

    // Password sign-in now asks for the second factor.
    let ticket = mfa_ticket(&app, "m@example.com").await;
    assert!(ticket.starts_with("mfaTotp:"));
    let stored = query_one(&app, "SELECT ticket FROM auth.users").await;
    assert_ne!(stored.get::<_, String>(0), ticket, "stored hashed");

    // The code that activated TOTP cannot be used again.
    signin_totp(&app, &ticket, &now)
        .await
        .assert_error(401, "invalid-totp");
    // The ticket is gone after one attempt (as upstream).
    let next = totp_code(&secret, 1);
    signin_totp(&app, &ticket, &next)
        .await
        .assert_error(401, "invalid-ticket");

    let ticket = mfa_ticket(&app, "m@example.com").await;
    let r = signin_totp(&app, &ticket, &next).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    assert_eq!(s["user"]["email"], "m@example.com");
    assert_eq!(s["user"]["activeMfaType"], serde_json::Value::Null);
    assert!(s["refreshToken"].is_string());

    // Replaying the same code with a fresh ticket fails.
    let ticket = mfa_ticket(&app, "m@example.com").await;
    signin_totp(&app, &ticket, &next)
        .await
        .assert_error(401, "invalid-totp");
}

#[tokio::test]
async fn mfa_deactivate_needs_a_valid_unused_code_and_keeps_the_secret() {
    let app = TestApp::with(&[NO_VERIFY, MFA]).await;
    let (_, token) = user_with_token(&app, "d@example.com").await;
    let secret = generate(&app, &token).await;
    settle_in_step().await;
    let now = totp_code(&secret, 0);
    assert_eq!(change(&app, &token, &now, Some("totp")).await.status, 200);
    change(&app, &token, &now, None)
        .await
        .assert_error(401, "invalid-totp");
    change(&app, &token, &totp_code(&secret, 3), None)
        .await
        .assert_error(401, "invalid-totp");
    let r = change(&app, &token, &totp_code(&secret, 1), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let row = query_one(&app, "SELECT active_mfa_type, totp_secret FROM auth.users").await;
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some(secret.as_str())
    );
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "d@example.com", "password": "hunter22"}),
        )
        .await;
    assert!(r.body["session"].is_object(), "{}", r.text);

    // Deactivating again, or with the secret gone.
    change(&app, &token, &totp_code(&secret, 1), Some(""))
        .await
        .assert_error(401, "disabled-mfa-totp");
    app.sql("UPDATE auth.users SET active_mfa_type = 'totp', totp_secret = NULL")
        .await;
    change(&app, &token, &totp_code(&secret, 1), Some(""))
        .await
        .assert_error(400, "no-totp-secret");
}

#[tokio::test]
async fn mfa_one_step_of_clock_skew_is_accepted_and_no_more() {
    let app = TestApp::with(&[NO_VERIFY, MFA]).await;
    let (user_id, _) = user_with_token(&app, "skew@example.com").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    app.sql(&format!(
        "UPDATE auth.users SET totp_secret = '{secret}', active_mfa_type = 'totp' WHERE id = '{user_id}'"
    ))
    .await;
    settle_in_step().await;
    let step = crate::common::now_unix() / 30;
    for offset in [-2, 2] {
        let ticket = quick_ticket(&app, user_id).await;
        signin_totp(&app, &ticket, &totp_code(secret, offset))
            .await
            .assert_error(401, "invalid-totp");
    }
    // Older steps first: each accepted step must be later than the last one.
    for offset in [-1, 0, 1] {
        let ticket = quick_ticket(&app, user_id).await;
        let r = signin_totp(&app, &ticket, &totp_code(secret, offset)).await;
        assert_eq!(r.status, 200, "offset {offset}: {}", r.text);
    }
    // Any code of a step not later than the last accepted one is a replay.
    for offset in [-1, 0, 1] {
        let ticket = quick_ticket(&app, user_id).await;
        signin_totp(&app, &ticket, &totp_code(secret, offset))
            .await
            .assert_error(401, "invalid-totp");
    }
    let row = query_one(&app, "SELECT last_step FROM hasura_auth.totp_used_steps").await;
    assert_eq!(row.get::<_, i64>(0), i64::try_from(step + 1).expect("i64"));
}

#[tokio::test]
async fn mfa_sign_in_checks_ticket_user_and_secret() {
    let app = TestApp::with(&[NO_VERIFY, MFA]).await;
    let (user_id, _) = user_with_token(&app, "u@example.com").await;
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    app.sql(&format!(
        "UPDATE auth.users SET totp_secret = '{secret}', active_mfa_type = 'totp' WHERE id = '{user_id}'"
    ))
    .await;
    settle_in_step().await;

    // Expired ticket.
    let ticket = quick_ticket(&app, user_id).await;
    app.sql("UPDATE auth.users SET ticket_expires_at = now() - interval '1 second'")
        .await;
    signin_totp(&app, &ticket, &totp_code(secret, 0))
        .await
        .assert_error(401, "invalid-ticket");

    // Disabled after the password step.
    let ticket = quick_ticket(&app, user_id).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    signin_totp(&app, &ticket, &totp_code(secret, 0))
        .await
        .assert_error(401, "disabled-user");
    app.sql("UPDATE auth.users SET disabled = false").await;

    // TOTP switched off, or the secret lost, after the password step.
    let ticket = quick_ticket(&app, user_id).await;
    app.sql("UPDATE auth.users SET active_mfa_type = NULL")
        .await;
    signin_totp(&app, &ticket, &totp_code(secret, 0))
        .await
        .assert_error(401, "disabled-mfa-totp");
    app.sql("UPDATE auth.users SET active_mfa_type = 'totp'")
        .await;
    let ticket = quick_ticket(&app, user_id).await;
    app.sql("UPDATE auth.users SET totp_secret = NULL").await;
    signin_totp(&app, &ticket, &totp_code(secret, 0))
        .await
        .assert_error(400, "no-totp-secret");
}

#[tokio::test]
async fn mfa_challenge_is_issued_even_when_mfa_endpoints_are_off() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    let (user_id, _) = user_with_token(&app, "off@example.com").await;
    app.sql(&format!(
        "UPDATE auth.users SET totp_secret = 'JBSWY3DPEHPK3PXP', active_mfa_type = 'totp' WHERE id = '{user_id}'"
    ))
    .await;
    let ticket = mfa_ticket(&app, "off@example.com").await;
    signin_totp(&app, &ticket, "123456")
        .await
        .assert_error(409, "disabled-endpoint");
}

#[tokio::test]
async fn mfa_wrong_codes_lock_the_account_and_the_right_code_is_refused_during_the_lock() {
    let app = TestApp::with(&[
        NO_VERIFY,
        MFA,
        "--lockout-max-failures=2",
        "--lockout-duration=1h",
    ])
    .await;
    let (user_id, token) = user_with_token(&app, "m@example.com").await;
    let secret = generate(&app, &token).await;
    settle_in_step().await;
    let r = change(&app, &token, &totp_code(&secret, 0), Some("totp")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let wrong = totp_code(&secret, 5);
    for _ in 0..2 {
        // A real password sign-in between guesses: the password is right, but that does
        // not forget the failed codes.
        let ticket = mfa_ticket(&app, "m@example.com").await;
        signin_totp(&app, &ticket, &wrong)
            .await
            .assert_error(401, "invalid-totp");
    }
    let locked: bool = query_one(
        &app,
        "SELECT locked_until > now() FROM hasura_auth.account_lockouts",
    )
    .await
    .get(0);
    assert!(locked, "locked after two wrong codes");
    // The right code during the lock: the answer a wrong one gets.
    let right = totp_code(&secret, 1);
    let ticket = quick_ticket(&app, user_id).await;
    signin_totp(&app, &ticket, &right)
        .await
        .assert_error(401, "invalid-totp");
    // Once the lock is over, the same code works (it was not spent by the refusal).
    app.sql("UPDATE hasura_auth.account_lockouts SET locked_until = now() - interval '1 second'")
        .await;
    let ticket = quick_ticket(&app, user_id).await;
    let r = signin_totp(&app, &ticket, &right).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
