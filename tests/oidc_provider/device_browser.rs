//! The built-in device verification page in a real browser (headless Chromium over the
//! DevTools protocol), keyboard only: the test is the device (it asks `/oauth2/device`
//! for codes and polls `/oauth2/token`), Chromium is the user, who opens
//! `verification_uri_complete` (or types the code at `verification_uri`), signs in and
//! approves or denies.

use serde_json::{Value, json};

use crate::common::*;
use crate::consent_browser::{check_accessible, tab_to};
use crate::consent_page::{BUILTIN, PASSWORD};
use crate::device_page::{authorize_device, poll};
use crate::grants::*;
use crate::support::browser::{Cdp, Chromium, find_chromium};

/// Navigates to `url` and waits until `ready` (a script condition) holds.
async fn open(cdp: &mut Cdp, url: &str, ready: &str) {
    cdp.call("Page.navigate", json!({"url": url})).await;
    assert!(
        cdp.wait_for(&format!("document.readyState === 'complete' && {ready}"))
            .await,
        "{url} did not load"
    );
    cdp.call("Page.bringToFront", json!({})).await;
    cdp.call(
        "Emulation.setFocusEmulationEnabled",
        json!({"enabled": true}),
    )
    .await;
}

async fn shown(cdp: &mut Cdp) -> String {
    let text: Value = cdp.eval("document.body.innerText").await;
    text.as_str().unwrap_or_default().to_owned()
}

/// On the sign-in view: signs in with the keyboard and waits for the consent view.
async fn sign_in(cdp: &mut Cdp, email: &str) {
    tab_to(cdp, "email").await;
    cdp.type_text(email).await;
    tab_to(cdp, "password").await;
    cdp.type_text(PASSWORD).await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("!!document.getElementById('approve')").await,
        "the consent view did not load"
    );
    cdp.call("Page.bringToFront", json!({})).await;
}

#[tokio::test]
async fn chromium_approves_and_denies_a_device_with_the_keyboard() {
    let Some(binary) = find_chromium() else {
        return;
    };
    let app = provider_app(&[BUILTIN]).await;
    let client = public_client(&app).await;
    let (user, _) = signed_in_user(&app, "device-keys@example.com").await;

    let (_chromium, endpoint) = Chromium::launch(&binary).await;
    let mut cdp = Cdp::connect(&endpoint).await;
    cdp.open_page().await;
    cdp.call("Page.enable", json!({})).await;

    // Approval, from verification_uri_complete.
    let r = authorize_device(&app, &client, "openid email").await;
    let device_code = text(&r.body, "device_code");
    let user_code = text(&r.body, "user_code");
    let complete = text(&r.body, "verification_uri_complete");
    open(&mut cdp, &complete, "!!document.getElementById('email')").await;
    check_accessible(&mut cdp).await;
    let page = shown(&mut cdp).await;
    assert!(page.contains(&user_code), "{page}");
    assert!(page.contains(&client), "{page}");
    assert!(page.contains("See your email address"), "{page}");
    sign_in(&mut cdp, "device-keys@example.com").await;
    check_accessible(&mut cdp).await;
    assert!(
        shown(&mut cdp)
            .await
            .contains("Signed in as device-keys@example.com")
    );
    tab_to(&mut cdp, "approve").await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("document.body.innerText.includes('You can return to your device')")
            .await,
        "no result view"
    );
    let tokens = poll(&app, &client, &device_code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id_token = verified(&app, &text(&tokens.body, "id_token")).await;
    assert_eq!(id_token["sub"], user.as_str());

    // Denial, typing the code at verification_uri, a wrong one first.
    let r = authorize_device(&app, &client, "openid").await;
    let device_code = text(&r.body, "device_code");
    let user_code = text(&r.body, "user_code");
    let uri = text(&r.body, "verification_uri");
    open(&mut cdp, &uri, "!!document.getElementById('user_code')").await;
    check_accessible(&mut cdp).await;
    tab_to(&mut cdp, "user_code").await;
    cdp.type_text("nope").await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("!!document.querySelector('[role=alert]')")
            .await,
        "no error shown"
    );
    let described = cdp
        .eval("document.getElementById('user_code').getAttribute('aria-describedby')")
        .await;
    assert_eq!(described, json!("form-error"));
    cdp.call("Page.bringToFront", json!({})).await;
    // Tabbing into a text box selects its text: the new code replaces the wrong one.
    tab_to(&mut cdp, "user_code").await;
    cdp.type_text(&user_code.to_lowercase()).await;
    let typed = cdp.eval("document.getElementById('user_code').value").await;
    assert_eq!(typed, json!(user_code.to_lowercase()));
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("!!document.getElementById('email')").await,
        "the sign-in view did not load"
    );
    cdp.call("Page.bringToFront", json!({})).await;
    sign_in(&mut cdp, "device-keys@example.com").await;
    tab_to(&mut cdp, "approve").await;
    tab_to(&mut cdp, "deny").await;
    cdp.press("Enter").await;
    assert!(
        cdp.wait_for("document.body.innerText.includes('Access denied')")
            .await,
        "no denial view"
    );
    let r = poll(&app, &client, &device_code).await;
    assert_oauth2_error(
        &r,
        400,
        "access_denied",
        "The user denied the authorization request",
    );
}
