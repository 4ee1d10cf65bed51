use serde_json::json;

use crate::support::app::TestApp;

const NO_VERIFY: &str = "--email-verification-required=false";

#[tokio::test]
async fn signin_returns_a_session_and_updates_last_seen() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    app.signup("s@example.com", "hunter22").await;
    app.sql("UPDATE auth.users SET last_seen = NULL").await;
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "S@EXAMPLE.COM", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.body["session"];
    assert_eq!(s["user"]["email"], "s@example.com");
    assert_eq!(s["user"]["roles"], json!(["me", "user"]));
    assert!(r.body.get("mfa").is_none());
    let db = app.db.client().await;
    let row = db
        .query_one("SELECT last_seen IS NOT NULL, (SELECT count(*) FROM auth.refresh_tokens) FROM auth.users", &[])
        .await
        .expect("row");
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i64>(1), 2, "each sign-in adds a refresh token");
}

#[tokio::test]
async fn signin_wrong_password_or_unknown_email_is_the_same_error() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    app.signup("s@example.com", "hunter22").await;
    app.post(
        "/signin/email-password",
        json!({"email": "s@example.com", "password": "wrong-one"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    app.post(
        "/signin/email-password",
        json!({"email": "nobody@example.com", "password": "hunter22"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
}

#[tokio::test]
async fn signin_disabled_user_is_refused() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    app.signup("d@example.com", "hunter22").await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post(
        "/signin/email-password",
        json!({"email": "d@example.com", "password": "hunter22"}),
    )
    .await
    .assert_error(401, "disabled-user");
    // Without the password the account status is not revealed.
    app.post(
        "/signin/email-password",
        json!({"email": "d@example.com", "password": "not-it"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
}

#[tokio::test]
async fn signin_checks_the_email_lists_on_existing_users() {
    let app = TestApp::with(&[NO_VERIFY, "--block-email-domains=example.com"]).await;
    app.sql(
        "INSERT INTO auth.users (email, password_hash, locale) VALUES \
         ('b@example.com', '$2a$10$St2VAquMqPKuKWQnVVjvO.LAUwQt0LhDtj7ebiEFcIdETT7MuQCZy', 'en')",
    )
    .await;
    app.post(
        "/signin/email-password",
        json!({"email": "b@example.com", "password": "password"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
}

#[tokio::test]
async fn signin_accepts_upstream_bcrypt_hashes() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    // bcrypt("password", cost 10, $2a$) made by another implementation (OpenBSD-derived pyca/bcrypt).
    app.sql(
        "INSERT INTO auth.users (email, password_hash, locale, email_verified) VALUES \
         ('go@example.com', '$2a$10$St2VAquMqPKuKWQnVVjvO.LAUwQt0LhDtj7ebiEFcIdETT7MuQCZy', 'en', true)",
    )
    .await;
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "go@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn signin_with_active_totp_returns_an_mfa_ticket() {
    let app = TestApp::with(&[NO_VERIFY]).await;
    app.signup("m@example.com", "hunter22").await;
    app.sql("UPDATE auth.users SET active_mfa_type = 'totp', totp_secret = 'JBSWY3DPEHPK3PXP'")
        .await;
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "m@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("session").is_none());
    let ticket = r.body["mfa"]["ticket"].as_str().unwrap_or_default();
    assert!(ticket.starts_with("mfaTotp:"), "{ticket}");
}

#[tokio::test]
async fn conceal_errors_hides_account_state() {
    let app = TestApp::with(&[NO_VERIFY, "--conceal-errors=true"]).await;
    app.signup("c@example.com", "hunter22").await;
    app.post(
        "/signin/email-password",
        json!({"email": "c@example.com", "password": "wrong-one"}),
    )
    .await
    .assert_error(400, "invalid-request");
    // Non-sensitive errors are unchanged.
    app.post("/signup/email-password", json!({"email": "x@example.com", "password": "hunter22", "options": {"redirectTo": "https://evil.com"}}))
        .await
        .assert_error(400, "redirectTo-not-allowed");
}
