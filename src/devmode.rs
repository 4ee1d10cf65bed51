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
//! - in either case, empty `server_url`/`client_url` get local defaults.
//!
//! Whatever is configured explicitly is used as given.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::RngCore;

use crate::config::{Config, DEFAULT_POSTGRES_URL};
use crate::pg_cluster::{ClusterError, PrivateCluster, error_chain};

/// Folder (relative to the working directory) where development mode keeps its state.
pub const DEV_DIR: &str = ".hasura-auth-dev";
/// Name of the generated JWT secret file inside [`DEV_DIR`].
pub const JWT_SECRET_FILE: &str = "jwt-secret.json";
/// Database created in the private cluster (the database name of upstream's default URL).
pub const DEV_DATABASE: &str = "local";
/// Default front-end URL in development mode.
pub const DEV_CLIENT_URL: &str = "http://localhost:3000";

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
