//! A private PgBouncer per test, in **transaction** pooling mode, in front of the test
//! PostgreSQL server, when Debian's `pgbouncer` is installed (`.ci/run` installs it;
//! without it the test fails under CI and is skipped with a note elsewhere, see
//! [`super::tools`]).
//!
//! Few server connections (`default_pool_size = 2`) for many clients, so consecutive
//! transactions of one client connection really land on different server connections, and
//! no `max_prepared_statements` (Debian's 1.18 has none): a named prepared statement
//! would break here, which is the point.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::net::TcpStream;

pub struct PgBouncer {
    /// `host=127.0.0.1 port=…`, for URLs.
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

impl PgBouncer {
    /// Starts a PgBouncer forwarding every database to the server of `upstream_url`
    /// (a `postgres://user@host:port/db` URL with trust authentication, as in the tests).
    pub async fn start(upstream_url: &str) -> Option<PgBouncer> {
        let bin = super::tools::require_tool("pgbouncer")?;
        let upstream = url::Url::parse(upstream_url).expect("postgres URL");
        let host = upstream.host_str().unwrap_or("127.0.0.1").to_owned();
        let pg_port = upstream.port().unwrap_or(5432);
        let user = match upstream.username() {
            "" => "postgres".to_owned(),
            u => u.to_owned(),
        };
        let dir =
            std::env::temp_dir().join(format!("hasura-auth-pgbouncer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("pgbouncer dir");
        let as_root = is_root();
        for _ in 0..5 {
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
                l.local_addr().expect("addr").port()
            };
            let ini = dir.join("pgbouncer.ini");
            std::fs::write(dir.join("users.txt"), format!("\"{user}\" \"\"\n")).expect("auth file");
            std::fs::write(
                &ini,
                format!(
                    "[databases]\n* = host={host} port={pg_port}\n\n[pgbouncer]\n\
                     listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                     auth_type = trust\nauth_file = {auth}\npool_mode = transaction\n\
                     default_pool_size = 2\nmin_pool_size = 2\nserver_round_robin = 1\nmax_client_conn = 500\n\
                     server_reset_query =\nlogfile = {log}\n",
                    auth = dir.join("users.txt").display(),
                    log = dir.join("pgbouncer.log").display(),
                ),
            )
            .expect("pgbouncer.ini");
            let mut cmd = Command::new(&bin);
            if as_root {
                // PgBouncer refuses to run as root; the files must be readable by its user.
                let _ = Command::new("chown")
                    .args(["-R", "postgres"])
                    .arg(&dir)
                    .status();
                cmd.args(["-u", "postgres"]);
            }
            let child = cmd
                .arg(&ini)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn pgbouncer");
            let mut bouncer = PgBouncer {
                port,
                child,
                dir: dir.clone(),
            };
            for _ in 0..100 {
                if TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                    return Some(bouncer);
                }
                if let Ok(Some(_)) = bouncer.child.try_wait() {
                    break; // port taken meanwhile: try another
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = bouncer.child.kill();
            let _ = bouncer.child.wait();
            std::mem::forget(bouncer); // keep the folder for the log below
        }
        let log = std::fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
        panic!("pgbouncer did not start; its log:\n{log}");
    }

    /// `url` (a test database's URL) with PgBouncer's port instead of PostgreSQL's.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("postgres URL");
        parsed.set_host(Some("127.0.0.1")).expect("host");
        parsed.set_port(Some(self.port)).expect("port");
        parsed.to_string()
    }

    /// What PgBouncer logged so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
