//! The built-in sign-in and consent page in a real browser (headless Chromium over the
//! DevTools protocol, `support::browser`), with the keyboard only: Tab, typed text and
//! Enter. The client's redirect URI is a small server of the test's, which records where
//! the browser lands. Checked: every input has an accessible name (labels, and
//! Chromium's accessibility tree), the tab order, a visible focus indicator, approval
//! landing on the redirect URI with a code that `/oauth2/token` exchanges, and denial
//! landing there with `error=access_denied`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;
use crate::consent_page::{BUILTIN, PASSWORD};
use crate::grants::*;
use crate::support::browser::{Cdp, Chromium, find_chromium};

/// The client's redirect URI: answers a small page and records each full URL.
async fn callback_server() -> (String, Arc<Mutex<Vec<String>>>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind callback");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("addr").port()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::get({
            let seen = seen.clone();
            let base = base.clone();
            move |uri: axum::http::Uri| async move {
                seen.lock().unwrap().push(format!("{base}{uri}"));
                axum::response::Html("<!DOCTYPE html><title>callback</title><p>back</p>")
            }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("{base}/callback"), seen, server)
}

/// The id of the focused element.
async fn focused(cdp: &mut Cdp) -> Value {
    cdp.eval("document.activeElement ? document.activeElement.id : null")
        .await
}

/// Tab, then checks the focus landed on `id` and is visibly marked.
pub(crate) async fn tab_to(cdp: &mut Cdp, id: &str) {
    cdp.press("Tab").await;
    assert_eq!(focused(cdp).await, json!(id), "tab order");
    let outline = cdp
        .eval("getComputedStyle(document.activeElement).outlineStyle")
        .await;
    assert_ne!(outline, json!("none"), "{id} shows where the focus is");
}

/// Accessibility checks of the page on screen: a language, every visible input with a
/// non-empty label, every text box of the accessibility tree with a name, buttons that
/// are `<button>`s, one `h1`.
pub(crate) async fn check_accessible(cdp: &mut Cdp) {
    let lang = cdp.eval("document.documentElement.lang").await;
    assert_eq!(lang, json!("en"));
    let unlabelled = cdp
        .eval(
            "Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))\
             .filter(i => !i.labels || i.labels.length === 0 || !i.labels[0].textContent.trim())\
             .map(i => i.name)",
        )
        .await;
    assert_eq!(unlabelled, json!([]), "inputs without a label");
    let inputs = cdp
        .eval("document.querySelectorAll('input:not([type=hidden])').length")
        .await;
    let fake_buttons = cdp
        .eval("document.querySelectorAll('[role=button], input[type=submit], a[onclick]').length")
        .await;
    assert_eq!(fake_buttons, json!(0));
    assert_eq!(
        cdp.eval("document.querySelectorAll('h1').length").await,
        json!(1)
    );

    cdp.call("Accessibility.enable", json!({})).await;
    let tree = cdp.call("Accessibility.getFullAXTree", json!({})).await;
    let nodes = tree["nodes"].as_array().cloned().unwrap_or_default();
    let boxes: Vec<&Value> = nodes
        .iter()
        .filter(|n| n["role"]["value"] == "textbox" && n["ignored"] != true)
        .collect();
    assert_eq!(
        json!(boxes.len()),
        inputs,
        "one text box per input: {boxes:?}"
    );
    for b in &boxes {
        let name = b["name"]["value"].as_str().unwrap_or_default();
        assert!(!name.trim().is_empty(), "a text box without a name: {b}");
    }
    let buttons: Vec<String> = nodes
        .iter()
        .filter(|n| n["role"]["value"] == "button" && n["ignored"] != true)
        .map(|n| n["name"]["value"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        !buttons.is_empty() && buttons.iter().all(|n| !n.trim().is_empty()),
        "{buttons:?}"
    );
}

/// Navigates to `/oauth2/authorize` for `client`, and waits for the sign-in form.
async fn open_sign_in(cdp: &mut Cdp, app_base: &str, client: &str, redirect: &str) {
    let q = form(&[
        ("client_id", client),
        ("redirect_uri", redirect),
        ("response_type", "code"),
        ("scope", "openid email profile"),
        ("state", "browser-state"),
    ]);
    cdp.call(
        "Page.navigate",
        json!({"url": format!("{app_base}/oauth2/authorize?{q}")}),
    )
    .await;
    assert!(
        cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('email')")
            .await,
        "the sign-in page did not load"
    );
    // Keyboard events go to the focused page.
    cdp.call("Page.bringToFront", json!({})).await;
    cdp.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    )
    .await;
}

/// Waits for the browser to land on the redirect URI; the URL it landed on.
async fn landed(seen: &Arc<Mutex<Vec<String>>>, before: usize) -> String {
    for _ in 0..200 {
        if let Some(url) = seen.lock().unwrap().get(before) {
            return url.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the browser never reached the redirect URI");
}

#[tokio::test]
async fn chromium_signs_in_approves_and_denies_with_the_keyboard() {
    let Some(binary) = find_chromium() else {
        return;
    };
    let app = provider_app(&[BUILTIN]).await;
    let (redirect, seen, server) = callback_server().await;
    let client = insert_client(&app, Some(CLIENT_SECRET), &[&redirect], None).await;
    let (user, _) = signed_in_user(&app, "keyboard@example.com").await;

    let (_chromium, endpoint) = Chromium::launch(&binary).await;
    let mut cdp = Cdp::connect(&endpoint).await;
    cdp.open_page().await;
    cdp.call("Page.enable", json!({})).await;

    // Approval: sign in, then approve, keyboard only.
    open_sign_in(&mut cdp, &app.base, &client, &redirect).await;
    check_accessible(&mut cdp).await;
    let heading = cdp.eval("document.querySelector('h1').textContent").await;
    assert_eq!(heading, json!("Sign in"));
    let shown = cdp.eval("document.body.innerText").await;
    let shown = shown.as_str().unwrap_or_default();
    assert!(shown.contains(&client), "{shown}");
    assert!(shown.contains("See your email address"), "{shown}");
    assert!(
        shown.contains("See your name, profile picture and language"),
        "{shown}"
    );

    // A wrong password first: the error is announced and tied to the inputs.
    tab_to(&mut cdp, "email").await;
    cdp.type_text("keyboard@example.com").await;
    tab_to(&mut cdp, "password").await;
    cdp.type_text("not-the-password").await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("!!document.querySelector('[role=alert]')")
            .await,
        "no error shown"
    );
    let alert = cdp
        .eval("document.querySelector('[role=alert]').textContent")
        .await;
    assert_eq!(alert, json!("Incorrect email or password."));
    let described = cdp
        .eval("document.getElementById('password').getAttribute('aria-describedby')")
        .await;
    assert_eq!(described, json!("form-error"));
    check_accessible(&mut cdp).await;
    // The address is kept; the password is not.
    let kept = cdp.eval("document.getElementById('email').value").await;
    assert_eq!(kept, json!("keyboard@example.com"));
    assert_eq!(
        cdp.eval("document.getElementById('password').value").await,
        json!("")
    );

    tab_to(&mut cdp, "email").await;
    tab_to(&mut cdp, "password").await;
    cdp.type_text(PASSWORD).await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("!!document.getElementById('approve')").await,
        "the consent view did not load"
    );
    check_accessible(&mut cdp).await;
    let shown = cdp.eval("document.body.innerText").await;
    assert!(
        shown
            .as_str()
            .unwrap_or_default()
            .contains("Signed in as keyboard@example.com"),
        "{shown}"
    );
    cdp.call("Page.bringToFront", json!({})).await;
    tab_to(&mut cdp, "approve").await;
    let before = seen.lock().unwrap().len();
    cdp.press("Enter").await;
    let url = landed(&seen, before).await;
    let params = query_of(&url);
    assert_eq!(params["state"], "browser-state");
    assert_eq!(params["iss"], app.base);
    let code = params.get("code").expect("a code").clone();
    let tokens = post_form(
        &app,
        "/oauth2/token",
        Auth::Basic(&client, CLIENT_SECRET),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &redirect),
        ],
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id_token = verified(&app, &text(&tokens.body, "id_token")).await;
    assert_eq!(id_token["sub"], user.as_str());
    assert_eq!(id_token["email"], "keyboard@example.com");

    // Denial: from the sign-in view, tabbing past the sign-in button to Deny.
    open_sign_in(&mut cdp, &app.base, &client, &redirect).await;
    tab_to(&mut cdp, "email").await;
    tab_to(&mut cdp, "password").await;
    tab_to(&mut cdp, "signin").await;
    tab_to(&mut cdp, "deny").await;
    let before = seen.lock().unwrap().len();
    cdp.press("Enter").await;
    let url = landed(&seen, before).await;
    let params = query_of(&url);
    assert_eq!(params["error"], "access_denied", "{url}");
    assert_eq!(params["state"], "browser-state");
    assert_eq!(params["iss"], app.base);
    assert!(!params.contains_key("code"));

    // Denial after signing in: the consent view's Deny.
    open_sign_in(&mut cdp, &app.base, &client, &redirect).await;
    tab_to(&mut cdp, "email").await;
    cdp.type_text("keyboard@example.com").await;
    tab_to(&mut cdp, "password").await;
    cdp.type_text(PASSWORD).await;
    cdp.press("Enter").await;
    assert!(cdp.wait_for("!!document.getElementById('approve')").await);
    cdp.call("Page.bringToFront", json!({})).await;
    tab_to(&mut cdp, "approve").await;
    tab_to(&mut cdp, "deny").await;
    let before = seen.lock().unwrap().len();
    cdp.press("Enter").await;
    let url = landed(&seen, before).await;
    assert_eq!(query_of(&url)["error"], "access_denied", "{url}");

    server.abort();
}
