//! Helpers shared by this binary's tests.

use hasura_auth::domain::totp::TotpKey;
use hasura_auth::tokens::AccessClaims;
use serde_json::json;
use uuid::Uuid;

use crate::support::app::TestApp;

pub const NO_VERIFY: &str = "--email-verification-required=false";

/// Signs up with email and password and returns (user id, access token).
pub async fn user_with_token(app: &TestApp, email: &str) -> (Uuid, String) {
    let s = app.signup(email, "hunter22").await;
    let id = Uuid::parse_str(s["user"]["id"].as_str().expect("user id")).expect("uuid");
    (id, s["accessToken"].as_str().expect("token").to_owned())
}

/// An access token for `user_id`, elevated or not, signed with the server's key.
pub fn token_for(app: &TestApp, user_id: Uuid, elevated: bool) -> String {
    let roles = vec!["me".to_owned(), "user".to_owned()];
    app.state
        .jwt
        .sign(
            &AccessClaims {
                user_id,
                allowed_roles: &roles,
                default_role: "user",
                is_anonymous: false,
                extra: &[],
                elevated,
            },
            900,
        )
        .expect("sign")
}

pub async fn add_security_key(app: &TestApp, user_id: Uuid) {
    app.sql(&format!(
        "INSERT INTO auth.user_security_keys (user_id, credential_id, nickname) \
         VALUES ('{user_id}', 'cred-{user_id}', 'key')"
    ))
    .await;
}

pub async fn query_one(app: &TestApp, sql: &str) -> tokio_postgres::Row {
    app.db
        .client()
        .await
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

pub fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
}

/// Waits until at least 5 s remain in the current 30-s step, so a code computed now is
/// checked by the server within the same step.
pub async fn settle_in_step() {
    let left = 30 - now_unix() % 30;
    if left < 5 {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
}

/// The code of `secret` for the step `offset` steps away from now.
pub fn totp_code(secret: &str, offset: i64) -> String {
    let key = TotpKey::from_secret(secret).expect("secret");
    key.code_at(now_unix().saturating_add_signed(offset * 30))
}

/// Password sign-in that must end in an MFA challenge; returns the ticket.
pub async fn mfa_ticket(app: &TestApp, email: &str) -> String {
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": email, "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body.get("session").is_none(), "{}", r.text);
    r.body["mfa"]["ticket"]
        .as_str()
        .expect("mfa ticket")
        .to_owned()
}

/// An MFA ticket stored the way a password sign-in stores it, without the (slow in
/// debug builds) bcrypt check, so TOTP checks run well within one 30-s step.
pub async fn quick_ticket(app: &TestApp, user_id: Uuid) -> String {
    use hasura_auth::service::tickets::{TicketKind, issue};
    let t = issue(TicketKind::MfaTotp);
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{}', ticket_expires_at = now() + interval '5 minutes' \
         WHERE id = '{user_id}'",
        t.stored
    ))
    .await;
    t.value
}
