//! A database that upstream hasura-auth left at version 18, or Nhost Auth 0.52 at version
//! 27, is served unchanged: its users sign in with their passwords and refresh their
//! existing tokens, and the schema stays at the level it was found at.

use serde_json::json;

use crate::support::app::TestApp;
use crate::support::db::TestDb;

const V18: &str = include_str!("../fixtures/upstream/v18.sql");
const V27: &str = include_str!("../fixtures/upstream/v27.sql");
const ALICE_TOKEN: &str = "c0000000-0000-4000-8000-000000000001";
const ANONYMOUS_TOKEN: &str = "9d2f0c1e-3b7a-4e55-8c1d-2a6b7e9f0a11";

async fn upstream_v18_app() -> TestApp {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(V18)
        .await
        .expect("load upstream v18 fixture");
    TestApp::with_db(db, &["--default-allowed-roles=me,user,editor"]).await
}

#[tokio::test]
async fn upstream_users_sign_in_with_their_existing_passwords() {
    let app = upstream_v18_app().await;
    // Alice has TOTP active upstream: the password is accepted and MFA is asked for.
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "ALICE@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.body["mfa"]["ticket"]
            .as_str()
            .is_some_and(|t| t.starts_with("mfaTotp:"))
    );
    app.sql("UPDATE auth.users SET active_mfa_type = NULL WHERE email = 'alice@example.com'")
        .await;
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "alice@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["id"], "11111111-1111-4111-8111-111111111111");
    assert_eq!(user["metadata"], json!({"plan": "pro", "tags": ["a", "b"]}));
    assert_eq!(user["roles"], json!(["user", "me", "editor"]));
    app.post(
        "/signin/email-password",
        json!({"email": "alice@example.com", "password": "nope-nope"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
}

#[tokio::test]
async fn upstream_refresh_tokens_keep_working_and_keep_their_row_id() {
    let app = upstream_v18_app().await;
    let r = app
        .post("/token", json!({"refreshToken": ALICE_TOKEN}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["refreshTokenId"], ALICE_TOKEN);
    assert_eq!(r.body["user"]["email"], "alice@example.com");
    // Upstream's anonymous session refreshes too (verification is required by default).
    let r = app
        .post("/token", json!({"refreshToken": ANONYMOUS_TOKEN}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["isAnonymous"], true);
    // The PAT stays a PAT.
    app.post(
        "/token",
        json!({"refreshToken": "4c0b0a7e-62c3-4f0a-9ab9-5b0d2f51c2d1"}),
    )
    .await
    .assert_error(401, "invalid-refresh-token");
}

#[tokio::test]
async fn upstream_data_is_untouched_by_start_up() {
    let app = upstream_v18_app().await;
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM auth.users), (SELECT count(*) FROM auth.refresh_tokens), \
             (SELECT count(*) FROM auth.user_providers), (SELECT count(*) FROM auth.user_security_keys), \
             (SELECT version FROM auth.schema_migrations), (SELECT dirty FROM auth.schema_migrations)",
            &[],
        )
        .await
        .expect("counts");
    assert_eq!(row.get::<_, i64>(0), 3);
    assert_eq!(row.get::<_, i64>(1), 3);
    assert_eq!(row.get::<_, i64>(2), 5);
    assert_eq!(row.get::<_, i64>(3), 2);
    assert_eq!(row.get::<_, i64>(4), 18);
    assert!(!row.get::<_, bool>(5));
    // The configured roles were upserted next to upstream's.
    let roles: Vec<String> = db
        .query("SELECT role FROM auth.roles ORDER BY role", &[])
        .await
        .expect("roles")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(roles, ["anonymous", "editor", "me", "user"]);
}

#[tokio::test]
async fn two_instances_starting_on_one_empty_database_both_come_up() {
    let db = TestDb::empty().await;
    let url = db.url.clone();
    let start = |url: String| async move {
        let config = hasura_auth::config::Config::from_args([
            "hasura-auth".to_owned(),
            format!("--postgres={url}"),
            format!(
                "--hasura-graphql-jwt-secret={}",
                crate::support::app::HS256_SECRET
            ),
            "--default-allowed-roles=me,user,tester".to_owned(),
        ])
        .expect("config");
        hasura_auth::startup::build_state(config)
            .await
            .map(|s| s.db.close())
    };
    let (a, b) = tokio::join!(start(url.clone()), start(url));
    assert!(a.is_ok() && b.is_ok(), "{a:?} {b:?}");
    let n: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM auth.migrations", &[])
        .await
        .expect("ledger")
        .get(0);
    assert_eq!(n, 27, "each migration applied once");
}

async fn nhost_v27_app() -> TestApp {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(V27)
        .await
        .expect("load Nhost 0.52 fixture");
    TestApp::with_db(db, &["--default-allowed-roles=me,user,editor"]).await
}

#[tokio::test]
async fn nhost_0_52_users_sign_in_and_refresh_their_sessions() {
    let app = nhost_v27_app().await;
    app.sql("UPDATE auth.users SET active_mfa_type = NULL WHERE email = 'alice@example.com'")
        .await;
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "alice@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["id"], "11111111-1111-4111-8111-111111111111");
    // 0.52 stores three-letter locales; they come back as they are.
    assert_eq!(user["locale"], "fil");
    let refresh = r.body["session"]["refreshToken"]
        .as_str()
        .expect("refresh token")
        .to_owned();
    let r = app.post("/token", json!({"refreshToken": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A session 0.52 (or v0.42 before it) issued keeps working.
    let r = app
        .post("/token", json!({"refreshToken": ALICE_TOKEN}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["refreshTokenId"], ALICE_TOKEN);
    let r = app
        .post("/token", json!({"refreshToken": ANONYMOUS_TOKEN}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["user"]["isAnonymous"], true);
}

#[tokio::test]
async fn nhost_0_52_rows_are_untouched_by_start_up_and_sign_up() {
    let app = nhost_v27_app().await;
    // A new user on a 0.52 database gets 0.52's defaults.
    app.signup("new@example.com", "a-long-password").await;
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT (SELECT version FROM auth.schema_migrations),
                    (SELECT count(*) FROM auth.schema_migrations),
                    to_regclass('auth.migrations') IS NULL,
                    (SELECT otp_attempts FROM auth.users WHERE email = 'alice@example.com'),
                    (SELECT new_phone_number FROM auth.users WHERE id = '44444444-4444-4444-8444-444444444444'),
                    (SELECT phone_number IS NULL FROM auth.users WHERE id = '44444444-4444-4444-8444-444444444444'),
                    (SELECT pending_sms_deanonymize_options->>'display_name' FROM auth.users
                      WHERE id = '22222222-2222-4222-8222-222222222222'),
                    (SELECT count(*) FROM auth.pkce_authorization_codes),
                    (SELECT count(*) FROM auth.oauth2_clients),
                    (SELECT count(*) FROM auth.oauth2_refresh_tokens),
                    (SELECT otp_attempts FROM auth.users WHERE email = 'new@example.com'),
                    (SELECT locale FROM auth.users WHERE email = 'new@example.com')",
            &[],
        )
        .await
        .expect("rows");
    assert_eq!(row.get::<_, i64>(0), 27);
    assert_eq!(row.get::<_, i64>(1), 1);
    assert!(row.get::<_, bool>(2), "no Node-era ledger was created");
    assert_eq!(row.get::<_, i16>(3), 2);
    assert_eq!(
        row.get::<_, Option<String>>(4).as_deref(),
        Some("+33611111111")
    );
    assert!(row.get::<_, bool>(5));
    assert_eq!(row.get::<_, Option<String>>(6).as_deref(), Some("Anon"));
    assert_eq!(row.get::<_, i64>(7), 1);
    assert_eq!(row.get::<_, i64>(8), 1);
    assert_eq!(row.get::<_, i64>(9), 1);
    assert_eq!(row.get::<_, i16>(10), 0);
    assert_eq!(row.get::<_, String>(11), "en");
}

#[tokio::test]
async fn a_v18_database_stays_at_18_after_sign_ups_and_sign_ins() {
    let app = upstream_v18_app().await;
    app.signup("new@example.com", "a-long-password").await;
    let r = app
        .post(
            "/signin/email-password",
            json!({"email": "alice@example.com", "password": "password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let db = app.db.client().await;
    let row = db
        .query_one(
            "SELECT (SELECT version FROM auth.schema_migrations),
                    to_regclass('auth.pkce_authorization_codes') IS NULL,
                    (SELECT count(*) FROM information_schema.columns
                      WHERE table_schema = 'auth' AND table_name = 'users' AND column_name = 'otp_attempts')",
            &[],
        )
        .await
        .expect("level");
    assert_eq!(row.get::<_, i64>(0), 18);
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, i64>(2), 0);
}
