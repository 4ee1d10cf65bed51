//! Zero-setup development mode: a private PostgreSQL cluster and a generated JWT key
//! when nothing is configured. This module is the policy (when to start a cluster, where
//! the state lives, the JWT secret file, what the log says); the cluster itself is
//! [`crate::pg_cluster`].
//!
//! [`prepare`] looks at the configuration before start-up:
//! - no database URL given explicitly and no working PostgreSQL at upstream's default URL
//!   → a [`PrivateCluster`] is started under `./.hasura-auth-dev/postgres/` and
//!   `config.database.postgres` points at its database `local`;
//! - no JWT secret → an HS256 key generated once and kept in
//!   `./.hasura-auth-dev/jwt-secret.json` (mode 0600), so tokens survive restarts;
//! - in either case, empty `server_url`/`client_url` get local defaults, and an empty
//!   `AUTH_HOST` becomes 127.0.0.1 (a development server is for this machine only).
//!
//! [`plan`] decides (before logging starts: development mode logs text by default);
//! [`DevPlan::apply`] does it, and [`DevEnvironment::banner`] says what was done.
//! Whatever is configured explicitly is used as given.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::RngCore;
use sha2::Digest;

use crate::config::{Config, DEFAULT_POSTGRES_URL};
use crate::pg_cluster::{self, ClusterError, PrivateCluster, error_chain};

/// Folder (relative to the working directory) where development mode keeps its state.
pub const DEV_DIR: &str = ".hasura-auth-dev";
/// Name of the generated JWT secret file inside [`DEV_DIR`].
pub const JWT_SECRET_FILE: &str = "jwt-secret.json";
/// Database created in the private cluster (the database name of upstream's default URL).
pub const DEV_DATABASE: &str = "local";
/// Default front-end URL in development mode.
pub const DEV_CLIENT_URL: &str = "http://localhost:3000";
/// Address development mode listens on unless `AUTH_HOST` says otherwise.
pub const DEV_HOST: &str = "127.0.0.1";

#[derive(Debug, thiserror::Error)]
pub enum DevModeError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("JWT secret file {}: {message}", path.display())]
    Secret { path: PathBuf, message: String },
    #[error(
        "running as root, PostgreSQL runs as the `postgres` user, who cannot enter {} \
         (nor has a home directory to use instead); run from a folder other users can \
         enter, or set POSTGRES_CONNECTION to a running server",
        dir.display()
    )]
    Unreachable { dir: PathBuf },
}

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> DevModeError {
    let context = context.to_string();
    move |source| DevModeError::Io { context, source }
}

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
    /// Why upstream's default database was not used (with a private cluster).
    cluster_reason: Option<String>,
    database_url: Option<String>,
    jwt_secret_file: Option<PathBuf>,
    jwt_secret_created: bool,
    /// Settings development mode filled in: (banner label, what it says).
    defaults: Vec<(&'static str, String)>,
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

    /// The start-up banner: where the server answers and what was generated.
    /// `api_url` is the URL the server answers on (prefix included); `metrics_url` the
    /// metrics listener's, when enabled.
    pub fn banner(&self, config: &Config, api_url: &str, metrics_url: Option<&str>) -> String {
        let api = api_url.trim_end_matches('/');
        let mut lines = vec![
            String::new(),
            "  hasura-auth is running in DEVELOPMENT MODE: generated settings, never use this in production.".to_owned(),
            String::new(),
            format!("    API        {api}"),
            format!("    Health     {api}/healthz"),
            format!("    OpenAPI    {api}/openapi.json"),
            format!("    JWKS       {api}/.well-known/jwks.json"),
        ];
        if let Some(metrics) = metrics_url {
            lines.push(format!("    Metrics    {metrics}"));
        }
        lines.push(String::new());
        if let (Some(cluster), Some(url)) = (&self.cluster, &self.database_url) {
            lines.push(format!(
                "    Database   private PostgreSQL cluster ({}), {url}",
                if cluster.reused() {
                    "already running"
                } else {
                    "started"
                }
            ));
            lines.push(format!(
                "               data in {}",
                shown_path(cluster.dir())
            ));
            if let Some(reason) = &self.cluster_reason {
                lines.push(format!(
                    "               as POSTGRES_CONNECTION is unset and {reason}"
                ));
            }
        }
        if let Some(file) = &self.jwt_secret_file {
            let file = shown_path(file);
            lines.push(format!(
                "    JWT key    HS256, {} in {file}",
                if self.jwt_secret_created {
                    "generated now, kept"
                } else {
                    "generated earlier, kept"
                }
            ));
            lines.push(format!(
                "               give Hasura the same key: HASURA_GRAPHQL_JWT_SECRET=\"$(cat {file})\""
            ));
        }
        for (label, text) in &self.defaults {
            lines.push(format!("    {label:<10} {text}"));
        }
        if config.email.smtp_host.trim().is_empty() {
            lines.push(
                "    Emails     printed in this log, with their links (no AUTH_SMTP_HOST)".into(),
            );
        }
        if config.signup.email_verification_required {
            lines.push(
                "    Sign-in    needs a verified email: open the link of the verification email \
                 (AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false turns that off)"
                    .into(),
            );
        }
        lines.push(String::new());
        lines.push(format!(
            "  To start over: stop the server and delete {}{}.",
            shown_path(&self.dir),
            match &self.cluster {
                Some(c) if !c.dir().starts_with(absolute(&self.dir)) => {
                    format!(" and {}", shown_path(c.dir()))
                }
                _ => String::new(),
            }
        ));
        lines.join("\n")
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

/// `path` as the user would type it: relative to the working directory when inside it.
fn shown_path(path: &Path) -> String {
    let abs = absolute(path);
    match std::env::current_dir()
        .ok()
        .and_then(|cwd| abs.strip_prefix(cwd).ok().map(Path::to_path_buf))
    {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => abs.display().to_string(),
    }
}

fn absolute(path: &Path) -> PathBuf {
    fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// What development mode will do, decided before logging starts (the log format
/// depends on whether development mode is on). [`DevPlan::apply`] does it.
#[derive(Debug)]
pub struct DevPlan {
    options: DevOptions,
    /// Why upstream's default database is not usable, when a private cluster is needed.
    cluster_reason: Option<String>,
    generate_secret: bool,
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
    match plan(config, options).await {
        Some(plan) => plan.apply(config).await.map(Some),
        None => Ok(None),
    }
}

/// Whether development mode is needed, and for what: no database URL given and nothing
/// usable at the probe URL, or no JWT secret. Changes nothing and logs nothing.
pub async fn plan(config: &Config, options: DevOptions) -> Option<DevPlan> {
    let cluster_reason = if config.database_url_is_explicit() {
        None
    } else {
        probe(&options.probe_url, options.probe_timeout)
            .await
            .err()
            .map(|reason| {
                format!(
                    "no usable PostgreSQL at {} ({reason})",
                    redact(&options.probe_url)
                )
            })
    };
    // Either setting is a key the operator chose (the list wins when both are set).
    let unset = |s: &Option<crate::config::Secret>| {
        s.as_ref()
            .map(|s| s.expose())
            .is_none_or(|s| s.trim().is_empty())
    };
    let generate_secret = unset(&config.jwt.jwt_secret) && unset(&config.jwt.jwt_secrets);
    (cluster_reason.is_some() || generate_secret).then_some(DevPlan {
        options,
        cluster_reason,
        generate_secret,
    })
}

impl DevPlan {
    /// Starts the private cluster and loads or generates the JWT secret as planned, and
    /// fills in local defaults for what is left unset (URLs, loopback listening).
    pub async fn apply(self, config: &mut Config) -> Result<DevEnvironment, DevModeError> {
        let DevPlan {
            options,
            cluster_reason,
            generate_secret,
        } = self;
        // Built first so that an error below stops a cluster started here (Drop).
        let mut env = DevEnvironment {
            dir: options.dir.clone(),
            cluster: None,
            cluster_reason: None,
            database_url: None,
            jwt_secret_file: None,
            jwt_secret_created: false,
            defaults: Vec::new(),
        };

        if let Some(reason) = cluster_reason {
            let dir = cluster_dir(&options.dir).await?;
            let started = PrivateCluster::start(&dir).await?;
            env.cluster = Some(started.clone());
            started.ensure_database(DEV_DATABASE).await?;
            let url = format!("{}?sslmode=disable", started.url(DEV_DATABASE));
            tracing::warn!(
                "development mode: no database URL given (POSTGRES_CONNECTION) and {reason}; \
                 using a private PostgreSQL cluster in {}",
                shown_path(started.dir())
            );
            config.database.postgres = Some(url.clone().into());
            env.database_url = Some(url);
            env.cluster_reason = Some(reason);
        }

        if generate_secret {
            let path = options.dir.join(JWT_SECRET_FILE);
            let (secret, created) = load_or_create_jwt_secret(&path)?;
            config.jwt.jwt_secret = Some(secret.into());
            env.jwt_secret_file = Some(path);
            env.jwt_secret_created = created;
        }

        if config.server.server_url.is_empty() {
            config.server.server_url = format!(
                "http://localhost:{}{}",
                config.server.port, config.server.api_prefix
            );
            env.defaults.push((
                "Server URL",
                format!("{} (AUTH_SERVER_URL)", config.server.server_url),
            ));
        }
        if config.client.client_url.is_empty() {
            config.client.client_url = DEV_CLIENT_URL.to_owned();
            env.defaults.push((
                "Client URL",
                format!("{} (AUTH_CLIENT_URL)", config.client.client_url),
            ));
        }
        // A development server is for this machine only, unless told otherwise.
        if config.server.host.trim().is_empty() {
            config.server.host = DEV_HOST.to_owned();
            env.defaults.push((
                "Listening",
                format!("on {DEV_HOST} only (AUTH_HOST=0.0.0.0 for every interface)"),
            ));
        }
        Ok(env)
    }
}

/// Where the private cluster lives: `<state folder>/postgres`, unless this process runs
/// as root and the `postgres` user (who runs the server) cannot enter the state folder,
/// as in a checkout under /root or a `mktemp -d` folder. Then a folder in that user's
/// home directory, named after the state folder's path so each checkout keeps its own.
async fn cluster_dir(state_dir: &Path) -> Result<PathBuf, DevModeError> {
    fs::create_dir_all(state_dir).map_err(io_err(format!("create {}", state_dir.display())))?;
    if pg_cluster::server_can_enter(&absolute(state_dir)).await? {
        return Ok(state_dir.join("postgres"));
    }
    let unreachable = || DevModeError::Unreachable {
        dir: absolute(state_dir),
    };
    let home = pg_cluster::server_user_home()
        .await
        .ok_or_else(unreachable)?;
    if !pg_cluster::server_can_enter(&home).await? {
        return Err(unreachable());
    }
    let digest = sha2::Sha256::digest(absolute(state_dir).as_os_str().as_encoded_bytes());
    Ok(home.join(format!("hasura-auth-dev-{}", hex::encode(&digest[..6]))))
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

#[cfg(test)]
mod tests {
    use super::*;

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
