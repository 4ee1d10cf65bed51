//! A real browser: headless Chromium with a DevTools virtual authenticator (CTAP2,
//! internal transport, resident keys, user verification) opens a small page served by
//! the test, which calls `navigator.credentials.create()` / `.get()` with the options
//! our server returns and posts the results back. Passkey sign-up, then sign-in, end
//! to end.
//!
//! Chromium is found as `$CHROMIUM`, else `chromium` / `chromium-browser` /
//! `google-chrome` on the PATH; `.ci/run` installs Debian's `chromium`. When no binary
//! exists the test fails under CI (`CI=true`) and is skipped with a visible note elsewhere
//! (`support::tools`); any other failure fails it.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{hasura_claims, sql_json};

const PAGE: &str = include_str!("page.html");

/// The Chromium binary; `None` (with a note) when there is none, outside CI.
fn find_chromium() -> Option<PathBuf> {
    crate::support::tools::require_one_of(
        &["chromium", "chromium-browser", "google-chrome"],
        Some("CHROMIUM"),
        "install Debian's `chromium`",
    )
}

/// A headless Chromium with its own profile, killed and cleaned up on drop.
struct Chromium {
    child: std::process::Child,
    profile: PathBuf,
}

impl Chromium {
    async fn launch(binary: &PathBuf) -> (Chromium, String) {
        let profile =
            std::env::temp_dir().join(format!("hasura-auth-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let child = std::process::Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let chromium = Chromium { child, profile };
        // Chromium writes its port and browser endpoint path here once it listens.
        let file = chromium.profile.join("DevToolsActivePort");
        for _ in 0..300 {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    return (chromium, format!("ws://127.0.0.1:{port}{path}"));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Chromium did not open its DevTools endpoint within 30 s");
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its helper processes may still be writing into the profile for a moment.
        for _ in 0..20 {
            if std::fs::remove_dir_all(&self.profile).is_ok() || !self.profile.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A minimal DevTools-protocol client: numbered calls, events skipped.
struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
}

impl Cdp {
    async fn connect(url: &str) -> Cdp {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("DevTools websocket");
        Cdp {
            ws,
            next_id: 0,
            session: None,
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .expect("send to DevTools");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("DevTools did not answer {method}"));
            let Some(Ok(Message::Text(text))) = next else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if v["id"] == json!(id) {
                if let Some(err) = v.get("error") {
                    panic!("{method} failed: {err}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Evaluates an expression in the page, awaiting a promise; returns its JSON value.
    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression} threw: {e}");
        }
        r["result"]["value"].clone()
    }
}

/// Serves the test page on 127.0.0.1 (reached as `localhost`).
async fn serve_page(listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { axum::response::Html(PAGE) }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

#[tokio::test]
async fn chromium_registers_and_uses_a_passkey() {
    let Some(binary) = find_chromium() else {
        return;
    };

    let page_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind page");
    let page_origin = format!(
        "http://localhost:{}",
        page_listener.local_addr().expect("addr").port()
    );
    let origins = format!("--webauthn-rp-origins={page_origin}");
    let app = crate::app(&[&origins]).await;
    let page_server = serve_page(page_listener).await;

    let (_chromium, endpoint) = Chromium::launch(&binary).await;
    let mut cdp = Cdp::connect(&endpoint).await;
    let target = cdp
        .call("Target.createTarget", json!({"url": "about:blank"}))
        .await;
    let attached = cdp
        .call(
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        )
        .await;
    cdp.session = attached["sessionId"].as_str().map(str::to_owned);

    cdp.call("WebAuthn.enable", json!({"enableUI": false}))
        .await;
    let authenticator = cdp
        .call(
            "WebAuthn.addVirtualAuthenticator",
            json!({"options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserVerified": true,
                "automaticPresenceSimulation": true,
            }}),
        )
        .await;
    let authenticator_id = authenticator["authenticatorId"].clone();

    let url = format!("{page_origin}/?api={}", app.base);
    cdp.call("Page.navigate", json!({"url": url})).await;
    let mut ready = false;
    for _ in 0..100 {
        let state = cdp
            .eval("document.readyState === 'complete' && typeof passkeySignup === 'function'")
            .await;
        if state == json!(true) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the test page did not load from {url}");

    // Sign-up: create() with our creation options, the result posted back.
    let signup = cdp.eval("passkeySignup('browser@example.com')").await;
    assert_eq!(signup["status"], 200, "{signup}");
    let user_id = signup["body"]["session"]["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!user_id.is_empty(), "{signup}");

    // The browser's resident credential carries upstream's user handle.
    let creds = cdp
        .call(
            "WebAuthn.getCredentials",
            json!({"authenticatorId": authenticator_id}),
        )
        .await;
    let cred = &creds["credentials"][0];
    assert_eq!(cred["isResidentCredential"], true, "{creds}");
    use base64::Engine;
    let handle = base64::engine::general_purpose::STANDARD
        .decode(cred["userHandle"].as_str().unwrap_or_default())
        .expect("userHandle");
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(handle),
        user_id
    );
    let raw_id = base64::engine::general_purpose::STANDARD
        .decode(cred["credentialId"].as_str().unwrap_or_default())
        .expect("credentialId");
    let key = sql_json(
        &app,
        "SELECT credential_id, nickname, transports FROM auth.user_security_keys",
    )
    .await;
    assert_eq!(
        key["credential_id"],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw_id)
    );
    assert_eq!(key["nickname"], "chromium");

    // Passkey sign-in: no email, the browser picks the resident credential.
    let signin = cdp.eval("passkeySignin(null)").await;
    assert_eq!(signin["status"], 200, "{signin}");
    assert_eq!(signin["body"]["session"]["user"]["id"], user_id.as_str());

    // Sign-in with the email (allowCredentials).
    let signin = cdp.eval("passkeySignin('browser@example.com')").await;
    assert_eq!(signin["status"], 200, "{signin}");

    // Elevation from the browser.
    let token = signin["body"]["session"]["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let elevated = cdp.eval(&format!("passkeyElevate('{token}')")).await;
    assert_eq!(elevated["status"], 200, "{elevated}");
    let claims = hasura_claims(
        elevated["body"]["session"]["accessToken"]
            .as_str()
            .unwrap_or_default(),
    );
    assert_eq!(claims["x-hasura-auth-elevated"], user_id.as_str());

    // Our stored counter is the authenticator's.
    let creds = cdp
        .call(
            "WebAuthn.getCredentials",
            json!({"authenticatorId": authenticator_id}),
        )
        .await;
    let counter = sql_json(&app, "SELECT counter FROM auth.user_security_keys").await;
    assert_eq!(counter["counter"], creds["credentials"][0]["signCount"]);

    page_server.abort();
}
