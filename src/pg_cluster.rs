//! A private PostgreSQL cluster: a server of this project's own, created with the installed
//! `initdb` and run with `pg_ctl` in a folder of its own, listening only on 127.0.0.1 on a
//! free port (no unix socket), trust authentication, superuser `postgres`.
//!
//! Two users: development mode starts one when no database is configured
//! ([`crate::devmode`]), and the test suite starts one when no PostgreSQL server answers
//! (`tests/support/db.rs`). Hence it knows nothing of either: a folder in, a running server
//! and its URLs out. Starting is safe from several processes at once (a file lock), a server
//! already running in the folder is reused, and when this process runs as root the programs
//! run as the `postgres` system user, since PostgreSQL refuses to run as root.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Superuser of private clusters (trust authentication, no password).
const SUPERUSER: &str = "postgres";
/// System user that runs PostgreSQL when this process runs as root.
const SYSTEM_USER: &str = "postgres";
/// Seconds `pg_ctl` waits for start/stop.
const PG_CTL_WAIT_SECS: &str = "60";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
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
    #[error("database: {}", error_chain(.0))]
    Postgres(#[from] tokio_postgres::Error),
}

fn io_err(context: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> ClusterError {
    let context = context.to_string();
    move |source| ClusterError::Io { context, source }
}

/// An error and its sources, `a: b: c`.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

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
    pub async fn start(dir: impl AsRef<Path>) -> Result<PrivateCluster, ClusterError> {
        Self::start_with(dir, ClusterOptions::default()).await
    }

    /// [`PrivateCluster::start`] with options (options only apply when this call starts
    /// the server; a running one is reused as it is).
    pub async fn start_with(
        dir: impl AsRef<Path>,
        options: ClusterOptions,
    ) -> Result<PrivateCluster, ClusterError> {
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
        let cluster_err = |message: String| ClusterError::Cluster {
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
    pub async fn ensure_database(&self, name: &str) -> Result<(), ClusterError> {
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
    pub async fn is_running(&self) -> Result<bool, ClusterError> {
        let args: Vec<OsString> = vec!["status".into(), "-D".into(), self.data.clone().into()];
        let out = self.runner.output(&self.pg_ctl, &args, &self.dir).await?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(3) => Ok(false),
            _ => Err(command_error(&self.pg_ctl, &args, &out)),
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`); fine when it is not running.
    pub async fn stop(&self) -> Result<(), ClusterError> {
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
    async fn wait_ready(&self) -> Result<(), ClusterError> {
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
                    return Err(ClusterError::Cluster {
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

fn free_port() -> Result<u16, ClusterError> {
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
async fn lock_file(path: PathBuf) -> Result<File, ClusterError> {
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
    .map_err(|e| ClusterError::Io {
        context: "lock task".into(),
        source: std::io::Error::other(e),
    })?
}

/// The folder holding `initdb` and `pg_ctl`: PATH first, else the newest
/// `/usr/lib/postgresql/<major>/bin` (the one matching an existing cluster preferred).
fn find_bindir(data: &Path) -> Result<PathBuf, ClusterError> {
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
    Err(ClusterError::PostgresNotInstalled)
}

/// Whether the server, run as this process would run it, can enter the existing folder
/// `dir` (and so use a cluster made inside it). Always true unless this process runs as
/// root: then the `postgres` user needs search permission on `dir` and every folder
/// above it, which a folder under /root or made by `mktemp -d` does not give.
pub async fn server_can_enter(dir: &Path) -> Result<bool, ClusterError> {
    let runner = Runner::detect().await?;
    if matches!(runner, Runner::Direct) {
        return Ok(true);
    }
    let test = find_program("test").ok_or_else(|| ClusterError::Io {
        context: "find the `test` program".into(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let args: Vec<OsString> = vec!["-x".into(), dir.as_os_str().to_owned()];
    // `/` as the working directory: the user may not be able to enter ours.
    let out = runner.output(&test, &args, Path::new("/")).await?;
    Ok(out.status.success())
}

/// The home directory of the user that runs the server when this process is root (the
/// `postgres` system user's, e.g. /var/lib/postgresql), if it exists.
pub async fn server_user_home() -> Option<PathBuf> {
    let out = tokio::process::Command::new("getent")
        .args(["passwd", SYSTEM_USER])
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    let line = String::from_utf8_lossy(&out.stdout);
    let home = PathBuf::from(line.trim().split(':').nth(5)?);
    (home.is_absolute() && home.is_dir()).then_some(home)
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
    async fn detect() -> Result<Runner, ClusterError> {
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
            return Err(ClusterError::NoSystemUser);
        };
        let via = if let Some(p) = find_program("runuser") {
            SwitchUser::Runuser(p)
        } else if let Some(p) = find_program("su") {
            SwitchUser::Su(p)
        } else {
            return Err(ClusterError::NoSystemUser);
        };
        Ok(Runner::AsUser { uid, gid, via })
    }

    /// Makes `dir` owned by the user running PostgreSQL.
    fn give_ownership(&self, dir: &Path) -> Result<(), ClusterError> {
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
    ) -> Result<Output, ClusterError> {
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
    ) -> Result<Output, ClusterError> {
        let out = self.output(program, args, cwd).await?;
        if out.status.success() {
            Ok(out)
        } else {
            Err(command_error(program, args, &out))
        }
    }
}

fn command_error(program: &Path, args: &[OsString], out: &Output) -> ClusterError {
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
    ClusterError::Command {
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
}
