//! Development mode (`prepare`) and the private PostgreSQL cluster it starts
//! (`pg_cluster`).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use hasura_auth::config::Config;
use hasura_auth::devmode::{self, DevModeError, DevOptions, JWT_SECRET_FILE};
use hasura_auth::pg_cluster::{ClusterError, ClusterOptions, PrivateCluster};

/// A fresh folder under the target directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("devmode-{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A configuration as the binary would parse it with no flags, ignoring the environment
/// for the settings under test.
fn bare_config() -> Config {
    let mut config = Config::from_args(["hasura-auth"]).expect("parse defaults");
    config.database.postgres = None;
    config.jwt.jwt_secret = None;
    config.server.server_url = String::new();
    config.client.client_url = String::new();
    config
}

/// A URL where nothing listens (a port just released).
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("postgres://postgres:postgres@127.0.0.1:{port}/local?sslmode=disable")
}

fn options(dir: &TempDir) -> DevOptions {
    DevOptions {
        dir: dir.0.join(".hasura-auth-dev"),
        probe_url: dead_url(),
        probe_timeout: Duration::from_secs(1),
    }
}

/// `None` when the PostgreSQL server programs are not installed: the test then fails
/// under CI and is skipped with a note elsewhere (`support::tools`).
fn installed<T, E: Into<DevModeError>>(result: Result<T, E>) -> Option<Result<T, DevModeError>> {
    match result.map_err(Into::into) {
        Err(DevModeError::Cluster(ClusterError::PostgresNotInstalled)) => support::tools::require(
            None,
            "the PostgreSQL server programs (initdb, pg_ctl) are not installed \
             (install Debian's `postgresql`)",
        ),
        other => Some(other),
    }
}

async fn select_one(url: &str) -> Result<i32, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client.query_one("SELECT 1", &[]).await.map(|r| r.get(0))
}

#[tokio::test]
async fn private_cluster_starts_is_reused_stops_and_restarts() {
    let tmp = TempDir::new("cluster");
    let dir = tmp.0.join("pg");
    let fast = ClusterOptions { durable: false };

    let Some(cluster) = installed(PrivateCluster::start_with(&dir, fast).await) else {
        return;
    };
    let cluster = cluster.expect("start");
    assert!(!cluster.reused());
    assert!(cluster.data_dir().join("PG_VERSION").exists());
    assert_eq!(select_one(&cluster.url("postgres")).await.unwrap(), 1);
    cluster
        .ensure_database("app")
        .await
        .expect("create database");
    cluster
        .ensure_database("app")
        .await
        .expect("existing database is fine");
    assert_eq!(select_one(&cluster.url("app")).await.unwrap(), 1);

    // A second start on the same folder finds the running server.
    let again = PrivateCluster::start_with(&dir, fast).await.expect("reuse");
    assert!(again.reused());
    assert_eq!(again.port(), cluster.port());
    assert_eq!(again.url("app"), cluster.url("app"));

    cluster.stop().await.expect("stop");
    assert!(!cluster.is_running().await.unwrap());
    assert!(select_one(&cluster.url("postgres")).await.is_err());
    again
        .stop()
        .await
        .expect("stopping a stopped cluster is fine");

    // Starting again keeps the data (no new initdb).
    let restarted = PrivateCluster::start_with(&dir, fast)
        .await
        .expect("restart");
    assert!(!restarted.reused());
    assert_eq!(select_one(&restarted.url("app")).await.unwrap(), 1);
    restarted.stop().await.expect("stop");
}

#[tokio::test]
async fn concurrent_starts_share_one_cluster() {
    let tmp = TempDir::new("concurrent");
    let dir = tmp.0.join("pg");
    let fast = ClusterOptions { durable: false };
    let (a, b) = tokio::join!(
        PrivateCluster::start_with(&dir, fast),
        PrivateCluster::start_with(&dir, fast)
    );
    let (Some(a), Some(b)) = (installed(a), installed(b)) else {
        return;
    };
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.port(), b.port());
    assert!(
        a.reused() != b.reused(),
        "exactly one of them starts the server"
    );
    assert_eq!(select_one(&a.url("postgres")).await.unwrap(), 1);
    a.stop().await.expect("stop");
}

#[tokio::test]
async fn prepare_keeps_an_explicit_configuration() {
    let tmp = TempDir::new("explicit");
    let opts = options(&tmp);
    let mut config = bare_config();
    // Unreachable on purpose: an explicit URL is used as given, no cluster.
    let url = dead_url();
    let secret = r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef"}"#;
    config.database.postgres = Some(url.clone().into());
    config.jwt.jwt_secret = Some(secret.to_owned().into());

    let env = devmode::prepare_with(&mut config, opts.clone())
        .await
        .expect("prepare");
    assert!(env.is_none(), "nothing to do in development mode");
    assert_eq!(
        config.database.postgres.as_ref().map(|s| s.expose()),
        Some(url.as_str())
    );
    assert_eq!(
        config.jwt.jwt_secret.as_ref().map(|s| s.expose()),
        Some(secret)
    );
    assert_eq!(config.server.server_url, "");
    assert_eq!(config.client.client_url, "");
    assert!(!opts.dir.exists(), "no state folder created");
}

#[tokio::test]
async fn prepare_generates_a_jwt_secret_once_and_keeps_it() {
    let tmp = TempDir::new("secret");
    let opts = options(&tmp);
    let explicit_db = dead_url();

    let mut config = bare_config();
    config.database.postgres = Some(explicit_db.clone().into());
    config.server.server_url = "https://auth.example.com".into();
    let env = devmode::prepare_with(&mut config, opts.clone())
        .await
        .expect("prepare")
        .expect("development mode is active");
    assert!(env.cluster().is_none());
    assert_eq!(
        config.database.postgres.as_ref().map(|s| s.expose()),
        Some(explicit_db.as_str())
    );
    assert_eq!(
        config.server.server_url, "https://auth.example.com",
        "explicit value kept"
    );
    assert_eq!(config.client.client_url, devmode::DEV_CLIENT_URL);

    let secret = config
        .jwt
        .jwt_secret
        .as_ref()
        .expect("secret set")
        .expose()
        .to_owned();
    let json: serde_json::Value = serde_json::from_str(&secret).unwrap();
    assert_eq!(json["type"], "HS256");
    let key = json["key"].as_str().unwrap();
    assert_eq!(key.len(), 64);
    assert!(key.chars().all(|c| c.is_ascii_hexdigit()));

    let file = opts.dir.join(JWT_SECRET_FILE);
    assert_eq!(env.jwt_secret_file(), Some(file.as_path()));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A second start (a restart) gets the same key.
    let mut second = bare_config();
    second.database.postgres = Some(explicit_db.into());
    devmode::prepare_with(&mut second, opts.clone())
        .await
        .expect("prepare again");
    assert_eq!(
        second.jwt.jwt_secret.as_ref().map(|s| s.expose()),
        Some(secret.as_str())
    );
    assert_eq!(second.server.server_url, "http://localhost:4000");

    // An explicit secret wins over the stored one.
    let mut third = bare_config();
    third.database.postgres = Some(dead_url().into());
    third.jwt.jwt_secret = Some(r#"{"type":"HS512","key":"explicit-explicit-explicit-explicit-explicit-explicit-explicit-x"}"#.into());
    let before = third.jwt.jwt_secret.as_ref().map(|s| s.expose().to_owned());
    assert!(
        devmode::prepare_with(&mut third, opts)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        third.jwt.jwt_secret.as_ref().map(|s| s.expose().to_owned()),
        before
    );
}

#[tokio::test]
async fn prepare_starts_a_private_cluster_when_nothing_answers() {
    let tmp = TempDir::new("prepare");
    let opts = options(&tmp);
    let mut config = bare_config();
    config.jwt.jwt_secret =
        Some(r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef"}"#.into());

    let Some(env) = installed(devmode::prepare_with(&mut config, opts.clone()).await) else {
        return;
    };
    let env = env.expect("prepare").expect("development mode is active");
    let url = config
        .database
        .postgres
        .as_ref()
        .expect("database URL set")
        .expose()
        .to_owned();
    assert_eq!(env.database_url(), Some(url.as_str()));
    assert!(url.contains("127.0.0.1"), "{url}");
    assert!(url.contains("/local"), "{url}");
    assert_eq!(select_one(&url).await.unwrap(), 1);
    assert!(
        env.cluster()
            .unwrap()
            .dir()
            .starts_with(std::fs::canonicalize(&opts.dir).unwrap())
    );
    assert_eq!(config.server.server_url, "http://localhost:4000");
    assert_eq!(config.client.client_url, "http://localhost:3000");

    env.shutdown().await;
    assert!(select_one(&url).await.is_err(), "cluster stopped");

    // The next start reuses the folder; dropping the environment stops the cluster too.
    let mut again = bare_config();
    let env = devmode::prepare_with(&mut again, opts)
        .await
        .unwrap()
        .unwrap();
    let url = env.database_url().unwrap().to_owned();
    assert_eq!(select_one(&url).await.unwrap(), 1);
    assert!(again.jwt.jwt_secret.is_some(), "a key was generated");
    drop(env);
    assert!(select_one(&url).await.is_err(), "cluster stopped on drop");
}

#[tokio::test]
async fn test_databases_are_usable() {
    let db = support::db::TestDb::empty().await;
    let client = db.client().await;
    let row = client
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), db.name);
}
