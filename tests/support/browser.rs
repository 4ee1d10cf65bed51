//! Headless Chromium driven over the DevTools protocol (a websocket, numbered calls):
//! the WebAuthn browser test and the OAuth2 consent page's browser test use it.
//!
//! Chromium is found as `$CHROMIUM`, else `chromium` / `chromium-browser` /
//! `google-chrome` on the PATH; `.ci/run` installs Debian's `chromium`. When no binary
//! exists a test fails under CI (`CI=true`) and is skipped with a visible note elsewhere
//! (`support::tools`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The Chromium binary; `None` (with a note) when there is none, outside CI.
pub fn find_chromium() -> Option<PathBuf> {
    super::tools::require_one_of(
        &["chromium", "chromium-browser", "google-chrome"],
        Some("CHROMIUM"),
        "install Debian's `chromium`",
    )
}

/// A headless Chromium with its own profile, killed and cleaned up on drop.
pub struct Chromium {
    child: std::process::Child,
    profile: PathBuf,
}

impl Chromium {
    pub async fn launch(binary: &PathBuf) -> (Chromium, String) {
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
pub struct Cdp {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    pub session: Option<String>,
}

impl Cdp {
    pub async fn connect(url: &str) -> Cdp {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("DevTools websocket");
        Cdp {
            ws,
            next_id: 0,
            session: None,
        }
    }

    pub async fn call(&mut self, method: &str, params: Value) -> Value {
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
    pub async fn eval(&mut self, expression: &str) -> Value {
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

impl Cdp {
    /// A page attached to this connection (later calls go to it).
    pub async fn open_page(&mut self) {
        let target = self
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        self.session = attached["sessionId"].as_str().map(str::to_owned);
    }

    /// Like [`Cdp::eval`], but `None` when the page threw or is between documents.
    pub async fn try_eval(&mut self, expression: &str) -> Option<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": "Runtime.evaluate", "params":
            {"expression": expression, "awaitPromise": true, "returnByValue": true}});
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
                .unwrap_or_else(|_| panic!("DevTools did not answer {expression}"));
            let Some(Ok(Message::Text(text))) = next else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if v["id"] == json!(id) {
                if v.get("error").is_some() || v["result"].get("exceptionDetails").is_some() {
                    return None;
                }
                return Some(v["result"]["result"]["value"].clone());
            }
        }
    }

    /// Polls `condition` (a JS expression) until it is `true`, for up to 20 s.
    pub async fn wait_for(&mut self, condition: &str) -> bool {
        for _ in 0..200 {
            if self.try_eval(condition).await == Some(json!(true)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// One key pressed and released (`Tab`, `Enter`), as the keyboard sends it.
    pub async fn press(&mut self, key: &str) {
        let (code, text) = match key {
            "Tab" => (9, None),
            "Enter" => (13, Some("\r")),
            " " => (32, Some(" ")),
            other => panic!("no key code for {other}"),
        };
        let mut down = json!({"type": "keyDown", "key": key, "code": if key == " " { "Space" } else { key },
            "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code});
        if let Some(t) = text {
            down["text"] = json!(t);
            down["unmodifiedText"] = json!(t);
        }
        self.call("Input.dispatchKeyEvent", down.clone()).await;
        let mut up = down;
        up["type"] = json!("keyUp");
        if let Some(o) = up.as_object_mut() {
            o.remove("text");
            o.remove("unmodifiedText");
        }
        self.call("Input.dispatchKeyEvent", up).await;
    }

    /// Text typed into the focused element.
    pub async fn type_text(&mut self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }
}
