//! WebAuthn: every ceremony against a real server, with a software authenticator
//! (`authenticator.rs`) and with headless Chromium's virtual authenticator
//! (`browser.rs`).

#[path = "../support/mod.rs"]
mod support;

mod authenticator;
mod browser;
mod ceremonies;
mod failures;
mod keys;

use base64::Engine;
use serde_json::{Value, json};

use authenticator::Authenticator;
use support::app::{CLIENT_URL, TestApp};

/// A server with WebAuthn on and no email verification (sessions right away).
pub async fn app(extra: &[&str]) -> TestApp {
    let mut args = vec!["--webauthn-enabled", "--email-verification-required=false"];
    args.extend_from_slice(extra);
    TestApp::with(&args).await
}

/// An authenticator on the client URL's origin (RP ID `localhost`).
pub fn authenticator() -> Authenticator {
    Authenticator::new(CLIENT_URL)
}

/// Signs up with a new passkey; returns the session.
pub async fn passkey_signup(app: &TestApp, auth: &mut Authenticator, email: &str) -> Value {
    let options = app.post("/signup/webauthn", json!({"email": email})).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = auth.create(&options.body);
    let r = app
        .post(
            "/signup/webauthn/verify",
            json!({"credential": credential, "nickname": "laptop"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["session"].clone()
}

/// Signs in with the passkey (by email when given, else discoverable); returns the reply.
pub async fn passkey_signin(
    app: &TestApp,
    auth: &mut Authenticator,
    email: Option<&str>,
) -> support::app::Reply {
    let body = match email {
        Some(e) => json!({"email": e}),
        None => json!({}),
    };
    let options = app.post("/signin/webauthn", body).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = auth.get(&options.body);
    app.post("/signin/webauthn/verify", json!({"credential": credential}))
        .await
}

/// The Hasura claims of an access token.
pub fn hasura_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    v["https://hasura.io/jwt/claims"].clone()
}

pub fn access_token(session: &Value) -> String {
    session["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("no access token in {session}"))
        .to_owned()
}

/// One row as JSON, from a query returning a single `row_to_json`-able row.
pub async fn sql_json(app: &TestApp, query: &str) -> Value {
    let client = app.db.client().await;
    let row = client
        .query_one(
            &format!("SELECT row_to_json(q)::text FROM ({query}) q"),
            &[],
        )
        .await
        .expect("query");
    let text: String = row.get(0);
    serde_json::from_str(&text).expect("json row")
}

/// Rows as JSON.
pub async fn sql_rows(app: &TestApp, query: &str) -> Vec<Value> {
    let client = app.db.client().await;
    client
        .query(
            &format!("SELECT row_to_json(q)::text FROM ({query}) q"),
            &[],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| serde_json::from_str(&r.get::<_, String>(0)).expect("json row"))
        .collect()
}
