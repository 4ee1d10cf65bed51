//! The HTTP/1.1 server: the accept loop and each connection's time limits, in place of
//! `axum::serve`, which has none (a client that sends nothing, or half its headers,
//! kept its connection, and a file descriptor, for ever).
//!
//! Per connection:
//! - waiting for a request (after connecting, or after the previous response), the
//!   connection is closed after the idle timeout (hyper's header-read timer, which
//!   starts when the connection starts waiting);
//! - once the first byte of a request has arrived, its headers must be complete within
//!   the header-read timeout ([`HeadClock`]);
//! - the body and the handler have their own limits, applied by
//!   [`super::middleware::deadlines`].
//!
//! At most `max_connections` connections are open at once: beyond that the loop stops
//! accepting and new connections wait in the kernel's listen queue. An accept error
//! such as `EMFILE` (out of file descriptors) is logged and retried after a pause
//! instead of ending the loop. After the shutdown signal no connection is accepted, idle
//! ones are closed, in-flight requests finish, and after `shutdown_timeout` whatever
//! is left is closed.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;

/// The connection limits of a listener.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl ServerLimits {
    pub fn from_config(server: &crate::config::ServerConfig) -> ServerLimits {
        ServerLimits {
            header_read_timeout: server.http_header_read_timeout,
            idle_timeout: server.http_idle_timeout,
            max_connections: usize::try_from(server.http_max_connections).unwrap_or(usize::MAX),
            shutdown_timeout: server.shutdown_timeout,
        }
    }
}

/// How long the loop pauses after an accept error that is not the client's (`EMFILE`,
/// `ENFILE`, `ENOBUFS`): the condition usually passes as connections close.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` until `shutdown` resolves, then drains (see the module
/// documentation). Handlers see the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: crate::http::App,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // `true` once draining starts; then `force` once the drain deadline passes.
    let (drain_tx, drain_rx) = watch::channel(false);
    let (force_tx, force_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut last_error_log: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = accept_within(&listener, &slots) => accepted,
        };
        let (stream, peer, slot) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_client_error(&e) => continue,
            Err(e) => {
                // At most one line a second: an fd shortage can last.
                if last_error_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                    tracing::error!(error = %e, "accept failed; retrying");
                    last_error_log = Some(Instant::now());
                }
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let drain = drain_rx.clone();
        let force = force_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, app, limits, drain, force).await;
            drop(slot);
        });
    }
    drop(listener);
    let open = limits.max_connections - slots.available_permits().min(limits.max_connections);
    tracing::info!(
        open_connections = open,
        deadline_s = limits.shutdown_timeout.as_secs_f64(),
        "draining: no new connections, finishing in-flight requests"
    );
    let _ = drain_tx.send(true);
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.shutdown_timeout, slots.acquire_many(all)).await;
    if drained.is_err() {
        let left = limits.max_connections - slots.available_permits().min(limits.max_connections);
        tracing::warn!(
            open_connections = left,
            "drain deadline passed: closing the remaining connections"
        );
        let _ = force_tx.send(true);
        // The connections drop at their next poll; give them a moment to do so.
        let _ = tokio::time::timeout(Duration::from_secs(1), slots.acquire_many(all)).await;
    }
}

/// The next connection, once a slot is free.
async fn accept_within(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> std::io::Result<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(std::io::Error::other)?;
    let (stream, peer) = listener.accept().await?;
    Ok((stream, peer, slot))
}

/// Errors about one incoming connection (it was reset before we took it): skip it.
fn is_client_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: crate::http::App,
    limits: ServerLimits,
    mut drain: watch::Receiver<bool>,
    mut force: watch::Receiver<bool>,
) {
    let clock = Arc::new(HeadClock::default());
    let io = TokioIo::new(Watched {
        inner: stream,
        clock: clock.clone(),
    });
    let service = {
        let clock = clock.clone();
        hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            clock.set(Phase::Busy);
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            let clock = clock.clone();
            async move {
                let res = tower::ServiceExt::oneshot(app, req.map(Body::new)).await;
                // Bytes read from now on belong to the next request's head.
                clock.set(Phase::Idle);
                res
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // hyper starts this timer when the connection starts waiting for a request, so it
        // is the idle limit; the header limit proper is the HeadClock's.
        .header_read_timeout(Some(limits.idle_timeout).filter(|d| !d.is_zero()));
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut head_timeout = pin!(clock.head_timeout(limits.header_read_timeout));
    let mut draining = *drain.borrow();
    if draining {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, peer = %peer, "connection ended");
                }
                return;
            }
            _ = drain.wait_for(|d| *d), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = force.wait_for(|f| *f) => return,
            _ = &mut head_timeout => {
                tracing::debug!(peer = %peer, "request headers not received in time: closing");
                return;
            }
        }
    }
}

/// Where a connection is in its current request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for a request (hyper's idle timer runs).
    Idle,
    /// Part of a request head has arrived, at this instant.
    Head(Instant),
    /// The head is parsed; the request is being handled.
    Busy,
}

/// The header-read clock of one connection: started by the first byte read while idle,
/// stopped when the request reaches the service.
struct HeadClock {
    phase: Mutex<Phase>,
    changed: Notify,
}

impl Default for HeadClock {
    fn default() -> Self {
        HeadClock {
            phase: Mutex::new(Phase::Idle),
            changed: Notify::new(),
        }
    }
}

impl HeadClock {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase;
        self.changed.notify_waiters();
    }

    fn bytes_read(&self) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        if *phase == Phase::Idle {
            *phase = Phase::Head(Instant::now());
            drop(phase);
            self.changed.notify_waiters();
        }
    }

    /// Resolves when a request head has been arriving for longer than `limit` (never
    /// when `limit` is zero: no limit).
    async fn head_timeout(&self, limit: Duration) {
        if limit.is_zero() {
            return std::future::pending().await;
        }
        loop {
            let changed = self.changed.notified();
            let mut changed = pin!(changed);
            changed.as_mut().enable();
            match self.phase() {
                Phase::Head(since) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(since + limit) => {
                            if self.phase() == Phase::Head(since) {
                                return;
                            }
                        }
                        _ = changed => {}
                    }
                }
                Phase::Idle | Phase::Busy => changed.await,
            }
        }
    }
}

/// The connection's socket, telling its [`HeadClock`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    clock: Arc<HeadClock>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.clock.bytes_read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn head_clock_fires_only_while_a_head_is_arriving() {
        let clock = Arc::new(HeadClock::default());
        let limit = Duration::from_secs(10);
        let timeout = tokio::spawn({
            let clock = clock.clone();
            async move { clock.head_timeout(limit).await }
        });
        // Idle for longer than the limit: not this clock's business.
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!timeout.is_finished());
        // A head starts and completes in time; then the request is handled for long.
        clock.bytes_read();
        tokio::time::sleep(Duration::from_secs(5)).await;
        clock.set(Phase::Busy);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(!timeout.is_finished());
        // The next head never completes.
        clock.set(Phase::Idle);
        clock.bytes_read();
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert!(timeout.is_finished());
    }

    #[test]
    fn a_reset_connection_is_skipped_but_fd_exhaustion_pauses() {
        use std::io::{Error, ErrorKind};
        assert!(is_client_error(&Error::from(ErrorKind::ConnectionAborted)));
        // EMFILE: the loop pauses and goes on (see serve).
        assert!(!is_client_error(&Error::from_raw_os_error(24)));
    }
}
