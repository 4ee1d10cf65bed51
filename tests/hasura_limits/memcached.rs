//! A private memcached per test (on a free loopback port), when the binary is installed.
//! `.ci/run` installs Debian's `memcached`; elsewhere the memcached tests are skipped with
//! a note, except under CI (`CI=true`), where a missing binary fails them.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

pub struct MemcachedServer {
    pub addr: String,
    child: Child,
}

fn binary() -> Option<&'static str> {
    ["/usr/bin/memcached", "/usr/local/bin/memcached"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

impl MemcachedServer {
    /// `None` (with a note) when memcached is not installed outside CI.
    pub async fn start() -> Option<MemcachedServer> {
        let Some(bin) = binary() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("memcached is not installed; .ci/run must install it");
            }
            eprintln!("memcached not installed: skipping (apt-get install memcached)");
            return None;
        };
        for _ in 0..5 {
            let port = super::fakes::reserved_addr().await.port();
            // -u root is needed (and only used) when running as root; -U 0: no UDP.
            let child = Command::new(bin)
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
