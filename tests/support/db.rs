//! One fresh PostgreSQL database per test, so tests run in parallel without sharing state.
//!
//! The server is found, in this order, through:
//! 1. `HASURA_AUTH_TEST_DATABASE_URL` (an admin connection URL, any database);
//! 2. `postgres://postgres@127.0.0.1:5432/postgres`, when it answers;
//! 3. a private cluster under `<target>/test-postgres/`, started from the installed
//!    `initdb`/`pg_ctl` (or reused when already running; it keeps running afterwards so
//!    the next test binary and the next `cargo test` reuse it).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hasura_auth::pg_cluster::{ClusterOptions, PrivateCluster};
use tokio::sync::OnceCell;

pub const TEST_DATABASE_ENV: &str = "HASURA_AUTH_TEST_DATABASE_URL";
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The admin URL of the PostgreSQL server the tests use (found once per test binary).
pub async fn admin_url() -> String {
    static URL: OnceCell<String> = OnceCell::const_new();
    URL.get_or_init(find_admin_url).await.clone()
}

async fn find_admin_url() -> String {
    if let Some(url) = std::env::var(TEST_DATABASE_ENV)
        .ok()
        .filter(|u| !u.is_empty())
    {
        return url;
    }
    if answers(DEFAULT_ADMIN_URL).await {
        return DEFAULT_ADMIN_URL.to_owned();
    }
    // Several test binaries may get here at once: PrivateCluster locks its folder.
    let cluster = PrivateCluster::start_with(test_cluster_dir(), ClusterOptions { durable: false })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "no PostgreSQL for the tests: {TEST_DATABASE_ENV} is unset, nothing answers at \
                 {DEFAULT_ADMIN_URL}, and a private cluster could not be started: {e}"
            )
        });
    cluster.url("postgres")
}

/// `<target>/test-postgres` (honours CARGO_TARGET_DIR).
fn test_cluster_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .map_or_else(|| tmp.clone(), PathBuf::from)
        .join("test-postgres")
}

async fn answers(url: &str) -> bool {
    let Ok(mut config) = url.parse::<tokio_postgres::Config>() else {
        return false;
    };
    config.connect_timeout(Duration::from_secs(1));
    match tokio::time::timeout(
        Duration::from_secs(2),
        config.connect(tokio_postgres::NoTls),
    )
    .await
    {
        Ok(Ok((client, conn))) => {
            drop(client);
            let _ = conn.await;
            true
        }
        _ => false,
    }
}

/// A database created for one test and dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    /// Creates an empty database (no schema, no migrations).
    pub async fn empty() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let admin_url = admin_url().await;
        let name = format!(
            "hat_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .get(..8)
                .unwrap_or("x")
        );
        let client = connect(&admin_url).await;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let url = with_database(&admin_url, &name);
        TestDb {
            name,
            url,
            admin_url,
        }
    }

    /// A client connected to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        connect(&self.url).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs outside async context guarantees; use a short-lived runtime on a thread.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to test PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    client
}

/// Replaces the database name in a `postgres://` URL.
pub fn with_database(url: &str, db: &str) -> String {
    let mut parsed = url::Url::parse(url).expect("admin URL must be a postgres:// URL");
    parsed.set_path(&format!("/{db}"));
    parsed.to_string()
}
