//! Passkey sign-in on the built-in page (`AUTH_WEBAUTHN_ENABLED`) over HTTP, with the
//! software authenticator of the WebAuthn tests: the button and the script only when
//! WebAuthn is on, the page's CSP then, options and verify as the script sends them
//! (forms, JSON answers), the sign-in cookie and no session, approval, and the
//! refusals (CSRF, unknown request, forged or malformed assertions, hostile bodies).
//! The real browser is in `consent_browser.rs`.

use serde_json::{Value, json};

use crate::authenticator::Authenticator;
use crate::common::*;
use crate::consent_page::*;
use crate::grants::*;
use crate::support::app::{CLIENT_URL, Reply, TestApp};

const WEBAUTHN: &str = "--webauthn-enabled=true";
const SCRIPT: &str = "/oauth2/ui/passkey.js";
const OPTIONS: &str = "/oauth2/ui/passkey-options";
const VERIFY: &str = "/oauth2/ui/passkey-verify";

/// A user signed up with a passkey through the JSON API; returns their id.
async fn passkey_user(app: &TestApp, auth: &mut Authenticator, email: &str) -> String {
    let options = app.post("/signup/webauthn", json!({"email": email})).await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = auth.create(&options.body);
    let r = app
        .post("/signup/webauthn/verify", json!({"credential": credential}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    text(&r.body["session"]["user"], "id")
}

async fn sessions_of(app: &TestApp, user: &str) -> i64 {
    let db = app.db.client().await;
    db.query_one(
        "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1::text::uuid",
        &[&user],
    )
    .await
    .expect("count")
    .get(0)
}

/// The page's CSRF token and whether it shows the passkey button.
async fn page_state(app: &TestApp, id: &str) -> (Reply, String) {
    let page = get_page(app, id, None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let csrf = hidden(&page.text, "csrf");
    (page, csrf)
}

fn csp(r: &Reply) -> String {
    r.headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_passkey_signs_in_for_the_request_and_the_code_is_exchanged() {
    let app = page_app(&[WEBAUTHN]).await;
    let client = confidential_client(&app).await;
    let mut auth = Authenticator::new(CLIENT_URL);
    let user = passkey_user(&app, &mut auth, "passkey-page@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid email").await;

    // The sign-in view: a real button, the alert region, and our one script by nonce.
    let (page, csrf) = page_state(&app, &id).await;
    assert!(
        page.text
            .contains(r#"<button type="button" id="passkey">Sign in with a passkey</button>"#),
        "{}",
        page.text
    );
    assert!(
        page.text
            .contains(r#"id="passkey-error" class="error" role="alert" hidden"#)
    );
    assert!(page.text.contains(&format!(r#"data-csrf="{csrf}""#)));
    let policy = csp(&page);
    let nonce = regex::Regex::new(r"script-src 'nonce-([A-Za-z0-9_-]+)'; connect-src 'self';")
        .unwrap()
        .captures(&policy)
        .unwrap_or_else(|| panic!("a script nonce in {policy}"))[1]
        .to_owned();
    assert!(
        policy.contains(&format!("style-src 'nonce-{nonce}';")),
        "{policy}"
    );
    assert!(!policy.contains("unsafe"), "{policy}");
    assert!(policy.starts_with("default-src 'none';"), "{policy}");
    assert!(page.text.contains(&format!(
        r#"<script src="passkey.js" nonce="{nonce}" defer></script>"#
    )));
    assert_eq!(page.text.matches("<script").count(), 1, "no inline script");

    // The script itself: JavaScript, cacheable, not sniffable.
    let script = app.get(SCRIPT).await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.headers["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(script.headers["cache-control"], "public, max-age=3600");
    assert_eq!(script.headers["x-content-type-options"], "nosniff");
    assert!(script.text.contains("navigator.credentials.get"));
    assert!(script.text.contains("passkey-verify"));

    // Options without an email: a discoverable request, as POST /signin/webauthn.
    let options = post_page(&app, OPTIONS, &[("request_id", &id), ("csrf", &csrf)], None).await;
    assert_eq!(options.status, 200, "{}", options.text);
    assert_eq!(options.headers["cache-control"], "no-store");
    assert_eq!(options.body["rpId"], "localhost");
    assert!(options.body.get("allowCredentials").is_none());
    let credential = auth.get(&options.body);
    let r = post_page(
        &app,
        VERIFY,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("credential", &credential.to_string()),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"location": format!("login?request_id={id}")})
    );
    let (cookie, header) = signin_cookie(&r).expect("sign-in cookie");
    assert!(header.contains("HttpOnly") && header.contains("SameSite=Strict"));
    assert!(header.contains("Max-Age=600"), "{header}");
    assert_eq!(
        sessions_of(&app, &user).await,
        1,
        "only the sign-up's session"
    );

    // The consent view: no script there.
    let consent = get_page(&app, &id, Some(&cookie)).await;
    assert!(
        consent
            .text
            .contains("Signed in as <strong>passkey-page@example.com</strong>"),
        "{}",
        consent.text
    );
    assert!(!consent.text.contains("<script"));
    assert!(!csp(&consent).contains("script-src"));

    let r = post_page(
        &app,
        CONSENT,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("decision", "approve"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let params = query_of(&r.location());
    assert_eq!(params["state"], "st-7");
    let tokens = exchange(
        &app,
        Auth::Basic(&client, CLIENT_SECRET),
        &params["code"],
        None,
    )
    .await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let idt = verified(&app, &text(&tokens.body, "id_token")).await;
    assert_eq!(idt["sub"], user.as_str());

    // The request is spent: its page routes refuse.
    let again = post_page(&app, OPTIONS, &[("request_id", &id), ("csrf", &csrf)], None).await;
    assert_eq!(again.status, 400, "{}", again.text);
    assert!(
        text(&again.body, "message").contains("already completed"),
        "{}",
        again.text
    );
}

#[tokio::test]
async fn with_an_email_the_users_keys_are_offered() {
    let app = page_app(&[WEBAUTHN]).await;
    let client = confidential_client(&app).await;
    let mut auth = Authenticator::new(CLIENT_URL);
    passkey_user(&app, &mut auth, "keys@example.com").await;
    signed_in_user(&app, "nokey@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let (_, csrf) = page_state(&app, &id).await;

    let r = post_page(
        &app,
        OPTIONS,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("email", "keys@example.com"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["allowCredentials"].as_array().map(Vec::len), Some(1));
    let credential = auth.get(&r.body);
    let ok = post_page(
        &app,
        VERIFY,
        &[
            ("request_id", &id),
            ("csrf", &csrf),
            ("credential", &credential.to_string()),
        ],
        None,
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    // An unknown address, one without a key and a malformed one read the same.
    let mut answers = Vec::new();
    for email in ["nobody@example.com", "nokey@example.com", "<b>not an email"] {
        let r = post_page(
            &app,
            OPTIONS,
            &[("request_id", &id), ("csrf", &csrf), ("email", email)],
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{email}: {}", r.text);
        answers.push(r.body);
    }
    assert_eq!(
        answers[0]["message"],
        "No passkey can be used for this email address."
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
}

#[tokio::test]
async fn forged_and_malformed_assertions_are_refused() {
    let app = page_app(&[WEBAUTHN]).await;
    let client = confidential_client(&app).await;
    let mut auth = Authenticator::new(CLIENT_URL);
    let user = passkey_user(&app, &mut auth, "forged@example.com").await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let (_, csrf) = page_state(&app, &id).await;
    let verify = |credential: String| {
        let (app, id, csrf) = (&app, id.clone(), csrf.clone());
        async move {
            post_page(
                app,
                VERIFY,
                &[
                    ("request_id", &id),
                    ("csrf", &csrf),
                    ("credential", &credential),
                ],
                None,
            )
            .await
        }
    };
    let options = || async {
        let r = post_page(&app, OPTIONS, &[("request_id", &id), ("csrf", &csrf)], None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body
    };

    // A flipped signature byte.
    let mut forged = auth.get(&options().await);
    let sig = text(&forged["response"], "signature");
    let mut bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &sig)
        .expect("signature");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    forged["response"]["signature"] = Value::String(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &bytes,
    ));
    let r = verify(forged.to_string()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(
        r.body["message"],
        "The passkey was not accepted. Try again."
    );
    assert_eq!(r.body["error"], "invalid-request");
    assert!(signin_cookie(&r).is_none());

    // The same challenge again (single use), with a good signature this time.
    let options_body = options().await;
    let good = auth.get(&options_body);
    assert_eq!(verify(good.to_string()).await.status, 200);
    let replay = verify(good.to_string()).await;
    assert_eq!(replay.status, 400, "{}", replay.text);
    assert!(signin_cookie(&replay).is_none());

    // Another origin's assertion.
    auth.origin = "https://evil.example.com".to_owned();
    let r = verify(auth.get(&options().await).to_string()).await;
    assert_eq!(r.status, 400, "{}", r.text);
    auth.origin = CLIENT_URL.to_owned();

    // Not an assertion at all.
    for junk in [
        "",
        "{",
        "[]",
        r#"{"id":"x"}"#,
        "<script>alert(1)</script>",
        "null",
    ] {
        let r = verify(junk.to_owned()).await;
        assert_eq!(r.status, 400, "{junk}: {}", r.text);
        assert_eq!(
            r.body["message"],
            "The passkey's answer could not be read. Try again."
        );
    }
    assert_eq!(sessions_of(&app, &user).await, 1);
    assert!(pending(&app, &id).await);
}

#[tokio::test]
async fn forms_without_the_csrf_token_or_a_usable_request_are_refused() {
    let app = page_app(&[WEBAUTHN]).await;
    let client = confidential_client(&app).await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let (_, csrf) = page_state(&app, &id).await;
    let other = start(&app, &client, REDIRECT_URI, "openid").await;
    let (_, other_csrf) = page_state(&app, &other).await;

    for path in [OPTIONS, VERIFY] {
        for fields in [
            vec![("request_id", id.as_str())],
            vec![("request_id", id.as_str()), ("csrf", "forged")],
            vec![("request_id", id.as_str()), ("csrf", other_csrf.as_str())],
        ] {
            let r = post_page(&app, path, &fields, None).await;
            assert_eq!(r.status, 403, "{path} {fields:?}: {}", r.text);
            assert_eq!(r.headers["content-type"], "application/json");
            assert!(text(&r.body, "message").contains("did not come from this page"));
        }
        // A malformed request id, and an unknown one with its own valid token.
        let r = post_page(&app, path, &[("request_id", "nope"), ("csrf", &csrf)], None).await;
        assert_eq!(r.status, 400, "{}", r.text);
        let unknown = uuid::Uuid::new_v4().to_string();
        let key = hasura_auth::service::oauth2_provider::ui::PageKey::from_secret(&rsa_secret());
        let token = key.csrf_token(&format!("login:{unknown}"));
        let r = post_page(
            &app,
            path,
            &[
                ("request_id", &unknown),
                ("csrf", &token),
                ("credential", "{}"),
            ],
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text);
        if path == OPTIONS {
            assert_eq!(r.body["message"], "Unknown authorization request");
        }

        // Hostile bodies: JSON, a repeated field, too large.
        let json_body = app
            .http
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(format!(r#"{{"request_id":"{id}","csrf":"{csrf}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(json_body.status(), 415);
        let twice = app
            .http
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("request_id={id}&csrf={csrf}&csrf={csrf}"))
            .send()
            .await
            .unwrap();
        assert_eq!(twice.status(), 400);
        let huge = app
            .http
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "request_id={id}&csrf={csrf}&credential={}",
                "a".repeat(3 << 20)
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(huge.status(), 413);
    }
    assert!(pending(&app, &id).await);
}

#[tokio::test]
async fn without_webauthn_there_is_no_button_script_or_route() {
    let app = page_app(&[]).await;
    let client = confidential_client(&app).await;
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let (page, csrf) = page_state(&app, &id).await;
    assert!(!page.text.contains("passkey"), "{}", page.text);
    assert!(!page.text.contains("<script"));
    let policy = csp(&page);
    assert!(
        !policy.contains("script-src") && !policy.contains("connect-src"),
        "{policy}"
    );
    assert_eq!(app.get(SCRIPT).await.status, 404);
    for path in [OPTIONS, VERIFY] {
        let r = post_page(&app, path, &[("request_id", &id), ("csrf", &csrf)], None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text);
    }
    // The page itself off: nothing is routed.
    let off = provider_app(&[WEBAUTHN]).await;
    assert_eq!(off.get(SCRIPT).await.status, 404);
}

#[tokio::test]
async fn the_script_is_not_rate_limited_but_the_forms_are() {
    let app = page_app(&[
        WEBAUTHN,
        "--rate-limit-enable=true",
        "--rate-limit-brute-force-burst=3",
    ])
    .await;
    let client = confidential_client(&app).await;
    // authorize (1) and the page (2).
    let id = start(&app, &client, REDIRECT_URI, "openid").await;
    let (_, csrf) = page_state(&app, &id).await;
    for _ in 0..5 {
        assert_eq!(app.get(SCRIPT).await.status, 200);
    }
    let r = post_page(&app, OPTIONS, &[("request_id", &id), ("csrf", &csrf)], None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post_page(&app, OPTIONS, &[("request_id", &id), ("csrf", &csrf)], None).await;
    assert_eq!(r.status, 429, "{}", r.text);
}
