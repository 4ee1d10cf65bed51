//! A private memcached per test (on a free loopback port), when `memcached` is on the
//! PATH. `.ci/run` installs Debian's `memcached`; without it the memcached tests fail
//! under CI (`CI=true`) and are skipped with a visible note elsewhere
//! (`support::tools`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct MemcachedServer {
    pub addr: String,
    child: Child,
}

impl MemcachedServer {
    /// `None` (with a note) when memcached is not installed, outside CI.
    pub async fn start() -> Option<MemcachedServer> {
        let bin = crate::support::tools::require_tool("memcached")?;
        for _ in 0..5 {
            let port = super::fakes::reserved_addr().await.port();
            // -u root is needed (and only used) when running as root; -U 0: no UDP.
            let child = Command::new(&bin)
                .args(["-l", "127.0.0.1", "-p", &port.to_string(), "-U", "0"])
                .args(["-u", "root", "-m", "16", "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn memcached");
            let mut server = MemcachedServer {
                addr: format!("127.0.0.1:{port}"),
                child,
            };
            for _ in 0..100 {
                if TcpStream::connect(&server.addr).await.is_ok() {
                    return Some(server);
                }
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // port taken meanwhile: try another
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = server.child.kill();
        }
        panic!("memcached did not start");
    }

    /// The raw value of a key, read with a plain `get`.
    pub async fn get(&self, key: &str) -> Option<String> {
        let mut stream = BufReader::new(TcpStream::connect(&self.addr).await.unwrap());
        stream
            .get_mut()
            .write_all(format!("get {key}\r\n").as_bytes())
            .await
            .unwrap();
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        if line.starts_with("END") {
            return None;
        }
        let mut value = String::new();
        stream.read_line(&mut value).await.unwrap();
        Some(value.trim_end().to_owned())
    }
}

impl Drop for MemcachedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
