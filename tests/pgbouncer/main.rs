//! The service through PgBouncer in transaction mode (`AUTH_POSTGRES_TRANSACTION_POOLER`),
//! issue 15 item 2: the core flows, many at once over two server connections, and the
//! start-up rule that migrations need a direct URL.
//!
//! A test binary of its own: the statement mode is process-wide, and every server started
//! here runs in the unnamed mode.

#[path = "../support/mod.rs"]
mod support;

use serde_json::json;

use support::app::TestApp;
use support::db::TestDb;
use support::pgbouncer::PgBouncer;

const NO_VERIFY: &str = "--email-verification-required=false";

/// A server whose pool goes through a private PgBouncer; migrations go direct.
async fn app_through_pgbouncer(extra: &[&str]) -> Option<(TestApp, PgBouncer)> {
    let db = TestDb::empty().await;
    let bouncer = PgBouncer::start(&db.url).await?;
    let pooled = format!("--postgres={}", bouncer.url_for(&db.url));
    let direct = format!("--postgres-migrations={}", db.url);
    let mut args = vec![
        pooled.as_str(),
        direct.as_str(),
        "--postgres-transaction-pooler=true",
        NO_VERIFY,
    ];
    args.extend_from_slice(extra);
    let app = TestApp::with_db(db, &args).await;
    Some((app, bouncer))
}

#[tokio::test]
async fn pgbouncer_transaction_mode_core_flows_work() {
    let Some((app, bouncer)) = app_through_pgbouncer(&[]).await else {
        return;
    };
    // Sign-up (a transaction), sign-in, /user, /token (rotation), sign-out.
    let s = app.signup("pool@example.com", "hunter22").await;
    let signin = app
        .post(
            "/signin/email-password",
            json!({"email": "pool@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(signin.status, 200, "{}\n{}", signin.text, bouncer.log());
    let session = &signin.body["session"];
    let access = session["accessToken"].as_str().unwrap();
    let user = app.get_auth("/user", access).await;
    assert_eq!(user.status, 200, "{}", user.text);
    assert_eq!(user.body["email"], "pool@example.com");

    let mut refresh = session["refreshToken"].clone();
    for _ in 0..5 {
        let r = app.post("/token", json!({"refreshToken": refresh})).await;
        assert_eq!(r.status, 200, "{}\n{}", r.text, bouncer.log());
        assert_ne!(r.body["refreshToken"], refresh, "rotated");
        refresh = r.body["refreshToken"].clone();
    }
    let r = app.post("/signout", json!({"refreshToken": refresh})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post("/token", json!({"refreshToken": refresh}))
        .await
        .assert_error(401, "invalid-refresh-token");
    // The first session was not signed out.
    let r = app
        .post("/token", json!({"refreshToken": s["refreshToken"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Wrong password and unknown user: errors, not database failures.
    app.post(
        "/signin/email-password",
        json!({"email": "pool@example.com", "password": "wrong-one"}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    // A duplicate sign-up is still told apart from a database error.
    app.post(
        "/signup/email-password",
        json!({"email": "pool@example.com", "password": "hunter22"}),
    )
    .await
    .assert_error(409, "email-already-in-use");
}

#[tokio::test]
async fn pgbouncer_transaction_mode_survives_many_clients_on_two_server_connections() {
    let Some((app, bouncer)) = app_through_pgbouncer(&[]).await else {
        return;
    };
    // 16 users signing up, in, refreshing and reading /user at once: the service's pool
    // (16 connections) shares PgBouncer's 2 server connections, so statements of one
    // client connection run on both.
    let mut flows = Vec::new();
    for i in 0..16 {
        let app = &app;
        flows.push(async move {
            let email = format!("u{i}@example.com");
            let s = app.signup(&email, "hunter22").await;
            let mut refresh = s["refreshToken"].clone();
            for _ in 0..3 {
                let r = app.post("/token", json!({"refreshToken": refresh})).await;
                assert_eq!(r.status, 200, "{}", r.text);
                refresh = r.body["refreshToken"].clone();
                let access = r.body["accessToken"].as_str().unwrap().to_owned();
                let u = app.get_auth("/user", &access).await;
                assert_eq!(u.status, 200, "{}", u.text);
                assert_eq!(u.body["email"], email.as_str());
            }
        });
    }
    futures_util::future::join_all(flows).await;
    assert!(
        !bouncer.log().contains("prepared statement"),
        "{}",
        bouncer.log()
    );
}

#[tokio::test]
async fn pgbouncer_transaction_pooler_without_a_direct_migrations_url_is_refused() {
    let db = TestDb::empty().await;
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth",
        &format!("--postgres={}", db.url),
        "--postgres-transaction-pooler=true",
        &format!("--hasura-graphql-jwt-secret={}", support::app::HS256_SECRET),
    ])
    .expect("parses");
    let Err(err) = hasura_auth::startup::build_state(config).await else {
        panic!("start-up must refuse");
    };
    let err = err.to_string();
    assert!(err.contains("POSTGRES_MIGRATIONS_CONNECTION"), "{err}");
}
