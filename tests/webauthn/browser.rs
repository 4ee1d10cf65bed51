//! A real browser: headless Chromium with a DevTools virtual authenticator (CTAP2,
//! internal transport, resident keys, user verification) opens a small page served by
//! the test, which calls `navigator.credentials.create()` / `.get()` with the options
//! our server returns and posts the results back. Passkey sign-up, then sign-in, end
//! to end.
//!
//! Chromium is driven by `support::browser` (skipped with a note when there is none,
//! outside CI); any other failure fails the test.

use std::time::Duration;

use serde_json::json;

use crate::support::browser::{Cdp, Chromium, find_chromium};
use crate::{hasura_claims, sql_json};

const PAGE: &str = include_str!("page.html");

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
