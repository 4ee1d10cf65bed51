//! A local server that speaks the parts of the Twilio (Messages, Verify) and Modica HTTP
//! APIs the service uses, and records every request it receives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::Bytes,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use base64::Engine;
use serde_json::{Value, json};

/// The code the fake Twilio Verify service "sends".
pub const VERIFY_CODE: &str = "424242";

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// `user:password` from HTTP basic auth.
    pub basic_auth: Option<String>,
    pub content_type: String,
    /// Every header, by lower-case name (the last value of a repeated one).
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }

    /// The 6-digit code inside an SMS text.
    pub fn code_in(text: &str) -> String {
        let re = regex::Regex::new(r"\b\d{6}\b").expect("regex");
        re.find(text).expect("a 6-digit code").as_str().to_owned()
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Recorded>,
    /// Forced answer to every request: status and body.
    fail: Option<(u16, String)>,
    /// Pending Twilio Verify verifications by phone number.
    pending: HashMap<String, String>,
    /// Time every answer waits before it is sent.
    delay: Option<std::time::Duration>,
}

#[derive(Clone)]
pub struct FakeProvider {
    pub base: String,
    shared: Arc<Mutex<Shared>>,
}

impl FakeProvider {
    pub async fn start() -> FakeProvider {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake provider");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new().fallback({
            let shared = shared.clone();
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = shared.clone();
                async move {
                    let delay = shared.lock().expect("lock").delay;
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    answer(&shared, method, uri, headers, body)
                }
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeProvider {
            base: format!("http://{addr}"),
            shared,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().expect("lock").requests.clone()
    }

    pub fn last(&self) -> Recorded {
        self.requests()
            .pop()
            .expect("the provider received a request")
    }

    /// Every following request is answered with this status and body.
    pub fn fail_with(&self, status: u16, body: &str) {
        self.shared.lock().expect("lock").fail = Some((status, body.to_owned()));
    }

    /// Every following answer waits this long.
    pub fn delay_answers(&self, delay: std::time::Duration) {
        self.shared.lock().expect("lock").delay = Some(delay);
    }

    pub fn recover(&self) {
        self.shared.lock().expect("lock").fail = None;
    }
}

fn answer(
    shared: &Mutex<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let basic_auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        basic_auth,
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut shared = shared.lock().expect("lock");
    shared.requests.push(recorded.clone());
    if let Some((status, body)) = &shared.fail {
        let status = StatusCode::from_u16(*status).expect("status");
        return (status, body.clone()).into_response();
    }
    let path = recorded.path.as_str();
    if path.ends_with("/Messages.json") {
        return (
            StatusCode::CREATED,
            axum::Json(json!({"sid": "SM00000000000000000000000000000000", "status": "queued"})),
        )
            .into_response();
    }
    if path.ends_with("/Verifications") {
        let to = recorded.form().get("To").cloned().unwrap_or_default();
        shared.pending.insert(to, VERIFY_CODE.to_owned());
        return (
            StatusCode::CREATED,
            axum::Json(json!({"sid": "VE0", "status": "pending"})),
        )
            .into_response();
    }
    if path.ends_with("/VerificationCheck") {
        let form = recorded.form();
        let to = form.get("To").cloned().unwrap_or_default();
        let code = form.get("Code").cloned().unwrap_or_default();
        return match shared.pending.get(&to) {
            None => (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": 20404, "message": "not found", "status": 404})),
            )
                .into_response(),
            Some(expected) if *expected == code => {
                shared.pending.remove(&to);
                axum::Json(json!({"status": "approved", "valid": true})).into_response()
            }
            Some(_) => axum::Json(json!({"status": "pending", "valid": false})).into_response(),
        };
    }
    if path == "/generic/send" {
        return (StatusCode::OK, "sent").into_response();
    }
    if path == "/rest/sms/v2/messages" {
        return (StatusCode::ACCEPTED, axum::Json(json!({"id": 1}))).into_response();
    }
    (StatusCode::NOT_FOUND, "unknown path").into_response()
}
