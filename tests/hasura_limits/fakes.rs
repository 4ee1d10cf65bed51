//! Small local HTTP servers standing in for Hasura, HIBP and Cloudflare Turnstile. Each
//! records every request it receives (method, path, headers, body) and answers through a
//! closure the test supplies.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, Uri},
    response::Response,
};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a fake answers.
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub delay: Duration,
}

impl Answer {
    pub fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn text(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
            delay: Duration::ZERO,
        }
    }

    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Recorded, usize) -> Answer + Send + Sync>;

#[derive(Clone)]
struct Shared {
    handler: Handler,
    log: Arc<Mutex<Vec<Recorded>>>,
}

pub struct Fake {
    pub base: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    /// Starts on a free port; `handler` gets each request and its 0-based number.
    pub async fn start(
        handler: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static,
    ) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        Self::serve(listener, Arc::new(handler))
    }

    /// Starts on a given address (to appear after the service already tries it).
    pub async fn start_on(
        addr: SocketAddr,
        handler: impl Fn(&Recorded, usize) -> Answer + Send + Sync + 'static,
    ) -> Fake {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind fake on the reserved port");
        Self::serve(listener, Arc::new(handler))
    }

    fn serve(listener: tokio::net::TcpListener, handler: Handler) -> Fake {
        let addr = listener.local_addr().expect("fake addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            handler,
            log: log.clone(),
        };
        let app = Router::new().fallback(record).with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake {
            base: format!("http://{addr}"),
            log,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path_suffix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.ends_with(path_suffix))
            .collect()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    };
    let n = {
        let mut log = shared.log.lock().unwrap();
        log.push(recorded.clone());
        log.len() - 1
    };
    let answer = (shared.handler)(&recorded, n);
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    Response::builder()
        .status(answer.status)
        .header("content-type", "application/json")
        .body(Body::from(answer.body))
        .unwrap()
}

/// A free loopback port nobody listens on (yet).
pub async fn reserved_addr() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}
