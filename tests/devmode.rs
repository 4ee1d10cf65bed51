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

/// Root, in a folder the `postgres` user cannot enter (as `mktemp -d` makes): the cluster
/// goes to that user's home directory instead of failing with "Permission denied".
#[tokio::test]
async fn as_root_an_unreachable_folder_puts_the_cluster_in_the_postgres_home() {
    let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2))
            == Some("0")
    });
    if !root {
        eprintln!("SKIPPED as_root_…: not running as root, nothing to check");
        return;
    }
    let tmp = TempDir::new("unreachable");
    std::fs::set_permissions(&tmp.0, std::fs::Permissions::from_mode(0o700)).unwrap();
    let opts = options(&tmp);
    let mut config = bare_config();
    let Some(env) = installed(devmode::prepare_with(&mut config, opts.clone()).await) else {
        return;
    };
    let env = env.expect("prepare").expect("development mode is active");
    let cluster = env
        .cluster()
        .expect("a private cluster")
        .dir()
        .to_path_buf();
    assert!(!cluster.starts_with(&tmp.0), "{}", cluster.display());
    assert!(
        cluster
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("hasura-auth-dev-")),
        "{}",
        cluster.display()
    );
    let url = env.database_url().expect("database URL").to_owned();
    assert_eq!(select_one(&url).await.unwrap(), 1);
    let banner = env.banner(&config, "http://127.0.0.1:4000", None);
    assert!(banner.contains(&cluster.display().to_string()), "{banner}");
    env.shutdown().await;
    let _ = std::fs::remove_dir_all(&cluster);
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

// ---------------------------------------------------------------------------------------
// The binary in development mode, as a newcomer runs it (README, "Quick start")
// ---------------------------------------------------------------------------------------

/// The server binary running in a folder of its own, its stdout collected line by line.
struct DevServer {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl DevServer {
    /// Starts `hasura-auth` in `dir` with only `envs` (and PATH) in its environment, and
    /// waits until it listens.
    async fn start(dir: &std::path::Path, envs: &[(&str, String)]) -> DevServer {
        use std::io::BufRead;
        let port = free_port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AUTH_PORT", port.to_string())
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start hasura-auth");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stream)
                    .lines()
                    .map_while(Result::ok)
                {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let server = DevServer { child, lines, port };
        server
            .wait_for("hasura-auth listening on", Duration::from_secs(60))
            .await;
        server
    }

    fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits until a line contains `text`; returns that line.
    async fn wait_for(&self, text: &str, timeout: Duration) -> String {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no line with {text:?} within {timeout:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Ctrl-C, then the exit status, within 30 s.
    async fn interrupt(mut self) -> (std::process::ExitStatus, String) {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Let the reader threads drain the pipes.
                tokio::time::sleep(Duration::from_millis(200)).await;
                return (status, self.log());
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("no exit within 30 s of SIGINT:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn field(body: &serde_json::Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        .to_owned()
}

/// The README's walkthrough against the binary in development mode: sign up, the
/// verification link from the log, sign in, `GET /user`, refresh, sign out. Also what
/// the newcomer sees: text logs without colour codes in a pipe, no flags blob, the
/// listening URL, the banner with the URLs and the Hasura secret, loopback only.
#[tokio::test]
async fn readme_walkthrough_in_development_mode() {
    let tmp = TempDir::new("walkthrough");
    let db = support::db::TestDb::empty().await;
    // A database is given (no cluster needed here); the JWT secret is not, so this is
    // development mode.
    let server = DevServer::start(&tmp.0, &[("POSTGRES_CONNECTION", db.url.clone())]).await;
    let http = support::app::http_client().build().expect("client");

    let listening = server
        .wait_for("hasura-auth listening on", Duration::ZERO)
        .await;
    assert!(
        listening.contains(&format!("http://127.0.0.1:{}", server.port)),
        "{listening}"
    );
    let log = server.log();
    assert!(!log.contains('\u{1b}'), "colour codes in a pipe:\n{log}");
    assert!(
        !log.contains("starting program"),
        "flags blob at info:\n{log}"
    );
    assert!(
        !log.contains("{\"timestamp\""),
        "JSON lines in development mode:\n{log}"
    );
    for expected in [
        "DEVELOPMENT MODE",
        &format!(
            "JWKS       http://127.0.0.1:{}/.well-known/jwks.json",
            server.port
        ),
        &format!("OpenAPI    http://127.0.0.1:{}/openapi.json", server.port),
        "HASURA_GRAPHQL_JWT_SECRET=\"$(cat .hasura-auth-dev/jwt-secret.json)\"",
        "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED",
    ] {
        assert!(log.contains(expected), "banner lacks {expected:?}:\n{log}");
    }
    let secret: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.0.join(".hasura-auth-dev/jwt-secret.json"))
            .expect("the secret file the banner names"),
    )
    .expect("JSON secret");
    assert_eq!(secret["type"], "HS256");

    let email = "ada@example.com";
    let password = "correct-horse";
    let credentials = serde_json::json!({"email": email, "password": password});
    let signup = http
        .post(server.url("/signup/email-password"))
        .json(&credentials)
        .send()
        .await
        .expect("sign up");
    assert_eq!(signup.status(), 200);

    // Not verified yet: sign-in is refused.
    let early = http
        .post(server.url("/signin/email-password"))
        .json(&credentials)
        .send()
        .await
        .expect("sign in");
    assert_eq!(early.status(), 401);

    let link_line = server
        .wait_for("Link:    http", Duration::from_secs(10))
        .await;
    let link = link_line
        .split_whitespace()
        .last()
        .expect("a link")
        .to_owned();
    assert!(
        link.starts_with("http://localhost:") && link.contains("/verify?"),
        "{link}"
    );
    let log = server.log();
    assert!(log.contains(&format!("To:      {email}")), "{log}");
    assert!(log.contains("Subject: "), "{log}");
    // The link names the server as configured (localhost); the test reaches it on
    // 127.0.0.1, where it listens.
    let no_redirects = support::app::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let verify = no_redirects
        .get(link.replacen("http://localhost:", "http://127.0.0.1:", 1))
        .send()
        .await
        .expect("verify");
    assert_eq!(verify.status(), 302, "{:?}", verify.text().await);

    let signin: serde_json::Value = http
        .post(server.url("/signin/email-password"))
        .json(&credentials)
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("session JSON");
    let session = &signin["session"];
    let access = field(session, "accessToken");
    let refresh = field(session, "refreshToken");

    let user: serde_json::Value = http
        .get(server.url("/user"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("GET /user")
        .json()
        .await
        .expect("user JSON");
    assert_eq!(user["email"], email);
    assert_eq!(user["emailVerified"], true);

    let refreshed: serde_json::Value = http
        .post(server.url("/token"))
        .json(&serde_json::json!({"refreshToken": refresh}))
        .send()
        .await
        .expect("refresh")
        .json()
        .await
        .expect("session JSON");
    let refresh = field(&refreshed, "refreshToken");

    let signout = http
        .post(server.url("/signout"))
        .json(&serde_json::json!({"refreshToken": refresh}))
        .send()
        .await
        .expect("sign out");
    assert_eq!(signout.status(), 200);
    let reuse = http
        .post(server.url("/token"))
        .json(&serde_json::json!({"refreshToken": refresh}))
        .send()
        .await
        .expect("refresh after sign-out");
    assert_eq!(reuse.status(), 401);

    let (status, log) = server.interrupt().await;
    assert!(status.success(), "{status}:\n{log}");
}

/// With nothing configured and a private cluster, a stop (with the metrics listener on)
/// leaves no "Connection error" warning: the pool is gone before the cluster stops.
#[tokio::test]
async fn development_mode_stops_cleanly_with_a_private_cluster() {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
    };
    let installed = on_path("initdb") || std::path::Path::new("/usr/lib/postgresql").is_dir();
    if support::tools::require(
        installed.then_some(()),
        "the PostgreSQL server programs (initdb, pg_ctl) are not installed \
         (install Debian's `postgresql`)",
    )
    .is_none()
    {
        return;
    }
    let tmp = TempDir::new("stop");
    let metrics = format!("127.0.0.1:{}", free_port());
    let server = DevServer::start(&tmp.0, &[("AUTH_METRICS_ADDRESS", metrics.clone())]).await;
    let log = server.log();
    if !log.contains("private PostgreSQL cluster") {
        // Something answered at upstream's default URL: no cluster to stop.
        eprintln!("SKIPPED: a server answers at upstream's default database URL");
        return;
    }
    assert!(
        log.contains(&format!("Metrics    http://{metrics}/metrics")),
        "{log}"
    );
    let http = support::app::http_client().build().expect("client");
    let r = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    // A request that used the pool, so that it holds connections.
    let r = http
        .post(server.url("/signin/anonymous"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("request");
    assert!(r.status().is_client_error() || r.status().is_success());
    let cluster_dir = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("data in "))
        .map(|d| {
            let d = std::path::PathBuf::from(d.trim());
            if d.is_absolute() { d } else { tmp.0.join(d) }
        })
        .expect("the banner names the cluster's folder");
    let (status, log) = server.interrupt().await;
    assert!(status.success(), "{status}:\n{log}");
    assert!(log.contains("private PostgreSQL cluster stopped"), "{log}");
    assert!(!log.contains("Connection error"), "{log}");
    if !cluster_dir.starts_with(&tmp.0) {
        let _ = std::fs::remove_dir_all(&cluster_dir);
    }
}
