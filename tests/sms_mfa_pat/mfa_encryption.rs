//! `AUTH_ENCRYPTION_KEY` (Nhost Auth 0.43+): TOTP secrets stored encrypted as 0.52 stores
//! them, plain ones encrypted at start-up (also with two instances starting at once),
//! and a database whose encrypted secrets cannot be read refused at start-up.

use hasura_auth::config::Config;
use hasura_auth::domain::totp::TotpKey;
use hasura_auth::tokens::encryption::{SecretCipher, looks_encrypted};
use serde_json::json;
use uuid::Uuid;

use crate::common::{
    NO_VERIFY, query_one, quick_ticket, settle_in_step, totp_code, user_with_token,
};
use crate::support::app::TestApp;
use crate::support::db::TestDb;

const MFA: &str = "--mfa-enabled=true";
const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn key_flag(key: &str) -> String {
    format!("--encryption-key={key}")
}

fn cipher() -> SecretCipher {
    SecretCipher::from_hex(KEY).expect("key")
}

/// Builds the server state on `db` (migrating it) without serving; the error text on failure.
async fn start(db: &TestDb, extra: &[String]) -> Result<(), String> {
    let mut args = vec![
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
    ];
    args.extend(extra.iter().cloned());
    let config = Config::from_args(args).expect("parses");
    match hasura_auth::startup::build_state(config).await {
        Ok(state) => {
            state.db.close();
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A verified email user with TOTP active and `stored` as its `totp_secret`.
async fn insert_totp_user(db: &TestDb, email: &str, stored: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    let client = db.client().await;
    client
        .execute(
            "INSERT INTO auth.users (id, email, email_verified, locale, default_role, \
             totp_secret, active_mfa_type) VALUES ($1, $2::text::auth.email, true, 'en', 'user', $3, 'totp')",
            &[&id, &email, &stored],
        )
        .await
        .expect("insert user");
    client
        .execute(
            "INSERT INTO auth.user_roles (user_id, role) VALUES ($1, 'user')",
            &[&id],
        )
        .await
        .expect("insert role");
    id
}

async fn stored_secret(db: &TestDb, id: Uuid) -> Option<String> {
    db.client()
        .await
        .query_one("SELECT totp_secret FROM auth.users WHERE id = $1", &[&id])
        .await
        .expect("row")
        .get(0)
}

async fn signin_totp(app: &TestApp, user_id: Uuid, secret: &str) -> crate::support::app::Reply {
    let ticket = quick_ticket(app, user_id).await;
    app.post(
        "/signin/mfa/totp",
        json!({"ticket": ticket, "otp": totp_code(secret, 0)}),
    )
    .await
}

#[tokio::test]
async fn mfa_with_encryption_key_stores_the_secret_encrypted_and_it_works() {
    let app = TestApp::with(&[NO_VERIFY, MFA, &key_flag(KEY)]).await;
    let (user_id, token) = user_with_token(&app, "enc@example.com").await;
    let r = app.get_auth("/mfa/totp/generate", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.body["totpSecret"].as_str().expect("secret").to_owned();
    assert_eq!(secret.len(), 52, "the client still gets the base32 secret");

    let row = query_one(&app, "SELECT totp_secret FROM auth.users").await;
    let stored: String = row.get(0);
    assert_ne!(stored, secret);
    assert!(looks_encrypted(&stored), "{stored}");
    // 0.52's layout: hex of a 12-byte nonce, the ciphertext and a 16-byte tag.
    assert_eq!(stored.len(), 2 * (12 + secret.len() + 16));
    assert_eq!(cipher().decrypt(&stored).expect("decrypts"), secret);

    settle_in_step().await;
    let r = app
        .post_auth(
            "/user/mfa",
            &token,
            json!({"code": totp_code(&secret, 0), "activeMfaType": "totp"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(
            "/signin/mfa/totp",
            json!({"ticket": quick_ticket(&app, user_id).await, "otp": totp_code(&secret, 1)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.body["session"]["accessToken"].is_string());
    // A wrong code is still refused.
    let r = app
        .post(
            "/signin/mfa/totp",
            json!({"ticket": quick_ticket(&app, user_id).await, "otp": totp_code(&secret, 4)}),
        )
        .await;
    r.assert_error(401, "invalid-totp");
}

#[tokio::test]
async fn start_up_encrypts_plain_secrets_once_even_with_two_instances_at_once() {
    let db = TestDb::empty().await;
    start(&db, &[]).await.expect("migrates");
    let mut users = Vec::new();
    for i in 0..40 {
        let secret = TotpKey::generate_secret();
        let id = insert_totp_user(&db, &format!("u{i}@example.com"), Some(&secret)).await;
        users.push((id, secret));
    }
    // A legacy short secret (otplib, 16 characters), an empty one and none at all.
    let legacy = insert_totp_user(&db, "legacy@example.com", Some("JBSWY3DPEHPK3PXP")).await;
    let empty = insert_totp_user(&db, "empty@example.com", Some("")).await;
    let none = insert_totp_user(&db, "none@example.com", None).await;

    let flags = [key_flag(KEY)];
    let (a, b) = tokio::join!(start(&db, &flags), start(&db, &flags));
    a.expect("first instance starts");
    b.expect("second instance starts");

    let cipher = cipher();
    for (id, secret) in users
        .iter()
        .chain([&(legacy, "JBSWY3DPEHPK3PXP".to_owned())])
    {
        let stored = stored_secret(&db, *id).await.expect("secret kept");
        assert!(looks_encrypted(&stored), "{stored}");
        // Encrypted exactly once: decrypting gives the base32 secret, not another cipher text.
        assert_eq!(&cipher.decrypt(&stored).expect("decrypts"), secret);
    }
    assert_eq!(stored_secret(&db, empty).await.as_deref(), Some(""));
    assert_eq!(stored_secret(&db, none).await, None);

    // A later start has nothing left to encrypt and rewrites nothing.
    let before = stored_secret(&db, users[0].0).await;
    start(&db, &flags).await.expect("starts again");
    assert_eq!(stored_secret(&db, users[0].0).await, before);

    // The users sign in with the codes of their unchanged secrets.
    let (id, secret) = users[0].clone();
    let app = TestApp::with_db(db, &[NO_VERIFY, MFA, &key_flag(KEY)]).await;
    settle_in_step().await;
    let r = signin_totp(&app, id, &secret).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = signin_totp(&app, legacy, "JBSWY3DPEHPK3PXP").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn start_up_refuses_encrypted_secrets_it_cannot_read() {
    let db = TestDb::empty().await;
    start(&db, &[]).await.expect("migrates");
    let secret = TotpKey::generate_secret();
    let sealed = cipher().encrypt(&secret).expect("encrypts");
    let id = insert_totp_user(&db, "e@example.com", Some(&sealed)).await;

    let err = start(&db, &[]).await.expect_err("no key: refused");
    assert!(err.contains("AUTH_ENCRYPTION_KEY is not set"), "{err}");
    let err = start(&db, &[key_flag(&"ab".repeat(32))])
        .await
        .expect_err("another key: refused");
    assert!(err.contains("does not decrypt"), "{err}");
    for bad in ["not-hex", "abcd", &"ab".repeat(20)] {
        let err = start(&db, &[key_flag(bad)])
            .await
            .expect_err("malformed key: refused");
        assert!(err.contains("AUTH_ENCRYPTION_KEY must be hex"), "{err}");
        assert!(!err.contains(bad), "the key is not echoed: {err}");
    }
    assert_eq!(stored_secret(&db, id).await.as_deref(), Some(&*sealed));

    // With the right key (in upper case too) it starts and the secret works.
    let app = TestApp::with_db(db, &[NO_VERIFY, MFA, &key_flag(&KEY.to_uppercase())]).await;
    settle_in_step().await;
    let r = signin_totp(&app, id, &secret).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn without_a_key_a_plain_database_starts_and_secrets_stay_plain() {
    let app = TestApp::with(&[NO_VERIFY, MFA]).await;
    let (_, token) = user_with_token(&app, "plain@example.com").await;
    let r = app.get_auth("/mfa/totp/generate", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let row = query_one(&app, "SELECT totp_secret FROM auth.users").await;
    assert_eq!(
        row.get::<_, String>(0),
        r.body["totpSecret"].as_str().unwrap()
    );
}
