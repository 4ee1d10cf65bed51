//! A TCP proxy in front of the test PostgreSQL that a test can take down or freeze, to
//! see what the service does when its database goes away or stops answering, without
//! touching the server other tests share.
//!
//! - [`Mode::Up`]: bytes flow both ways;
//! - [`Mode::Down`]: every open connection is cut and new ones are closed at once (as a
//!   stopped server's port refuses them);
//! - [`Mode::Frozen`]: connections are accepted and kept, but no byte moves (a
//!   SIGSTOPped server: the kernel still completes the handshake, nothing answers).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    Down,
    Frozen,
}

pub struct PgProxy {
    /// `url` with the proxy's address in place of the server's.
    pub url: String,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl PgProxy {
    /// A proxy to the server of `url` (a `postgres://` URL), and the URL to reach it.
    pub async fn start(url: &str) -> PgProxy {
        let mut parsed = url::Url::parse(url).expect("postgres:// URL");
        let upstream = format!(
            "{}:{}",
            parsed.host_str().expect("host"),
            parsed.port().unwrap_or(5432)
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy addr").port();
        parsed.set_host(Some("127.0.0.1")).expect("host");
        parsed.set_port(Some(port)).expect("port");
        let (mode, rx) = watch::channel(Mode::Up);
        let task = tokio::spawn(accept_loop(listener, upstream, rx));
        PgProxy {
            url: parsed.to_string(),
            mode,
            task,
        }
    }

    pub fn set(&self, mode: Mode) {
        let _ = self.mode.send(mode);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: String, mode: watch::Receiver<Mode>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *mode.borrow() == Mode::Down {
            drop(client);
            continue;
        }
        let upstream = upstream.clone();
        let mode = mode.clone();
        tokio::spawn(async move {
            let Ok(Ok(server)) =
                tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&upstream)).await
            else {
                return;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            // Either direction ending (or the proxy going down) ends both.
            tokio::select! {
                _ = pump(cr, sw, mode.clone()) => {}
                _ = pump(sr, cw, mode.clone()) => {}
            }
        });
    }
}

/// Copies `from` to `to` while the mode lets bytes through; returns when either side
/// closes or the mode becomes `Down`.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Hold still while frozen.
        match mode.wait_for(|m| *m != Mode::Frozen).await.map(|m| *m) {
            Ok(Mode::Up) => {}
            _ => return,
        }
        tokio::select! {
            read = from.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                // Bytes read just before a freeze wait for the thaw too.
                match mode.wait_for(|m| *m != Mode::Frozen).await.map(|m| *m) {
                    Ok(Mode::Up) => {}
                    _ => return,
                }
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}
