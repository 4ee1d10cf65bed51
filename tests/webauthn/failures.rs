//! What the server refuses, and how: each refusal is upstream's error, never a 500.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::{access_token, app, authenticator, passkey_signin, passkey_signup, sql_json};

#[tokio::test]
async fn every_endpoint_is_disabled_by_default() {
    let app = TestApp::with(&["--email-verification-required=false"]).await;
    let session = app.signup("d@example.com", "hunter22").await;
    let token = access_token(&session);
    for path in [
        "/signup/webauthn",
        "/signup/webauthn/verify",
        "/signin/webauthn",
        "/signin/webauthn/verify",
    ] {
        let body = match path {
            "/signup/webauthn" => json!({"email": "x@example.com"}),
            "/signin/webauthn" => json!({}),
            "/signup/webauthn/verify" => json!({"credential": fake_creation()}),
            _ => json!({"credential": fake_assertion()}),
        };
        app.post(path, body)
            .await
            .assert_error(409, "disabled-endpoint");
    }
    for (path, body) in [
        ("/user/webauthn/add", json!({})),
        (
            "/user/webauthn/verify",
            json!({"credential": fake_creation()}),
        ),
        ("/elevate/webauthn", json!({})),
        (
            "/elevate/webauthn/verify",
            json!({"credential": fake_assertion()}),
        ),
    ] {
        app.post_auth(path, &token, body)
            .await
            .assert_error(409, "disabled-endpoint");
    }
}

fn fake_creation() -> Value {
    json!({"id": "AQ", "rawId": "AQ", "type": "public-key",
           "response": {"clientDataJSON": "e30", "attestationObject": "oA"}})
}

fn fake_assertion() -> Value {
    json!({"id": "AQ", "rawId": "AQ", "type": "public-key",
           "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"}})
}

#[tokio::test]
async fn enabling_without_an_rp_id_fails_at_start() {
    let args: Vec<String> = [
        "hasura-auth",
        "--postgres=postgres://nobody@127.0.0.1:1/none",
        "--client-url=",
        "--webauthn-enabled",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let config = hasura_auth::config::Config::from_args(args).expect("config parses");
    let err = hasura_auth::settings::RuntimeSettings::new(config)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("relying party ID"), "{err}");

    let args: Vec<String> = [
        "hasura-auth",
        "--client-url=http://localhost:3000",
        "--webauthn-rp-id=https://example.com",
        "--webauthn-enabled",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let config = hasura_auth::config::Config::from_args(args).expect("config parses");
    let err = hasura_auth::settings::RuntimeSettings::new(config)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("not a domain"), "{err}");
}

#[tokio::test]
async fn signup_start_applies_upstreams_checks_in_order() {
    let app = app(&["--disable-signup"]).await;
    app.post("/signup/webauthn", json!({"email": "a@example.com"}))
        .await
        .assert_error(403, "signup-disabled");
    app.post(
        "/signup/webauthn/verify",
        json!({"credential": fake_creation()}),
    )
    .await
    .assert_error(403, "signup-disabled");

    let app = crate::app(&["--block-email-domains=blocked.com"]).await;
    app.post("/signup/webauthn", json!({"email": "a@blocked.com"}))
        .await
        .assert_error(401, "invalid-email-password");
    app.post(
        "/signup/webauthn",
        json!({"email": "a@example.com", "options": {"allowedRoles": ["admin"]}}),
    )
    .await
    .assert_error(400, "role-not-allowed");
    app.post(
        "/signup/webauthn",
        json!({"email": "a@example.com", "options": {"redirectTo": "https://evil.example.com"}}),
    )
    .await
    .assert_error(400, "redirectTo-not-allowed");
    app.post("/signup/webauthn", json!({"email": "not-an-email"}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn signin_start_errors() {
    let app = app(&[]).await;
    app.post("/signin/webauthn", json!({"email": "nobody@example.com"}))
        .await
        .assert_error(401, "invalid-email-password");
    app.signup("pw@example.com", "hunter22").await;
    app.post("/signin/webauthn", json!({"email": "pw@example.com"}))
        .await
        .assert_error(400, "invalid-request");
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post("/signin/webauthn", json!({"email": "pw@example.com"}))
        .await
        .assert_error(401, "disabled-user");
    // The body is optional.
    let r = app
        .post_raw("/signin/webauthn", "", "application/json")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn replayed_responses_are_refused() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "rep@example.com"}))
        .await;
    let credential = auth.create(&options.body);
    let body = json!({"credential": credential});
    let first = app.post("/signup/webauthn/verify", body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    app.post("/signup/webauthn/verify", body)
        .await
        .assert_error(400, "invalid-request");

    let options = app.post("/signin/webauthn", json!({})).await;
    let assertion = auth.get(&options.body);
    let body = json!({"credential": assertion});
    let first = app.post("/signin/webauthn/verify", body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let again = app.post("/signin/webauthn/verify", body).await;
    again.assert_error(400, "invalid-request");
    assert!(again.text.contains("challenge"), "{}", again.text);
}

#[tokio::test]
async fn wrong_origin_is_refused() {
    let app = app(&["--webauthn-rp-origins=http://localhost:4444"]).await;
    // Registration from an origin that is not allowed.
    let mut evil = crate::authenticator::Authenticator::new("http://localhost:6666");
    let options = app
        .post("/signup/webauthn", json!({"email": "o@example.com"}))
        .await;
    let credential = evil.create(&options.body);
    let r = app
        .post("/signup/webauthn/verify", json!({"credential": credential}))
        .await;
    r.assert_error(400, "invalid-request");
    assert!(r.text.contains("origin"), "{}", r.text);

    // An extra configured origin works, and so does the client URL.
    let mut other = crate::authenticator::Authenticator::new("http://localhost:4444");
    passkey_signup(&app, &mut other, "o@example.com").await;
    let mut auth = authenticator();
    passkey_signup(&app, &mut auth, "o2@example.com").await;

    // An assertion from an origin that is not allowed.
    other.origin = "http://localhost:6666".into();
    passkey_signin(&app, &mut other, Some("o@example.com"))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn wrong_rp_id_is_refused() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    auth.rp_id_override = Some("example.com".into());
    let options = app
        .post("/signup/webauthn", json!({"email": "rp@example.com"}))
        .await;
    let credential = auth.create(&options.body);
    app.post("/signup/webauthn/verify", json!({"credential": credential}))
        .await
        .assert_error(400, "invalid-request");

    let mut auth = authenticator();
    passkey_signup(&app, &mut auth, "rp@example.com").await;
    auth.rp_id_override = Some("example.com".into());
    passkey_signin(&app, &mut auth, None)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn counter_regression_is_refused_and_the_counter_kept() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    passkey_signup(&app, &mut auth, "clone@example.com").await;
    for _ in 0..3 {
        let r = passkey_signin(&app, &mut auth, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // A cloned authenticator that lags behind.
    auth.credentials[0].counter = 1;
    let r = passkey_signin(&app, &mut auth, None).await;
    r.assert_error(400, "invalid-request");
    let k = sql_json(&app, "SELECT counter FROM auth.user_security_keys").await;
    assert_eq!(k["counter"], 3);
    // The same counter again is a regression too.
    auth.credentials[0].counter = 2;
    passkey_signin(&app, &mut auth, None)
        .await
        .assert_error(400, "invalid-request");
    auth.credentials[0].counter = 3;
    let r = passkey_signin(&app, &mut auth, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn unknown_credentials_are_refused() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    let session = passkey_signup(&app, &mut auth, "known@example.com").await;
    let user_id = session["user"]["id"].as_str().unwrap_or_default();

    // A credential the server never saw, claiming a real user.
    let mut stranger = authenticator();
    let handle = crate::keys::upstream_user_handle(user_id);
    stranger.make_credential("localhost", handle);
    passkey_signin(&app, &mut stranger, None)
        .await
        .assert_error(400, "invalid-request");

    // ... and claiming a user that does not exist.
    let mut stranger = authenticator();
    stranger.make_credential(
        "localhost",
        crate::keys::upstream_user_handle(&uuid::Uuid::new_v4().to_string()),
    );
    passkey_signin(&app, &mut stranger, None)
        .await
        .assert_error(400, "invalid-request");

    // A handle that is no user id at all.
    let mut stranger = authenticator();
    stranger.make_credential("localhost", b"garbage".to_vec());
    passkey_signin(&app, &mut stranger, None)
        .await
        .assert_error(400, "invalid-request");

    // A discoverable sign-in without a user handle cannot name the user.
    auth.omit_user_handle = true;
    passkey_signin(&app, &mut auth, None)
        .await
        .assert_error(400, "invalid-request");
    // With the email it is fine (security keys without resident keys).
    let r = passkey_signin(&app, &mut auth, Some("known@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn the_handle_must_match_the_user_of_the_ceremony() {
    let app = app(&[]).await;
    let mut a = authenticator();
    passkey_signup(&app, &mut a, "a@example.com").await;
    let mut b = authenticator();
    passkey_signup(&app, &mut b, "b@example.com").await;
    // B answers a challenge issued for A's email.
    let options = app
        .post("/signin/webauthn", json!({"email": "a@example.com"}))
        .await;
    let mut opts = options.body.clone();
    opts["allowCredentials"] = json!([]);
    let assertion = b.get(&opts);
    app.post("/signin/webauthn/verify", json!({"credential": assertion}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn user_verification_is_required_once_registered_with_it() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    passkey_signup(&app, &mut auth, "uv@example.com").await;
    auth.user_verified = false;
    let r = passkey_signin(&app, &mut auth, None).await;
    r.assert_error(400, "invalid-request");
    assert!(r.text.contains("user verified bit"), "{}", r.text);

    // A key registered without verification may keep signing in without it.
    let mut plain = authenticator();
    plain.user_verified = false;
    passkey_signup(&app, &mut plain, "nouv@example.com").await;
    let r = passkey_signin(&app, &mut plain, None).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // User presence is always required.
    plain.user_present = false;
    passkey_signin(&app, &mut plain, None)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn expired_challenges_are_refused() {
    let app = app(&["--webauthn-attestation-timeout=200"]).await;
    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "late@example.com"}))
        .await;
    assert_eq!(options.body["timeout"], 200);
    let credential = auth.create(&options.body);
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.post("/signup/webauthn/verify", json!({"credential": credential}))
        .await
        .assert_error(400, "invalid-request");
    let n = sql_json(
        &app,
        "SELECT count(*) AS n FROM hasura_auth.webauthn_ceremonies",
    )
    .await;
    assert_eq!(n["n"], 0, "the expired ceremony is gone");
}

#[tokio::test]
async fn a_ceremony_answers_only_its_own_endpoint() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    let session = passkey_signup(&app, &mut auth, "k@example.com").await;
    let token = access_token(&session);
    // A sign-in challenge presented for elevation.
    let options = app.post("/signin/webauthn", json!({})).await;
    let assertion = auth.get(&options.body);
    app.post_auth(
        "/elevate/webauthn/verify",
        &token,
        json!({"credential": assertion}),
    )
    .await
    .assert_error(400, "invalid-request");
    // The sign-in ceremony is still there.
    let r = app
        .post("/signin/webauthn/verify", json!({"credential": assertion}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn malformed_credentials_are_invalid_requests() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    // Each case answers a fresh ceremony, and says why it was refused.
    type Spoil = fn(&mut Value);
    let cases: [(&str, Spoil, &str); 6] = [
        (
            "attestationObject",
            |c| c["response"]["attestationObject"] = json!("AAAA"),
            "webauthn:",
        ),
        (
            "clientDataJSON",
            |c| c["response"]["clientDataJSON"] = json!("bm90IGpzb24"),
            "clientDataJSON",
        ),
        (
            "rawId",
            |c| c["rawId"] = json!("not base64url!"),
            "base64url",
        ),
        ("id", |c| c["id"] = json!("AAAA"), "rawId"),
        ("type", |c| c["type"] = json!("password"), "public-key"),
        ("extra field", |c| c["extra"] = json!(1), "unknown field"),
    ];
    for (what, spoil, reason) in cases {
        let options = app
            .post("/signup/webauthn", json!({"email": "m@example.com"}))
            .await;
        let mut credential = auth.create(&options.body);
        spoil(&mut credential);
        let r = app
            .post("/signup/webauthn/verify", json!({"credential": credential}))
            .await;
        r.assert_error(400, "invalid-request");
        assert!(r.text.contains(reason), "{what}: {}", r.text);
    }
    app.post("/signup/webauthn/verify", json!({}))
        .await
        .assert_error(400, "invalid-request");
    app.post(
        "/signin/webauthn/verify",
        json!({"credential": fake_assertion()}),
    )
    .await
    .assert_error(400, "invalid-request");

    // A signature that does not verify.
    passkey_signup(&app, &mut auth, "sig@example.com").await;
    let options = app.post("/signin/webauthn", json!({})).await;
    let mut assertion = auth.get(&options.body);
    assertion["response"]["signature"] = json!(
        "MEQCIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAiAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    );
    app.post("/signin/webauthn/verify", json!({"credential": assertion}))
        .await
        .assert_error(400, "invalid-request");
    // A valid signature over other data.
    let options = app.post("/signin/webauthn", json!({})).await;
    let mut assertion = auth.get(&options.body);
    let other = auth.get(&options.body);
    assertion["response"]["signature"] = other["response"]["signature"].clone();
    app.post("/signin/webauthn/verify", json!({"credential": assertion}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_with_a_passkey() {
    let app = app(&[]).await;
    let mut auth = authenticator();
    passkey_signup(&app, &mut auth, "gone@example.com").await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    passkey_signin(&app, &mut auth, None)
        .await
        .assert_error(401, "disabled-user");
}
