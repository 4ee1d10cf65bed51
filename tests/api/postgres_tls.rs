//! `sslmode` in the database URL behaves as in libpq and upstream (pgx).

use crate::support::app::{HS256_SECRET, TestApp};
use crate::support::db::TestDb;

/// Whether the test server has TLS on; when it has not, the test fails under CI and is
/// skipped with a note elsewhere (`support::tools`). Debian's PostgreSQL, which `.ci/run`
/// starts, has `ssl = on` with the snakeoil certificate.
async fn server_has_tls() -> bool {
    let db = TestDb::empty().await;
    let on: String = db
        .client()
        .await
        .query_one("SHOW ssl", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or_default();
    crate::support::tools::require(
        (on == "on").then_some(()),
        "the test PostgreSQL has ssl=off (Debian's cluster has it on)",
    )
    .is_some()
}

#[tokio::test]
async fn sslmode_require_encrypts_the_connections() {
    if !server_has_tls().await {
        return;
    }
    let db = TestDb::empty().await;
    let url = format!("{}?sslmode=require", db.url);
    let app = TestApp::with_db(db, &[&format!("--postgres={url}")]).await;
    let client = app.state.db.get().await.expect("pooled connection");
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0);
    assert!(ssl, "the pool's connections use TLS");
    assert_eq!(app.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn sslmode_verify_full_refuses_an_untrusted_certificate() {
    if !server_has_tls().await {
        return;
    }
    let db = TestDb::empty().await;
    // The test server's certificate is self-signed (Debian's snakeoil): not trusted.
    let url = format!("{}?sslmode=verify-full", db.url);
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={url}"),
        format!("--hasura-graphql-jwt-secret={HS256_SECRET}"),
    ])
    .expect("config");
    let err = hasura_auth::startup::build_state(config)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}
