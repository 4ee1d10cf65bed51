//! A running server per test: fresh database, real HTTP on 127.0.0.1, real client.

use std::net::SocketAddr;

use hasura_auth::config::Config;
use hasura_auth::http::state::SharedState;
use hasura_auth::startup::{build_state, serve};
use hasura_auth::tls::Tls;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;

use super::db::TestDb;

/// The HS256 secret of upstream's e2e environment.
pub const HS256_SECRET: &str = r#"{"type":"HS256","key":"5152fa850c02dc222631cca898ed1485821a70912a6e3649c49076912daa3b62182ba013315915d64f40cddfbb8b58eb5bd11ba225336a6af45bbae07ca873f3","issuer":"hasura-auth"}"#;
pub const CLIENT_URL: &str = "http://localhost:3000";

/// A client for plain HTTP to the test servers. reqwest has no TLS provider of its own
/// (the service hands every client its configuration), so test clients get one too.
pub fn http_client() -> reqwest::ClientBuilder {
    Tls::with_roots(rustls::RootCertStore::empty())
        .expect("TLS configuration")
        .http_client()
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub db: TestDb,
    pub http: reqwest::Client,
    pub state: SharedState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// With `HASURA_AUTH_TEST_PGBOUNCER=1`: the PgBouncer the server's pool goes through.
    _pgbouncer: Option<super::pgbouncer::PgBouncer>,
}

/// `HASURA_AUTH_TEST_PGBOUNCER=1` runs every server of a test binary through its own
/// PgBouncer in transaction mode (`AUTH_POSTGRES_TRANSACTION_POOLER`; migrations direct),
/// e.g. `HASURA_AUTH_TEST_PGBOUNCER=1 cargo test --test api`. The statement mode is
/// process-wide, so it is all of a binary or none of it. Tests that give their own
/// `--postgres` keep it.
fn through_pgbouncer() -> bool {
    std::env::var("HASURA_AUTH_TEST_PGBOUNCER").is_ok_and(|v| v == "1" || v == "true")
}

/// A response read fully: status, headers and JSON body (`Value::Null` when empty/not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub async fn read(res: reqwest::Response) -> Reply {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// Asserts the standard error body and status.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "status; body: {}", self.text);
        assert_eq!(self.body["error"], code, "error code; body: {}", self.text);
        assert_eq!(
            self.body["status"], status,
            "status field; body: {}",
            self.text
        );
        assert!(
            self.body["message"].is_string(),
            "message; body: {}",
            self.text
        );
    }

    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestApp {
    /// A server with upstream's defaults plus the test database, JWT secret and URLs.
    pub async fn spawn() -> TestApp {
        Self::with(&[]).await
    }

    /// Same, with extra `--flag=value` settings (later ones win).
    pub async fn with(args: &[&str]) -> TestApp {
        let db = TestDb::empty().await;
        Self::with_db(db, args).await
    }

    pub async fn with_db(db: TestDb, args: &[&str]) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind test listener");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        // Defaults for the tests; a test's own value replaces one (a flag given twice is
        // an error). Built-in templates only, unless the test brings its own folder.
        let mut pgbouncer = None;
        let mut postgres = format!("--postgres={}", db.url);
        let mut pooled_args = Vec::new();
        if through_pgbouncer() && !args.iter().any(|a| a.starts_with("--postgres=")) {
            let bouncer = super::pgbouncer::PgBouncer::start(&db.url)
                .await
                .expect("HASURA_AUTH_TEST_PGBOUNCER needs pgbouncer");
            postgres = format!("--postgres={}", bouncer.url_for(&db.url));
            pooled_args.push(format!("--postgres-migrations={}", db.url));
            pooled_args.push("--postgres-transaction-pooler=true".to_owned());
            pgbouncer = Some(bouncer);
        }
        let defaults = [
            postgres,
            format!("--hasura-graphql-jwt-secret={HS256_SECRET}"),
            format!("--client-url={CLIENT_URL}"),
            format!("--server-url={base}"),
            "--templates-path=/nonexistent-test-templates".to_owned(),
            // Most tests pin v0.42's answers; an empty database would get 0.52's under
            // `auto`. Contract tests pass their own `--upstream-generation`.
            "--upstream-generation=0.42".to_owned(),
        ];
        let mut argv: Vec<String> = vec!["hasura-auth".into()];
        for default in defaults {
            let name = default.split('=').next().unwrap_or_default().to_owned();
            if !args.iter().any(|a| a.starts_with(&format!("{name}="))) {
                argv.push(default);
            }
        }
        argv.extend(pooled_args);
        argv.extend(args.iter().map(|s| s.to_string()));
        let config = Config::from_args(argv).expect("test configuration parses");
        let state = build_state(config).await.expect("server state builds");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn({
            let state = state.clone();
            async move {
                let _ = serve(state, listener, async {
                    let _ = rx.await;
                })
                .await;
            }
        });
        let http = http_client()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        TestApp {
            addr,
            base,
            db,
            http,
            state,
            shutdown: Some(tx),
            server: Some(server),
            _pgbouncer: pgbouncer,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: Value) -> Reply {
        Reply::read(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        Reply::read(self.http.get(self.url(path)).send().await.expect("request")).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Reply {
        Reply::read(
            self.http
                .get(self.url(path))
                .bearer_auth(token)
                .send()
                .await
                .expect("request"),
        )
        .await
    }

    /// Signs up (verification disabled in the app) and returns the session JSON.
    pub async fn signup(&self, email: &str, password: &str) -> Value {
        let r = self
            .post(
                "/signup/email-password",
                serde_json::json!({"email": email, "password": password}),
            )
            .await;
        assert_eq!(r.status, 200, "sign-up: {}", r.text);
        r.body["session"].clone()
    }

    pub async fn sql(&self, query: &str) {
        self.db
            .client()
            .await
            .batch_execute(query)
            .await
            .expect("sql");
    }

    /// Stops the server and waits for in-flight requests.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    /// Stops the server and waits until it has drained (the database stays).
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.db.close();
    }
}
