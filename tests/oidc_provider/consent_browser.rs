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

/// Forwards connections from `listener` to `target` (`host:port`): the page is then
/// reached as `http://localhost:<port>`, an origin known before the server starts (the
/// relying party's) and one where WebAuthn works over http (a secure context).
async fn forward(listener: tokio::net::TcpListener, target: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

/// Signs up with a passkey from the page's origin: the JSON API, and the browser's
/// `navigator.credentials.create()` with the virtual authenticator. The reply.
const PASSKEY_SIGNUP: &str = r#"(async () => {
  const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const post = async (path, body) => {
    const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const o = await post("/signup/webauthn", { email: "passkey-browser@example.com" });
  if (o.status !== 200) return o;
  const j = o.body;
  const cred = await navigator.credentials.create({ publicKey: {
    ...j,
    challenge: dec(j.challenge),
    user: { ...j.user, id: dec(j.user.id) },
    excludeCredentials: (j.excludeCredentials || []).map((c) => ({ ...c, id: dec(c.id) })),
  } });
  return post("/signup/webauthn/verify", { credential: {
    id: cred.id,
    rawId: enc(cred.rawId),
    type: cred.type,
    clientExtensionResults: cred.getClientExtensionResults(),
    response: {
      clientDataJSON: enc(cred.response.clientDataJSON),
      attestationObject: enc(cred.response.attestationObject),
      transports: cred.response.getTransports(),
    },
  } });
})()"#;

/// Opens the page of request `id` at `origin` and waits for the passkey button.
async fn open_page_at(cdp: &mut Cdp, origin: &str, id: &str) {
    cdp.call(
        "Page.navigate",
        json!({"url": format!("{origin}/oauth2/ui/login?request_id={id}")}),
    )
    .await;
    assert!(
        cdp.wait_for("document.readyState === 'complete' && !!document.getElementById('passkey')")
            .await,
        "the sign-in page with its passkey button did not load"
    );
    cdp.call("Page.bringToFront", json!({})).await;
    cdp.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    )
    .await;
}

#[tokio::test]
async fn chromium_signs_in_with_a_passkey_and_approves() {
    let Some(binary) = find_chromium() else {
        return;
    };
    let front = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind front");
    let origin = format!(
        "http://localhost:{}",
        front.local_addr().expect("addr").port()
    );
    let origins = format!("--webauthn-rp-origins={origin}");
    let app = provider_app(&[BUILTIN, "--webauthn-enabled=true", &origins]).await;
    let proxy = forward(front, app.base.trim_start_matches("http://").to_owned()).await;
    let (redirect, seen, server) = callback_server().await;
    let client = insert_client(&app, Some(CLIENT_SECRET), &[&redirect], None).await;

    let (_chromium, endpoint) = Chromium::launch(&binary).await;
    let mut cdp = Cdp::connect(&endpoint).await;
    cdp.open_page().await;
    cdp.call("Page.enable", json!({})).await;
    cdp.call("WebAuthn.enable", json!({"enableUI": false}))
        .await;
    cdp.call(
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

    let id = crate::consent_page::start(&app, &client, &redirect, "openid email").await;
    open_page_at(&mut cdp, &origin, &id).await;
    let signup = cdp.eval(PASSKEY_SIGNUP).await;
    assert_eq!(signup["status"], 200, "{signup}");
    let user = signup["body"]["session"]["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!user.is_empty(), "{signup}");
    check_accessible(&mut cdp).await;
    let label = cdp
        .eval("document.getElementById('passkey').tagName + ':' + document.getElementById('passkey').textContent")
        .await;
    assert_eq!(label, json!("BUTTON:Sign in with a passkey"));

    // An address with no passkey first: the error lands in the alert region, announced.
    tab_to(&mut cdp, "email").await;
    cdp.type_text("nobody@example.com").await;
    tab_to(&mut cdp, "password").await;
    tab_to(&mut cdp, "signin").await;
    tab_to(&mut cdp, "passkey").await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("!document.getElementById('passkey-error').hidden")
            .await,
        "no passkey error shown"
    );
    let alert = cdp
        .eval("[document.getElementById('passkey-error').getAttribute('role'), document.getElementById('passkey-error').textContent]")
        .await;
    assert_eq!(
        alert,
        json!(["alert", "No passkey can be used for this email address."])
    );
    assert!(
        cdp.wait_for("!document.getElementById('passkey').disabled")
            .await
    );

    // No address: the browser offers the discoverable passkey; keyboard only.
    cdp.eval("document.getElementById('email').value = ''")
        .await;
    cdp.eval("document.getElementById('passkey').focus()").await;
    cdp.press("Enter").await;
    let consent = cdp.wait_for("!!document.getElementById('approve')").await;
    if !consent {
        let why = cdp
            .try_eval("location.href + ' | ' + (document.getElementById('passkey-error') || {}).textContent")
            .await;
        panic!("the consent view did not load after the passkey: {why:?}");
    }
    check_accessible(&mut cdp).await;
    let shown = cdp.eval("document.body.innerText").await;
    assert!(
        shown
            .as_str()
            .unwrap_or_default()
            .contains("Signed in as passkey-browser@example.com"),
        "{shown}"
    );
    // The page's sign-in made no session: only the sign-up's.
    let db = app.db.client().await;
    let sessions: i64 = db
        .query_one(
            "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1::text::uuid",
            &[&user],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(sessions, 1);

    cdp.call("Page.bringToFront", json!({})).await;
    tab_to(&mut cdp, "approve").await;
    let before = seen.lock().unwrap().len();
    cdp.press("Enter").await;
    let url = landed(&seen, before).await;
    let params = query_of(&url);
    assert_eq!(params["state"], "st-7");
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
    assert_eq!(id_token["email"], "passkey-browser@example.com");

    server.abort();
    proxy.abort();
}
