//! The fault suite's harness: the real binary as a child process, PostgreSQL clusters
//! the suite owns, scale (short in `cargo test`, long with `FAULTS_LONG=1`), and the
//! figures each fault prints.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hasura_auth::pg_cluster::{ClusterOptions, PrivateCluster};

use crate::support::app::{CLIENT_URL, HS256_SECRET, http_client};

/// Whether this is the long run (`faults/run.sh`): longer loads, more fuzz cases.
pub fn long() -> bool {
    std::env::var("FAULTS_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `short` in `cargo test`, `long` in the long run.
pub fn scale<T>(short: T, long_value: T) -> T {
    if long() { long_value } else { short }
}

/// One figure line, `FAULT <name>: <text>`, shown even under output capture (as the
/// skip notes of `support::tools` are), and appended to `$FAULTS_REPORT` when set.
pub fn figure(name: &str, text: &str) {
    let line = format!("FAULT {name}: {text}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("FAULTS_REPORT")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// One fault at a time: they measure time and memory, and load the two cores.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

fn scratch(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("faults-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The service binary (`target/<profile>/hasura-auth`) running as a child process.
pub struct Server {
    child: Child,
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub log: PathBuf,
    pub http: reqwest::Client,
    dir: PathBuf,
}

pub struct Options<'a> {
    pub args: &'a [&'a str],
    /// `ulimit -n` of the server process.
    pub max_fds: Option<u32>,
}

impl Server {
    pub async fn start(db_url: &str, args: &[&str]) -> Server {
        Self::start_with(
            db_url,
            Options {
                args,
                max_fds: None,
            },
        )
        .await
    }

    pub async fn start_with(db_url: &str, options: Options<'_>) -> Server {
        let dir = scratch("server");
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = dir.join("server.log");
        let mut argv: Vec<String> = vec![
            format!("--postgres={db_url}"),
            format!("--port={port}"),
            format!("--server-url={base}"),
            format!("--client-url={CLIENT_URL}"),
            "--email-verification-required=false".to_owned(),
            "--templates-path=/nonexistent-test-templates".to_owned(),
        ];
        if !options
            .args
            .iter()
            .any(|a| a.starts_with("--hasura-graphql-jwt-secret="))
        {
            argv.push(format!("--hasura-graphql-jwt-secret={HS256_SECRET}"));
        }
        argv.extend(options.args.iter().map(|a| (*a).to_owned()));
        let bin = env!("CARGO_BIN_EXE_hasura-auth");
        let mut command = match options.max_fds {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        command
            .args(&argv)
            .current_dir(&dir)
            .env("AUTH_LOG_FORMAT_TEXT", "true")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = command.spawn().expect("start hasura-auth");
        let http = http_client()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let server = Server {
            child,
            base,
            addr: format!("127.0.0.1:{port}").parse().expect("addr"),
            log,
            http,
            dir,
        };
        server.wait_healthy().await;
        server
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.http.get(self.url("/healthz")).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server did not start; log:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub fn signal(&self, signal: &str) {
        signal_pids(signal, &[self.pid()]);
    }

    /// Waits for the process to exit; its exit code, or `None` past `limit`.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<Option<i32>> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    pub async fn signup(&self, email: &str) -> serde_json::Value {
        let r = self
            .http
            .post(self.url("/signup/email-password"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("sign-up");
        assert_eq!(r.status(), 200, "sign-up");
        r.json::<serde_json::Value>().await.expect("JSON")["session"].clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

pub fn signal_pids(signal: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .args(pids.iter().map(u32::to_string))
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{signal} {pids:?}");
}

/// A PostgreSQL cluster of the suite's own, to stop and freeze.
pub struct OwnCluster {
    pub cluster: PrivateCluster,
    dir: PathBuf,
}

impl OwnCluster {
    /// `None` (skip, or fail under CI) when the PostgreSQL server programs are missing.
    pub async fn start() -> Option<OwnCluster> {
        let dir = scratch("pg");
        match PrivateCluster::start_with(&dir, ClusterOptions { durable: false }).await {
            Ok(cluster) => {
                cluster.ensure_database("faults").await.expect("database");
                Some(OwnCluster { cluster, dir })
            }
            Err(hasura_auth::pg_cluster::ClusterError::PostgresNotInstalled) => {
                crate::support::tools::require(
                    None,
                    "the PostgreSQL server programs (initdb, pg_ctl) are not installed",
                )
            }
            Err(e) => panic!("private cluster: {e}"),
        }
    }

    pub fn url(&self) -> String {
        self.cluster.url("faults")
    }

    pub async fn stop(&self) {
        self.cluster.stop().await.expect("pg_ctl stop");
    }

    /// Starts it again on the same port (the server's URL must keep working).
    pub async fn restart(&self) {
        let again = PrivateCluster::start_with(&self.dir, ClusterOptions { durable: false })
            .await
            .expect("restart");
        assert_eq!(
            again.port(),
            self.cluster.port(),
            "restarted on another port"
        );
    }

    /// The postmaster and every backend (SIGSTOP them all: a frozen machine).
    pub fn processes(&self) -> Vec<u32> {
        let pid_file = self.cluster.data_dir().join("postmaster.pid");
        let postmaster: u32 = std::fs::read_to_string(pid_file)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
            .expect("postmaster pid");
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid …: the comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(postmaster) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        // A frozen cluster cannot stop: thaw it first.
        let pids = self.processes();
        let _ = Command::new("kill")
            .arg("-CONT")
            .args(pids.iter().map(u32::to_string))
            .status();
        self.cluster.stop_blocking();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Status counts, `{200: n, 503: m}`.
#[derive(Default, Debug, Clone)]
pub struct Tally(pub std::collections::BTreeMap<u16, u64>);

impl Tally {
    pub fn add(&mut self, status: u16) {
        *self.0.entry(status).or_default() += 1;
    }
    pub fn merge(&mut self, other: &Tally) {
        for (s, n) in &other.0 {
            *self.0.entry(*s).or_default() += n;
        }
    }
    pub fn count(&self, pred: impl Fn(u16) -> bool) -> u64 {
        self.0
            .iter()
            .filter(|(s, _)| pred(**s))
            .map(|(_, n)| n)
            .sum()
    }
    pub fn server_errors(&self) -> u64 {
        self.count(|s| s >= 500)
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(s, n)| format!("{s}×{n}")).collect();
        f.write_str(&parts.join(" "))
    }
}
