//! Zero-setup development mode: a private PostgreSQL cluster and a generated JWT key
//! when nothing is configured.
//!
//! [`prepare`] looks at the configuration before start-up:
//! - no database URL given explicitly and no working PostgreSQL at upstream's default URL
//!   → a private cluster is started from the installed `initdb`/`pg_ctl` under
//!   `./.hasura-auth-dev/postgres/` (trust auth, superuser `postgres`, listening only on
//!   127.0.0.1 on a free port, no unix socket) and `config.database.postgres` points at its
//!   database `local`;
//! - no JWT secret → an HS256 key generated once and kept in
//!   `./.hasura-auth-dev/jwt-secret.json` (mode 0600), so tokens survive restarts;
//! - in either case, empty `server_url`/`client_url` get local defaults.
//!
//! Whatever is configured explicitly is used as given. [`PrivateCluster`] is also used by
//! the test suite when no PostgreSQL server is available.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::config::{Config, DEFAULT_POSTGRES_URL};

/// Folder (relative to the working directory) where development mode keeps its state.
pub const DEV_DIR: &str = ".hasura-auth-dev";
/// Name of the generated JWT secret file inside [`DEV_DIR`].
pub const JWT_SECRET_FILE: &str = "jwt-secret.json";
/// Database created in the private cluster (the database name of upstream's default URL).
pub const DEV_DATABASE: &str = "local";
/// Default front-end URL in development mode.
pub const DEV_CLIENT_URL: &str = "http://localhost:3000";

/// Superuser of private clusters (trust authentication, no password).
const SUPERUSER: &str = "postgres";
/// System user that runs PostgreSQL when this process runs as root.
const SYSTEM_USER: &str = "postgres";
/// Seconds `pg_ctl` waits for start/stop.
const PG_CTL_WAIT_SECS: &str = "60";

#[derive(Debug, thiserror::Error)]
pub enum DevModeError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl) not found in PATH nor under \
         /usr/lib/postgresql/*/bin; install the PostgreSQL server, or set POSTGRES_CONNECTION \
         to the URL of a running server"
    )]
    PostgresNotInstalled,
    #[error(
        "running as root, and PostgreSQL refuses to run as root, but there is no `{SYSTEM_USER}` \
         system user to run it as (or neither runuser nor su is available)"
    )]
    NoSystemUser,
    #[error("`{command}` failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("private PostgreSQL cluster in {}: {message}", dir.display())]
    Cluster { dir: PathBuf, message: String },
    #[error("JWT secret file {}: {message}", path.display())]
    Secret { path: PathBuf, message: String },
    #[error("database: {}", error_chain(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> DevModeError {
    let context = context.to_string();
    move |source| DevModeError::Io { context, source }
}

// ---------------------------------------------------------------------------------------
// prepare
// ---------------------------------------------------------------------------------------

/// Where development mode keeps its state and how it probes for an existing server.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// State folder (default [`DEV_DIR`], relative to the working directory).
    pub dir: PathBuf,
    /// URL probed when no database URL is given explicitly (default: upstream's default).
    pub probe_url: String,
    /// How long the probe may take.
    pub probe_timeout: Duration,
}

impl Default for DevOptions {
    fn default() -> Self {
        DevOptions {
            dir: PathBuf::from(DEV_DIR),
            probe_url: DEFAULT_POSTGRES_URL.to_owned(),
            probe_timeout: Duration::from_secs(1),
        }
    }
}

/// What development mode set up. Stops the private cluster (if any) on
/// [`DevEnvironment::shutdown`], or best-effort when dropped.
#[derive(Debug)]
pub struct DevEnvironment {
    dir: PathBuf,
    cluster: Option<PrivateCluster>,
    database_url: Option<String>,
    jwt_secret_file: Option<PathBuf>,
}

impl DevEnvironment {
    /// The state folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The private cluster, when one was started (or reused).
    pub fn cluster(&self) -> Option<&PrivateCluster> {
        self.cluster.as_ref()
    }

    /// The database URL set in the configuration, when a private cluster is used.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The file holding the generated JWT secret, when one is used.
    pub fn jwt_secret_file(&self) -> Option<&Path> {
        self.jwt_secret_file.as_deref()
    }

    /// Stops the private cluster (`pg_ctl stop -m fast`).
    pub async fn shutdown(mut self) {
        if let Some(cluster) = self.cluster.take() {
            match cluster.stop().await {
                Ok(()) => {
                    tracing::info!(dir = %cluster.dir().display(), "private PostgreSQL cluster stopped")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not stop the private PostgreSQL cluster")
                }
            }
        }
    }
}

impl Drop for DevEnvironment {
    fn drop(&mut self) {
        if let Some(cluster) = self.cluster.take() {
            cluster.stop_blocking();
        }
    }
}

/// Development mode with the default options (state in `./.hasura-auth-dev/`).
///
/// Returns `None` when everything needed is configured (nothing was changed).
pub async fn prepare(config: &mut Config) -> Result<Option<DevEnvironment>, DevModeError> {
    prepare_with(config, DevOptions::default()).await
}

/// Development mode with explicit options; see the module documentation.
pub async fn prepare_with(
    config: &mut Config,
    options: DevOptions,
) -> Result<Option<DevEnvironment>, DevModeError> {
    let mut notes: Vec<String> = Vec::new();
    // Built first so that an error below stops a cluster started here (Drop).
    let mut env = DevEnvironment {
        dir: options.dir.clone(),
        cluster: None,
        database_url: None,
        jwt_secret_file: None,
    };

    if !config.database_url_is_explicit() {
        match probe(&options.probe_url, options.probe_timeout).await {
            Ok(()) => {}
            Err(reason) => {
                let dir = options.dir.join("postgres");
                let started = PrivateCluster::start(&dir).await?;
                let reused = started.reused();
                env.cluster = Some(started.clone());
                started.ensure_database(DEV_DATABASE).await?;
                let url = format!("{}?sslmode=disable", started.url(DEV_DATABASE));
                notes.push(format!(
                    "no database URL given (POSTGRES_CONNECTION) and no usable PostgreSQL at {} ({reason})",
                    redact(&options.probe_url)
                ));
                notes.push(format!(
                    "{} a private PostgreSQL cluster in {}: {url}",
                    if reused { "reusing" } else { "started" },
                    dir.display()
                ));
                config.database.postgres = Some(url.clone().into());
                env.database_url = Some(url);
            }
        }
    }

    if config
        .jwt
        .jwt_secret
        .as_ref()
        .map(|s| s.expose())
        .is_none_or(|s| s.trim().is_empty())
    {
        let path = options.dir.join(JWT_SECRET_FILE);
        let (secret, created) = load_or_create_jwt_secret(&path)?;
        notes.push(format!(
            "no JWT secret given (HASURA_GRAPHQL_JWT_SECRET); {} HS256 key kept in {} \
             (tokens survive restarts; give Hasura the same secret)",
            if created {
                "generated a new"
            } else {
                "using the generated"
            },
            path.display()
        ));
        config.jwt.jwt_secret = Some(secret.into());
        env.jwt_secret_file = Some(path);
    }

    if notes.is_empty() {
        return Ok(None);
    }

    if config.server.server_url.is_empty() {
        config.server.server_url = format!(
            "http://localhost:{}{}",
            config.server.port, config.server.api_prefix
        );
        notes.push(format!(
            "server URL (AUTH_SERVER_URL): {}",
            config.server.server_url
        ));
    }
    if config.client.client_url.is_empty() {
        config.client.client_url = DEV_CLIENT_URL.to_owned();
        notes.push(format!(
            "client URL (AUTH_CLIENT_URL): {}",
            config.client.client_url
        ));
    }
    if config.email.smtp_host.is_empty() {
        notes.push("no SMTP host (AUTH_SMTP_HOST): emails are printed to the log, not sent".into());
    }

    let banner = "=".repeat(72);
    tracing::warn!("{banner}");
    tracing::warn!("DEVELOPMENT MODE: hasura-auth is running with generated settings.");
    tracing::warn!(
        "Do NOT use this in production: configure the database and JWT secret explicitly."
    );
    for note in &notes {
        tracing::warn!("DEVELOPMENT MODE: {note}");
    }
    tracing::warn!(
        "DEVELOPMENT MODE: to start over, stop the server and delete {}",
        options.dir.display()
    );
    tracing::warn!("{banner}");

    Ok(Some(env))
}

/// Whether a working connection can be made to `url` within `timeout`.
async fn probe(url: &str, timeout: Duration) -> Result<(), String> {
    let mut pg: tokio_postgres::Config = url.parse().map_err(|e| format!("invalid URL: {e}"))?;
    pg.connect_timeout(timeout);
    match tokio::time::timeout(
        timeout + Duration::from_millis(200),
        pg.connect(tokio_postgres::NoTls),
    )
    .await
    {
        Ok(Ok((client, conn))) => {
            drop(client);
            let _ = conn.await;
            Ok(())
        }
        Ok(Err(e)) => Err(match e.as_db_error() {
            Some(db) => format!("a server answered but refused: {}", db.message()),
            None => error_chain(&e),
        }),
        Err(_) => Err("connection timed out".into()),
    }
}

/// An error and its sources, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The URL without its password, for logs.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Reads the generated secret, or creates it (32 random bytes, hex) with mode 0600.
/// Returns the secret JSON and whether it was created now.
fn load_or_create_jwt_secret(path: &Path) -> Result<(String, bool), DevModeError> {
    if let Some(existing) = read_jwt_secret(path)? {
        return Ok((existing, false));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err(format!("create {}", dir.display())))?;

    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let secret = serde_json::json!({ "type": "HS256", "key": hex::encode(key) }).to_string();

    // Write a private temporary file, then link it into place: only one writer wins,
    // and the file never exists half-written.
    let tmp = dir.join(format!(
        ".{JWT_SECRET_FILE}.{}.{}",
        std::process::id(),
        hex::encode(&key[..4])
    ));
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(secret.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    };
    let linked = write().and_then(|()| fs::hard_link(&tmp, path));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok((secret, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read_jwt_secret(path)? {
            Some(existing) => Ok((existing, false)),
            None => Err(DevModeError::Secret {
                path: path.to_owned(),
                message: "vanished while being created".into(),
            }),
        },
        Err(e) => Err(io_err(format!("write {}", path.display()))(e)),
    }
}

fn read_jwt_secret(path: &Path) -> Result<Option<String>, DevModeError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(format!("read {}", path.display()))(e)),
    };
    let bad = |message: &str| DevModeError::Secret {
        path: path.to_owned(),
        message: format!("{message}; delete the file to generate a new key"),
    };
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|_| bad("not JSON"))?;
    if value.get("type").and_then(|t| t.as_str()) != Some("HS256") {
        return Err(bad("\"type\" must be \"HS256\""));
    }
    if value
        .get("key")
        .and_then(|k| k.as_str())
        .is_none_or(|k| k.len() < 32)
    {
        return Err(bad("\"key\" must be a string of at least 32 characters"));
    }
    // Keep it private even if someone loosened the mode.
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o600));
    }
    Ok(Some(value.to_string()))
}

// ---------------------------------------------------------------------------------------
// PrivateCluster
// ---------------------------------------------------------------------------------------

/// How a private cluster runs.
#[derive(Debug, Clone, Copy)]
pub struct ClusterOptions {
    /// `false` skips fsync (initdb `--no-sync`, server `-F`): much faster, but a machine
    /// crash may corrupt the data. For throw-away test clusters.
    pub durable: bool,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { durable: true }
    }
}

/// A PostgreSQL cluster owned by this project, in a folder of its own:
/// `<dir>/data` (the cluster), `<dir>/server.log`, `<dir>/port` (last port), `<dir>/lock`.
///
/// Listens only on 127.0.0.1 (no unix socket), trust authentication, superuser `postgres`.
/// The cluster keeps running until [`PrivateCluster::stop`]; dropping the value does not
/// stop it, so a later [`PrivateCluster::start`] on the same folder reuses it.
#[derive(Debug, Clone)]
pub struct PrivateCluster {
    dir: PathBuf,
    data: PathBuf,
    port: u16,
    reused: bool,
    pg_ctl: PathBuf,
    runner: Runner,
}

impl PrivateCluster {
    /// Starts the cluster in `dir` (durable), creating it on first use; reuses it when
    /// it is already running. Safe to call from several processes at once.
    pub async fn start(dir: impl AsRef<Path>) -> Result<PrivateCluster, DevModeError> {
        Self::start_with(dir, ClusterOptions::default()).await
    }

    /// [`PrivateCluster::start`] with options (options only apply when this call starts
    /// the server; a running one is reused as it is).
    pub async fn start_with(
        dir: impl AsRef<Path>,
        options: ClusterOptions,
    ) -> Result<PrivateCluster, DevModeError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(io_err(format!("create {}", dir.display())))?;
        let dir = fs::canonicalize(dir).map_err(io_err(format!("resolve {}", dir.display())))?;
        let runner = Runner::detect().await?;
        runner.give_ownership(&dir)?;

        let _lock = lock_file(dir.join("lock")).await?;
        let data = dir.join("data");
        let bindir = find_bindir(&data)?;
        let initdb = bindir.join("initdb");
        let pg_ctl = bindir.join("pg_ctl");
        let cluster_err = |message: String| DevModeError::Cluster {
            dir: dir.clone(),
            message,
        };

        if !data.join("PG_VERSION").exists() {
            if data.exists() {
                // Left over by an interrupted initdb.
                fs::remove_dir_all(&data).map_err(io_err(format!("remove {}", data.display())))?;
            }
            let mut args: Vec<OsString> = vec![
                "-D".into(),
                data.clone().into(),
                "-U".into(),
                SUPERUSER.into(),
                "-A".into(),
                "trust".into(),
                "-E".into(),
                "UTF8".into(),
                "--no-locale".into(),
            ];
            if !options.durable {
                args.push("--no-sync".into());
            }
            runner.run(&initdb, &args, &dir).await?;
            let conf = data.join("postgresql.conf");
            let mut f = OpenOptions::new()
                .append(true)
                .open(&conf)
                .map_err(io_err(format!("open {}", conf.display())))?;
            f.write_all(
                b"\n# hasura-auth private cluster: local TCP only, no unix socket\n\
                  listen_addresses = '127.0.0.1'\n\
                  unix_socket_directories = ''\n",
            )
            .map_err(io_err(format!("write {}", conf.display())))?;
        }

        let mut cluster = PrivateCluster {
            dir: dir.clone(),
            data: data.clone(),
            port: 0,
            reused: false,
            pg_ctl: pg_ctl.clone(),
            runner: runner.clone(),
        };

        if cluster.is_running().await? {
            cluster.port = read_pid_file_port(&data).ok_or_else(|| {
                cluster_err("running, but its postmaster.pid names no port".into())
            })?;
            cluster.reused = true;
            cluster.wait_ready().await?;
            return Ok(cluster);
        }

        let port_file = dir.join("port");
        let mut port = fs::read_to_string(&port_file)
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .filter(|p| port_is_free(*p))
            .map_or_else(free_port, Ok)?;
        let log = dir.join("server.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let server_opts = if options.durable {
                format!("-p {port}")
            } else {
                format!("-p {port} -F")
            };
            let args: Vec<OsString> = vec![
                "start".into(),
                "-D".into(),
                data.clone().into(),
                "-l".into(),
                log.clone().into(),
                "-w".into(),
                "-t".into(),
                PG_CTL_WAIT_SECS.into(),
                "-s".into(),
                "-o".into(),
                server_opts.into(),
            ];
            match runner.run(&pg_ctl, &args, &dir).await {
                Ok(_) => break,
                Err(e) => {
                    let tail = log_tail(&log);
                    if attempt < 3 && tail.contains("could not bind") {
                        port = free_port()?;
                        continue;
                    }
                    return Err(cluster_err(format!(
                        "{e}\nserver log ({}):\n{tail}",
                        log.display()
                    )));
                }
            }
        }
        let _ = fs::write(&port_file, format!("{port}\n"));
        cluster.port = port;
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    /// Connection URL of database `db` (superuser `postgres`, no password).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's own folder (holding `data/`, `server.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The PostgreSQL data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The server log.
    pub fn log_file(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// Whether the server was already running when this handle was made.
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// Creates database `name` unless it exists.
    pub async fn ensure_database(&self, name: &str) -> Result<(), DevModeError> {
        let (client, conn) =
            tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls).await?;
        let conn = tokio::spawn(conn);
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await?
            .is_some();
        if !exists {
            let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
            if let Err(e) = client.batch_execute(&sql).await
                && e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
            {
                return Err(e.into());
            }
        }
        drop(client);
        let _ = conn.await;
        Ok(())
    }

    /// Whether the server of this folder is running (`pg_ctl status`).
    pub async fn is_running(&self) -> Result<bool, DevModeError> {
        let args: Vec<OsString> = vec!["status".into(), "-D".into(), self.data.clone().into()];
        let out = self.runner.output(&self.pg_ctl, &args, &self.dir).await?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(command_error(&self.pg_ctl, &args, &out)),
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`); fine when it is not running.
    pub async fn stop(&self) -> Result<(), DevModeError> {
        if !self.is_running().await? {
            return Ok(());
        }
        let args = self.stop_args();
        let out = self.runner.output(&self.pg_ctl, &args, &self.dir).await?;
        if out.status.success() || !self.is_running().await? {
            Ok(())
        } else {
            Err(command_error(&self.pg_ctl, &args, &out))
        }
    }

    /// Best-effort blocking stop, for `Drop` implementations.
    pub fn stop_blocking(&self) {
        let args = self.stop_args();
        let _ = self
            .runner
            .command(&self.pg_ctl, &args, &self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    fn stop_args(&self) -> Vec<OsString> {
        vec![
            "stop".into(),
            "-D".into(),
            self.data.clone().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "-t".into(),
            PG_CTL_WAIT_SECS.into(),
            "-s".into(),
        ]
    }

    /// Waits until a connection succeeds (the server may still be starting up).
    async fn wait_ready(&self) -> Result<(), DevModeError> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut pg: tokio_postgres::Config = self.url("postgres").parse()?;
        pg.connect_timeout(Duration::from_secs(2));
        loop {
            match pg.connect(tokio_postgres::NoTls).await {
                Ok((client, conn)) => {
                    drop(client);
                    let _ = conn.await;
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(DevModeError::Cluster {
                        dir: self.dir.clone(),
                        message: format!("not accepting connections on port {}: {e}", self.port),
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

/// The port in `postmaster.pid` (4th line).
fn read_pid_file_port(data: &Path) -> Option<u16> {
    let text = fs::read_to_string(data.join("postmaster.pid")).ok()?;
    text.lines().nth(3)?.trim().parse().ok()
}

fn port_is_free(port: u16) -> bool {
    port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn free_port() -> Result<u16, DevModeError> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(io_err("find a free port"))?;
    Ok(listener
        .local_addr()
        .map_err(io_err("find a free port"))?
        .port())
}

fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// An exclusive lock on `path` (created if needed), held until the file is dropped.
async fn lock_file(path: PathBuf) -> Result<File, DevModeError> {
    tokio::task::spawn_blocking(move || {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(format!("open {}", path.display())))?;
        f.lock()
            .map_err(io_err(format!("lock {}", path.display())))?;
        Ok(f)
    })
    .await
    .map_err(|e| DevModeError::Io {
        context: "lock task".into(),
        source: std::io::Error::other(e),
    })?
}

/// The folder holding `initdb` and `pg_ctl`: PATH first, else the newest
/// `/usr/lib/postgresql/<major>/bin` (the one matching an existing cluster preferred).
fn find_bindir(data: &Path) -> Result<PathBuf, DevModeError> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    let resolve = |d: &Path| {
        fs::canonicalize(d.join("pg_ctl"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
    };

    if let Ok(version) = fs::read_to_string(data.join("PG_VERSION")) {
        let d = PathBuf::from(format!("/usr/lib/postgresql/{}/bin", version.trim()));
        if has_tools(&d) {
            return Ok(d);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if has_tools(&d)
                && let Some(real) = resolve(&d)
            {
                return Ok(real);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let d = e.path().join("bin");
            has_tools(&d).then_some((major, d))
        })
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Ok(d);
    }
    for d in [
        "/usr/local/pgsql/bin",
        "/opt/homebrew/bin",
        "/usr/local/bin",
    ] {
        let d = Path::new(d);
        if has_tools(d) {
            return Ok(d.to_path_buf());
        }
    }
    Err(DevModeError::PostgresNotInstalled)
}

// ---------------------------------------------------------------------------------------
// Running PostgreSQL programs (as the `postgres` system user when we are root)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Runner {
    /// Run programs directly.
    Direct,
    /// We are root: run as the system user through `runuser` or `su`.
    AsUser { uid: u32, gid: u32, via: SwitchUser },
}

#[derive(Debug, Clone)]
enum SwitchUser {
    Runuser(PathBuf),
    Su(PathBuf),
}

impl Runner {
    async fn detect() -> Result<Runner, DevModeError> {
        if effective_uid().await != Some(0) {
            return Ok(Runner::Direct);
        }
        let id = |flag: &'static str| async move {
            let out = tokio::process::Command::new("id")
                .args([flag, SYSTEM_USER])
                .stdin(Stdio::null())
                .output()
                .await
                .ok()?;
            out.status.success().then_some(())?;
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        };
        let (Some(uid), Some(gid)) = (id("-u").await, id("-g").await) else {
            return Err(DevModeError::NoSystemUser);
        };
        let via = if let Some(p) = find_program("runuser") {
            SwitchUser::Runuser(p)
        } else if let Some(p) = find_program("su") {
            SwitchUser::Su(p)
        } else {
            return Err(DevModeError::NoSystemUser);
        };
        Ok(Runner::AsUser { uid, gid, via })
    }

    /// Makes `dir` owned by the user running PostgreSQL.
    fn give_ownership(&self, dir: &Path) -> Result<(), DevModeError> {
        if let Runner::AsUser { uid, gid, .. } = self {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid)).map_err(io_err(format!(
                "give {} to user {SYSTEM_USER}",
                dir.display()
            )))?;
        }
        Ok(())
    }

    fn command(&self, program: &Path, args: &[OsString], cwd: &Path) -> std::process::Command {
        let mut cmd = match self {
            Runner::Direct => {
                let mut c = std::process::Command::new(program);
                c.args(args);
                c
            }
            Runner::AsUser {
                via: SwitchUser::Runuser(runuser),
                ..
            } => {
                let mut c = std::process::Command::new(runuser);
                c.args(["-u", SYSTEM_USER, "--"]).arg(program).args(args);
                c
            }
            Runner::AsUser {
                via: SwitchUser::Su(su),
                ..
            } => {
                let mut line = format!("exec {}", shell_quote(program.as_os_str()));
                for a in args {
                    line.push(' ');
                    line.push_str(&shell_quote(a));
                }
                let mut c = std::process::Command::new(su);
                c.args([SYSTEM_USER, "-s", "/bin/sh", "-c"]).arg(line);
                c
            }
        };
        cmd.current_dir(cwd);
        // Own process group: a Ctrl-C in the terminal does not reach the server, which is
        // stopped by its owner (or reused by the next run).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd
    }

    async fn output(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
    ) -> Result<Output, DevModeError> {
        let mut cmd = tokio::process::Command::from(self.command(program, args, cwd));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.output()
            .await
            .map_err(io_err(format!("run {}", program.display())))
    }

    async fn run(
        &self,
        program: &Path,
        args: &[OsString],
        cwd: &Path,
    ) -> Result<Output, DevModeError> {
        let out = self.output(program, args, cwd).await?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(command_error(program, args, &out))
        }
    }
}

fn command_error(program: &Path, args: &[OsString], out: &Output) -> DevModeError {
    let mut command = program.display().to_string();
    for a in args {
        command.push(' ');
        command.push_str(&a.to_string_lossy());
    }
    let mut output = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.trim().is_empty() {
        output.push('\n');
        output.push_str(stdout.trim());
    }
    DevModeError::Command {
        command,
        status: out.status.to_string(),
        output,
    }
}

fn shell_quote(s: &std::ffi::OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"))
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The effective user id (from `/proc/self/status`, else `id -u`).
async fn effective_uid() -> Option<u32> {
    if let Ok(status) = fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("Uid:"))
    {
        return line.split_whitespace().nth(2)?.parse().ok();
    }
    let out = tokio::process::Command::new("id")
        .arg("-u")
        .output()
        .await
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quote("a b".as_ref()), "'a b'");
        assert_eq!(shell_quote("it's".as_ref()), "'it'\\''s'");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://postgres:secret@localhost:5432/local"),
            "postgres://postgres:***@localhost:5432/local"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn rejects_bad_secret_files() {
        let dir = std::env::temp_dir().join(format!("hat-devmode-unit-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.json");
        fs::write(&path, r#"{"type":"RS256","key":"x"}"#).unwrap();
        assert!(matches!(
            read_jwt_secret(&path),
            Err(DevModeError::Secret { .. })
        ));
        fs::write(&path, r#"{"type":"HS256","key":"short"}"#).unwrap();
        assert!(matches!(
            read_jwt_secret(&path),
            Err(DevModeError::Secret { .. })
        ));
        assert!(
            read_jwt_secret(&dir.join("missing.json"))
                .unwrap()
                .is_none()
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
