//! Taking over a database Nhost Auth 0.52 wrote (ledger 27, TOTP secrets encrypted with
//! `AUTH_ENCRYPTION_KEY`) and handing it back. Leg 1: each kind of 0.52 row keeps working
//! with us. Leg 2: what we write is found by the SQL 0.52 runs
//! (`services/auth/go/sql/query.sql` @008175f9) and decrypted the way 0.52 decrypts.
//! Password change revokes sessions as 0.50.1 does (reference §2.6, §4.6).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hasura_auth::domain::totp::TotpKey;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::support::app::{CLIENT_URL, TestApp};
use crate::support::db::TestDb;

const V18: &str = include_str!("../fixtures/upstream/v18.sql");
const V27: &str = include_str!("../fixtures/upstream/v27.sql");
const V27_ENCRYPTED: &str = include_str!("../fixtures/upstream/v27_encrypted.sql");
const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const ALICE: &str = "11111111-1111-4111-8111-111111111111";
const ALICE_SECRET: &str = "JBSWY3DPEHPK3PXP";
const ALICE_SESSION: &str = "c0000000-0000-4000-8000-000000000001";
const ALICE_PAT: &str = "5d1e7c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6";
/// RFC 7636 appendix B: the verifier of v27.sql's PKCE code challenge.
const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn nhost_052_db() -> TestDb {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client.batch_execute(V27).await.expect("load 0.52 fixture");
    client
        .batch_execute(V27_ENCRYPTED)
        .await
        .expect("load 0.52 encrypted rows");
    db
}

fn key_flag() -> String {
    format!("--encryption-key={KEY}")
}

async fn nhost_052_app(extra: &[&str]) -> TestApp {
    let key = key_flag();
    let mut args = vec![
        "--default-allowed-roles=me,user,editor",
        "--email-verification-required=false",
        "--mfa-enabled=true",
        key.as_str(),
    ];
    args.extend_from_slice(extra);
    TestApp::with_db(nhost_052_db().await, &args).await
}

/// `\x` + hex SHA-256: 0.52's `refresh_token_hash` of a refresh token or PAT.
fn token_hash(token: &str) -> String {
    format!("\\x{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// What 0.52's `crypto.Decrypt` does, written here independently of the service's code.
fn decrypt_as_nhost(stored: &str) -> String {
    let bytes = hex::decode(stored).expect("hex");
    let (nonce, sealed) = bytes.split_at(12);
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &hex::decode(KEY).expect("key")).expect("key"),
    );
    let mut sealed = sealed.to_vec();
    let plain = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).expect("nonce"),
            Aad::empty(),
            &mut sealed,
        )
        .expect("0.52 decrypts it");
    String::from_utf8(plain.to_vec()).expect("utf-8")
}

fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).expect("after 1970")
}

#[tokio::test]
async fn nhost_0_52_database_with_encrypted_totp_needs_the_key_to_start() {
    let db = nhost_052_db().await;
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
    ])
    .expect("parses");
    let err = match hasura_auth::startup::build_state(config).await {
        Ok(_) => panic!("start-up without AUTH_ENCRYPTION_KEY must fail"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("AUTH_ENCRYPTION_KEY is not set"), "{err}");
}

#[tokio::test]
async fn nhost_0_52_totp_with_an_encrypted_secret_completes_mfa_sign_in() {
    let app = nhost_052_app(&[]).await;
    let stored_before: String = app
        .db
        .client()
        .await
        .query_one(
            "SELECT totp_secret FROM auth.users WHERE id = $1",
            &[&Uuid::parse_str(ALICE).unwrap()],
        )
        .await
        .expect("row")
        .get(0);
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "alice@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ticket = r.body["mfa"]["ticket"].as_str().expect("mfa ticket");
    let key = TotpKey::from_secret(ALICE_SECRET).expect("secret");
    let r = app
        .post(
            "/signin/mfa/totp",
            json!({"ticket": ticket, "otp": key.code_at(now_unix())}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], ALICE);
    // The secret 0.52 encrypted is left as it was (no re-encryption at our start-up).
    let stored_after: String = app
        .db
        .client()
        .await
        .query_one(
            "SELECT totp_secret FROM auth.users WHERE id = $1",
            &[&Uuid::parse_str(ALICE).unwrap()],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(stored_after, stored_before);
}

#[tokio::test]
async fn nhost_0_52_pat_pkce_code_and_passkey_keep_working() {
    let app = nhost_052_app(&["--webauthn-enabled=true"]).await;
    // The PAT 0.52 issued.
    let r = app
        .post("/signin/pat", json!({"personalAccessToken": ALICE_PAT}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], ALICE);

    // The PKCE code 0.52 stored: a wrong verifier does not burn it, the right one works once.
    let wrong = URL_SAFE_NO_PAD.encode([7u8; 32]);
    app.post(
        "/token/exchange",
        json!({"code": "pkce-code-1", "codeVerifier": wrong}),
    )
    .await
    .assert_error(400, "invalid-request");
    let r = app
        .post(
            "/token/exchange",
            json!({"code": "pkce-code-1", "codeVerifier": RFC_VERIFIER}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], ALICE);
    app.post(
        "/token/exchange",
        json!({"code": "pkce-code-1", "codeVerifier": RFC_VERIFIER}),
    )
    .await
    .assert_error(400, "invalid-request");

    // The security keys 0.52 stored are offered to the WebAuthn sign-in.
    let r = app
        .post("/signin/webauthn", json!({"email": "alice@example.com"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: Vec<&str> = r.body["allowCredentials"]
        .as_array()
        .expect("allowCredentials")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["AQIDBAUGBwgJCgsMDQ4PEA"], "{}", r.text);
}

#[tokio::test]
async fn what_we_write_on_a_0_52_database_is_read_by_0_52s_queries() {
    let app = nhost_052_app(&[]).await;
    let db = app.db.client().await;

    // A user signed up by us: 0.52's GetUserByRefreshTokenHash and GetUserRoles find it.
    let s = app.signup("carol@example.com", "carol-password-1").await;
    let carol = Uuid::parse_str(s["user"]["id"].as_str().expect("id")).expect("uuid");
    let token = s["accessToken"].as_str().expect("token").to_owned();
    let refresh = s["refreshToken"].as_str().expect("refresh").to_owned();
    let row = db
        .query_one(
            "WITH refresh_token AS (SELECT * FROM auth.refresh_tokens \
               WHERE refresh_token_hash = $1 AND type = $2 AND expires_at > now() LIMIT 1) \
             SELECT id, locale, default_role, password_hash LIKE '$2%' FROM auth.users \
             WHERE id = (SELECT user_id FROM refresh_token) LIMIT 1",
            &[&token_hash(&refresh), &"regular"],
        )
        .await
        .expect("0.52 finds the session's user");
    assert_eq!(row.get::<_, Uuid>(0), carol);
    assert_eq!(row.get::<_, String>(1), "en");
    assert_eq!(row.get::<_, String>(2), "user");
    assert!(row.get::<_, bool>(3), "a bcrypt hash 0.52 verifies");
    let roles: Vec<String> = db
        .query(
            "SELECT role FROM auth.user_roles WHERE user_id = $1 ORDER BY role",
            &[&carol],
        )
        .await
        .expect("roles")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(roles, ["editor", "me", "user"]);

    // A TOTP secret generated by us: encrypted as 0.52 expects, and not "unencrypted"
    // by 0.52's own test (GetUsersWithUnencryptedTOTPSecret).
    let r = app.get_auth("/mfa/totp/generate", &token).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let secret = r.body["totpSecret"].as_str().expect("secret");
    let stored: String = db
        .query_one(
            "SELECT totp_secret FROM auth.users WHERE id = $1",
            &[&carol],
        )
        .await
        .expect("row")
        .get(0);
    assert_eq!(decrypt_as_nhost(&stored), secret);
    let plain: i64 = db
        .query_one(
            "SELECT count(*) FROM auth.users WHERE LENGTH(totp_secret) < 64",
            &[],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(plain, 0);

    // A PAT made by us: 0.52's GetUserByRefreshTokenHash with type 'pat'.
    let r = app
        .post_auth(
            "/pat",
            &token,
            json!({"expiresAt": "2099-01-01T00:00:00Z", "metadata": {"name": "ours"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let pat = r.body["personalAccessToken"].as_str().expect("pat");
    let found: Uuid = db
        .query_one(
            "WITH refresh_token AS (SELECT * FROM auth.refresh_tokens \
               WHERE refresh_token_hash = $1 AND type = $2 AND expires_at > now() LIMIT 1) \
             SELECT id FROM auth.users WHERE id = (SELECT user_id FROM refresh_token) LIMIT 1",
            &[&token_hash(pat), &"pat"],
        )
        .await
        .expect("0.52 finds the PAT's user")
        .get(0);
    assert_eq!(found, carol);

    // A PKCE code issued by us (a magic link opened with a challenge): 0.52's
    // ConsumePKCEAuthorizationCode (hash of the code and the S256 challenge) takes it.
    use hasura_auth::service::tickets::{TicketKind, issue};
    let ticket = issue(TicketKind::PasswordlessEmail);
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{}', ticket_expires_at = now() + interval '1 hour' \
         WHERE id = '{carol}'",
        ticket.stored
    ))
    .await;
    let verifier = URL_SAFE_NO_PAD.encode([42u8; 32]);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let link = format!(
        "/verify?ticket={}&type=signinPasswordless&redirectTo={}&codeChallenge={challenge}",
        ticket.value,
        url::form_urlencoded::byte_serialize(CLIENT_URL.as_bytes()).collect::<String>()
    );
    let res = app.http.get(app.url(&link)).send().await.expect("verify");
    assert_eq!(res.status(), 302);
    let location =
        url::Url::parse(res.headers()["location"].to_str().expect("location")).expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code in the redirect");
    let row = db
        .query_one(
            "DELETE FROM auth.pkce_authorization_codes \
             WHERE code_hash = $1 AND code_challenge = $2 AND expires_at > now() \
             RETURNING user_id, expires_at - created_at <= interval '5 minutes'",
            &[&hex::encode(Sha256::digest(code.as_bytes())), &challenge],
        )
        .await
        .expect("0.52 consumes the code");
    assert_eq!(row.get::<_, Uuid>(0), carol);
    assert!(row.get::<_, bool>(1), "a 5-minute code");
}

#[tokio::test]
async fn password_change_revokes_sessions_and_oauth2_tokens_but_keeps_pats() {
    let app = nhost_052_app(&[]).await;
    let alice = Uuid::parse_str(ALICE).unwrap();
    let r = app
        .post("/signin/pat", json!({"personalAccessToken": ALICE_PAT}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.body["session"]["accessToken"].as_str().expect("token");
    let r = app
        .post_auth(
            "/user/password",
            token,
            json!({"newPassword": "a-brand-new-pw"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular'), \
                    (SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'pat'), \
                    (SELECT count(*) FROM auth.oauth2_refresh_tokens WHERE user_id = $1), \
                    (SELECT count(*) FROM auth.refresh_tokens WHERE user_id <> $1)",
            &[&alice],
        )
        .await
        .expect("counts");
    assert_eq!(row.get::<_, i64>(0), 0, "every session of Alice ended");
    assert_eq!(row.get::<_, i64>(1), 2, "her PATs are kept");
    assert_eq!(
        row.get::<_, i64>(2),
        0,
        "her OAuth2 refresh tokens are revoked"
    );
    assert_eq!(row.get::<_, i64>(3), 1, "others' sessions are untouched");
    app.post("/token", json!({"refreshToken": ALICE_SESSION}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let r = app
        .post("/signin/pat", json!({"personalAccessToken": ALICE_PAT}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn password_change_by_reset_ticket_on_a_v18_database_revokes_sessions() {
    let db = TestDb::empty().await;
    db.client().await.batch_execute(V18).await.expect("v18");
    let app = TestApp::with_db(db, &["--default-allowed-roles=me,user,editor"]).await;
    use hasura_auth::service::tickets::{TicketKind, issue};
    let ticket = issue(TicketKind::PasswordReset);
    app.sql(&format!(
        "UPDATE auth.users SET ticket = '{}', ticket_expires_at = now() + interval '1 hour' \
         WHERE id = '{ALICE}'",
        ticket.stored
    ))
    .await;
    let r = app
        .post(
            "/user/password",
            json!({"newPassword": "a-brand-new-pw", "ticket": ticket.value}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post("/token", json!({"refreshToken": ALICE_SESSION}))
        .await
        .assert_error(401, "invalid-refresh-token");
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular'), \
                    (SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'pat'), \
                    (SELECT version FROM auth.schema_migrations)",
            &[&Uuid::parse_str(ALICE).unwrap()],
        )
        .await
        .expect("counts");
    assert_eq!(row.get::<_, i64>(0), 0);
    assert_eq!(row.get::<_, i64>(1), 1, "the PAT is kept");
    assert_eq!(row.get::<_, i64>(2), 18);
}

/// Nhost Auth 0.45: locales of 3 characters (migration 19, `varchar(3)`).
#[tokio::test]
async fn three_letter_locales_are_stored_from_level_19() {
    let app = TestApp::with(&[
        "--email-verification-required=false",
        "--allowed-locales=en,fil",
        "--enable-anonymous-users=true",
    ])
    .await;
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "f@example.com", "password": "a-long-password",
                   "options": {"locale": "fil"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["locale"], "fil");
    // Not allowed: the default, silently (as upstream); more than 3: refused.
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "h@example.com", "password": "a-long-password",
                   "options": {"locale": "haw"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["locale"], "en");
    app.post(
        "/signup/email-password",
        json!({"email": "x@example.com", "password": "a-long-password",
               "options": {"locale": "engl"}}),
    )
    .await
    .assert_error(400, "invalid-request");
    let r = app
        .post("/signin/anonymous", json!({"locale": "fil"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["locale"], "fil");
}

/// A database kept at 18 stores 2 characters: a 3-letter allowed locale stops start-up
/// with what to do, instead of failing every sign-up that picks it.
#[tokio::test]
async fn three_letter_locales_on_a_v18_database_stop_start_up() {
    let db = TestDb::empty().await;
    db.client().await.batch_execute(V18).await.expect("v18");
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
        "--allowed-locales=en,fil".to_owned(),
    ])
    .expect("parses");
    let err = match hasura_auth::startup::build_state(config).await {
        Ok(_) => panic!("start-up must fail"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("\"fil\"") && err.contains("AUTH_MIGRATE_TO_LATEST"),
        "{err}"
    );
}
