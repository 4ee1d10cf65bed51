//! Runs the real binary: JSON logs scanned for secrets after the main flows, and
//! OpenTelemetry traces received by a local OTLP/HTTP collector.

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::db::TestDb;
use support::smtp::{SmtpOptions, SmtpServer};
use tokio::io::AsyncReadExt;

const JWT_KEY: &str = "3ee7c0e9a4d5b1f2c8a7e6d5c4b3a2910f1e2d3c4b5a6978";
const PASSWORD: &str = "Corr3ct-Horse-Battery";
const SMTP_PASSWORD: &str = "smtp-S3cret-pw";
const ADMIN_SECRET: &str = "hasura-Admin-S3cret";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn logs_never_contain_secrets() {
    let db = TestDb::empty().await;
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("mailer", SMTP_PASSWORD)).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("POSTGRES_CONNECTION", &db.url)
        .env(
            "HASURA_GRAPHQL_JWT_SECRET",
            format!(r#"{{"type":"HS256","key":"{JWT_KEY}"}}"#),
        )
        .env("HASURA_GRAPHQL_ADMIN_SECRET", ADMIN_SECRET)
        .env("AUTH_PORT", port.to_string())
        .env("AUTH_SERVER_URL", &base)
        .env("AUTH_CLIENT_URL", "http://localhost:3000")
        .env("AUTH_SMTP_HOST", "127.0.0.1")
        .env("AUTH_SMTP_PORT", smtp.port().to_string())
        .env("AUTH_SMTP_USER", "mailer")
        .env("AUTH_SMTP_PASS", SMTP_PASSWORD)
        .env("AUTH_SMTP_SENDER", "auth@example.com")
        .env("AUTH_ANONYMOUS_USERS_ENABLED", "true")
        .env("AUTH_DEBUG", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    // Drain both pipes while the server runs, or a full pipe would block it.
    let drain = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text).await;
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));

    let http = support::app::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");

    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    let mut secrets: Vec<String> = vec![
        JWT_KEY.into(),
        PASSWORD.into(),
        SMTP_PASSWORD.into(),
        ADMIN_SECRET.into(),
    ];

    post(
        "/signup/email-password",
        json!({"email": "scan@example.com", "password": PASSWORD}),
    )
    .await
    .expect("sign-up");
    let mail = smtp
        .wait_for_message("scan@example.com", Duration::from_secs(10))
        .await;
    let ticket = mail.header("X-Ticket").expect("ticket");
    secrets.push(
        ticket
            .split_once(':')
            .map(|(_, t)| t.to_owned())
            .unwrap_or_default(),
    );
    let link = mail.header("X-Link").expect("link");
    let res = http.get(&link).send().await.expect("verify");
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let refresh = url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "refreshToken")
        .map(|(_, v)| v.into_owned())
        .expect("refresh token");
    secrets.push(refresh.clone());

    let s: Value = post(
        "/signin/email-password",
        json!({"email": "scan@example.com", "password": PASSWORD}),
    )
    .await
    .expect("sign-in")
    .json()
    .await
    .expect("json");
    let access = s["session"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rt = s["session"]["refreshToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    secrets.push(access.clone());
    secrets.push(rt.clone());
    let r: Value = post("/token", json!({"refreshToken": rt}))
        .await
        .expect("refresh")
        .json()
        .await
        .expect("json");
    secrets.push(r["refreshToken"].as_str().unwrap_or_default().to_owned());
    http.get(format!("{base}/user"))
        .bearer_auth(&access)
        .send()
        .await
        .expect("user");
    post(
        "/signin/email-password",
        json!({"email": "scan@example.com", "password": "Wr0ng-password-x"}),
    )
    .await
    .expect("wrong password");
    secrets.push("Wr0ng-password-x".into());
    let a: Value = post("/signin/anonymous", json!({}))
        .await
        .expect("anon")
        .json()
        .await
        .expect("json");
    secrets.push(
        a["session"]["refreshToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    post("/signout", json!({"refreshToken": refresh}))
        .await
        .expect("signout");

    // Password hash and stored token hashes as they are in the database.
    let client = db.client().await;
    let hash: String = client
        .query_one(
            "SELECT password_hash FROM auth.users WHERE email = 'scan@example.com'",
            &[],
        )
        .await
        .expect("hash")
        .get(0);
    secrets.push(hash);
    for row in client
        .query("SELECT refresh_token_hash FROM auth.refresh_tokens", &[])
        .await
        .expect("hashes")
    {
        let h: String = row.get(0);
        secrets.push(h.trim_start_matches("\\x").to_owned());
    }

    let _ = child.start_kill();
    let _ = child.wait().await;
    let logs = format!(
        "{}\n{}",
        stdout.await.unwrap_or_default(),
        stderr.await.unwrap_or_default()
    );
    assert!(
        logs.contains("\"request\"") || logs.contains("request"),
        "logs were captured:\n{logs}"
    );
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !logs.contains(secret.as_str()),
            "secret {secret:?} found in logs:\n{logs}"
        );
    }
}

#[tokio::test]
async fn traces_are_exported_over_otlp_http_when_configured() {
    use std::sync::{Arc, Mutex};

    /// (content type, body) of each export request.
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let received: Received = Arc::default();
    let collector = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post({
            let received = received.clone();
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if let Ok(mut r) = received.lock() {
                    r.push((ct, body.to_vec()));
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let collector_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, collector).await;
    });

    let db = TestDb::empty().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("POSTGRES_CONNECTION", &db.url)
        .env(
            "HASURA_GRAPHQL_JWT_SECRET",
            format!(r#"{{"type":"HS256","key":"{JWT_KEY}"}}"#),
        )
        .env("AUTH_PORT", port.to_string())
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{collector_addr}"),
        )
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let http = support::app::http_client().build().expect("client");
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");
    http.get(format!("{base}/version"))
        .header("X-B3-TraceId", "463ac35c9f6413ad48485a3953bb6124")
        .send()
        .await
        .expect("version");

    let mut exported = false;
    for _ in 0..100 {
        let batches = received.lock().map(|r| r.clone()).unwrap_or_default();
        let all: Vec<u8> = batches.iter().flat_map(|(_, b)| b.clone()).collect();
        let text = String::from_utf8_lossy(&all);
        if text.contains("GET /version") && text.contains("hasura-auth") {
            assert!(
                batches.iter().all(|(ct, _)| ct == "application/x-protobuf"),
                "{batches:?}"
            );
            assert!(
                text.contains("463ac35c9f6413ad48485a3953bb6124"),
                "the B3 trace id is an attribute"
            );
            exported = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.start_kill();
    assert!(exported, "no span for GET /version reached the collector");
}

/// The batching log writer: a request's JSON line reaches stdout while the server runs
/// (within a second, not only when a buffer fills), and every line of the requests
/// served before a SIGTERM is written, whole, by the time the process exits.
#[tokio::test]
async fn request_lines_reach_stdout_promptly_and_all_are_written_by_exit() {
    use tokio::io::AsyncBufReadExt;
    let db = TestDb::empty().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("POSTGRES_CONNECTION", &db.url)
        .env(
            "HASURA_GRAPHQL_JWT_SECRET",
            format!(r#"{{"type":"HS256","key":"{JWT_KEY}"}}"#),
        )
        .env("AUTH_PORT", port.to_string())
        .env("AUTH_SERVER_URL", &base)
        .env("AUTH_CLIENT_URL", "http://localhost:3000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            let _ = tx.send(line);
        }
    });
    let http = support::app::http_client().build().expect("client");
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "server did not start");

    let request_path = |line: &str| -> Option<String> {
        let v: Value = serde_json::from_str(line).ok()?;
        (v["message"] == "request").then(|| v["path"].as_str().unwrap_or_default().to_owned())
    };
    // While running: the line of one request arrives without more traffic.
    http.get(format!("{base}/prompt-line"))
        .send()
        .await
        .expect("request");
    let seen = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some(line) = lines.recv().await {
            if request_path(&line).as_deref() == Some("/prompt-line") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(
        seen,
        Ok(true),
        "the request line was not written within 1 s"
    );

    // A burst, then SIGTERM at once: every line is in the output when the process ends.
    for i in 0..100 {
        http.get(format!("{base}/burst-{i}"))
            .send()
            .await
            .expect("request");
    }
    let pid = child.id().expect("pid") as i32;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exit within 20 s")
        .expect("wait");
    assert!(status.success(), "{status:?}");
    let mut burst = std::collections::BTreeSet::new();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(5), lines.recv()).await {
        let v: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        if let Some(i) = v["path"].as_str().and_then(|p| p.strip_prefix("/burst-")) {
            burst.insert(i.parse::<u32>().expect("burst number"));
        }
    }
    assert_eq!(burst, (0..100).collect(), "request lines lost at exit");
}
