//! `POST /signin/idtoken` and `POST /link/idtoken` with Apple and Google id tokens,
//! checked against a local JWKS server.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fake_provider::{ClientAuth, FakeProvider, Settings};
use super::flow;
use super::keys::{self, KEY_B};
use super::support::app::TestApp;

const GOOGLE_AUD: &str = "google-client.apps.googleusercontent.com";
const APPLE_AUD: &str = "com.example.app";

async fn setup(more: &[&str]) -> (FakeProvider, TestApp) {
    let jwks = FakeProvider::start(Settings::new("unused", "unused", ClientAuth::Body)).await;
    let mut flags = vec![
        format!("--google-audience={GOOGLE_AUD}"),
        format!("--google-jwks-url={}", jwks.url("/jwks")),
        format!("--apple-audience={APPLE_AUD}"),
        format!("--apple-jwks-url={}", jwks.url("/jwks")),
    ];
    flags.extend(more.iter().map(|s| s.to_string()));
    let app = super::app(&flags, &[]).await;
    (jwks, app)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn hashed(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

fn google_claims(sub: &str, email: &str) -> Value {
    json!({"iss": "https://accounts.google.com", "aud": GOOGLE_AUD, "sub": sub, "email": email,
           "email_verified": true, "name": "Gina Google", "picture": "https://lh3.test/gina.jpg",
           "iat": now(), "exp": now() + 600, "nonce": hashed("raw-nonce")})
}

async fn sign_in(
    app: &TestApp,
    provider: &str,
    token: &str,
    nonce: &str,
) -> super::support::app::Reply {
    app.post(
        "/signin/idtoken",
        json!({"provider": provider, "idToken": token, "nonce": nonce}),
    )
    .await
}

#[tokio::test]
async fn google_id_token_signs_up_then_signs_in() {
    let (jwks, app) = setup(&[]).await;
    let token = jwks.keys.sign(&google_claims("g-100", "gina@gmail.test"));
    let r = sign_in(&app, "google", &token, "raw-nonce").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["email"], "gina@gmail.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["avatarUrl"], "https://lh3.test/gina.jpg");
    assert_eq!(user["displayName"], "Gina Google");
    let again = sign_in(&app, "google", &token, "raw-nonce").await;
    assert_eq!(again.body["session"]["user"]["id"], user["id"]);
    let links = flow::links(&app, "google").await;
    assert_eq!(
        (links.len(), links[0].1.as_str(), links[0].2.as_str()),
        (1, "g-100", "unset")
    );
}

#[tokio::test]
async fn apple_id_token_with_string_flags_and_no_nonce_claim() {
    let (jwks, app) = setup(&[]).await;
    let token = jwks.keys.sign(&json!({
        "iss": "https://appleid.apple.com", "aud": APPLE_AUD, "sub": "001.apple.sub",
        "email": "a@privaterelay.appleid.com", "email_verified": "true", "is_private_email": "true",
        "iat": now(), "exp": now() + 600}));
    // Without a nonce claim, any nonce (or none) is accepted, as upstream.
    let r = app
        .post(
            "/signin/idtoken",
            json!({"provider": "apple", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["emailVerified"], true);
    assert_eq!(flow::links(&app, "apple").await[0].1, "001.apple.sub");
}

#[tokio::test]
async fn id_tokens_failing_a_check_are_rejected() {
    let (jwks, app) = setup(&[]).await;
    let good = google_claims("g-101", "gina@gmail.test");
    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        c
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("wrong nonce", jwks.keys.sign(&good), "other-nonce"),
        (
            "wrong audience",
            jwks.keys.sign(&with("aud", json!("someone-else"))),
            "raw-nonce",
        ),
        (
            "wrong issuer",
            jwks.keys.sign(&with("iss", json!("https://evil.test"))),
            "raw-nonce",
        ),
        (
            "expired",
            jwks.keys.sign(&with("exp", json!(now() - 120))),
            "raw-nonce",
        ),
        (
            "issued in the future",
            jwks.keys.sign(&with("iat", json!(now() + 600))),
            "raw-nonce",
        ),
        (
            "not valid yet (nbf beyond the 30 s leeway)",
            jwks.keys.sign(&with("nbf", json!(now() + 600))),
            "raw-nonce",
        ),
        (
            "unpublished key",
            keys::sign(KEY_B, "key-a", &good),
            "raw-nonce",
        ),
        ("not a token", "not.a.token".to_owned(), "raw-nonce"),
        (
            "symmetric algorithm",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &good,
                &jsonwebtoken::EncodingKey::from_secret(b"secret"),
            )
            .expect("hs256"),
            "raw-nonce",
        ),
    ];
    for (what, token, nonce) in cases {
        let r = sign_in(&app, "google", &token, nonce).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        assert_eq!(r.body["error"], "invalid-request", "{what}");
    }
    // A token of Google is not an Apple token.
    sign_in(&app, "apple", &jwks.keys.sign(&good), "raw-nonce")
        .await
        .assert_error(400, "invalid-request");
    sign_in(
        &app,
        "google",
        &jwks.keys.sign(&with("sub", json!(""))),
        "raw-nonce",
    )
    .await
    .assert_error(400, "oauth-profile-fetch-failed");
    let mut no_email = good.clone();
    no_email.as_object_mut().map(|c| c.remove("email"));
    sign_in(&app, "google", &jwks.keys.sign(&no_email), "raw-nonce")
        .await
        .assert_error(401, "invalid-email-password");
    sign_in(&app, "facebook", &jwks.keys.sign(&good), "raw-nonce")
        .await
        .assert_error(400, "invalid-request");
    assert_eq!(
        flow::count(&app, "SELECT count(*) FROM auth.users").await,
        0
    );
}

#[tokio::test]
async fn id_token_sign_in_is_disabled_without_an_audience() {
    let app = TestApp::spawn().await;
    sign_in(&app, "google", "a.b.c", "n")
        .await
        .assert_error(409, "disabled-endpoint");
    sign_in(&app, "apple", "a.b.c", "n")
        .await
        .assert_error(409, "disabled-endpoint");
}

#[tokio::test]
async fn a_new_signing_key_is_fetched_when_a_token_names_an_unknown_kid() {
    let (jwks, app) = setup(&[]).await;
    let r = sign_in(
        &app,
        "google",
        &jwks.keys.sign(&google_claims("g-102", "a@gmail.test")),
        "raw-nonce",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The issuer rotates its key; the cached set does not know `key-b`.
    jwks.keys.rotate();
    // Refetches for unknown key ids are at most one per second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = sign_in(
        &app,
        "google",
        &jwks.keys.sign(&google_claims("g-102", "a@gmail.test")),
        "raw-nonce",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn an_unverified_id_token_email_does_not_take_over_an_account() {
    let (jwks, app) = setup(&["--email-verification-required=false"]).await;
    app.signup("gina@gmail.test", "password-123").await;
    let mut claims = google_claims("g-103", "gina@gmail.test");
    claims["email_verified"] = json!(false);
    sign_in(&app, "google", &jwks.keys.sign(&claims), "raw-nonce")
        .await
        .assert_error(401, "unverified-user");
    claims["email_verified"] = json!(true);
    let r = sign_in(&app, "google", &jwks.keys.sign(&claims), "raw-nonce").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["email"], "gina@gmail.test");
}

#[tokio::test]
async fn link_idtoken_links_the_account_to_the_caller() {
    let (jwks, app) = setup(&["--email-verification-required=false"]).await;
    let me = app.signup("me@example.test", "password-123").await;
    let access = me["accessToken"].as_str().unwrap_or_default();
    let token = jwks
        .keys
        .sign(&google_claims("g-104", "elsewhere@gmail.test"));
    let body = json!({"provider": "google", "idToken": token, "nonce": "raw-nonce"});
    let r = app.post_auth("/link/idtoken", access, body.clone()).await;
    assert_eq!(
        (r.status.as_u16(), r.body.clone()),
        (200, json!("OK")),
        "{}",
        r.text
    );
    // Signing in with that Google account now signs in as the caller.
    let r = sign_in(&app, "google", &token, "raw-nonce").await;
    assert_eq!(r.body["session"]["user"]["id"], me["user"]["id"]);
    // Linked already.
    app.post_auth("/link/idtoken", access, body.clone())
        .await
        .assert_error(400, "invalid-request");
    app.post("/link/idtoken", body)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn link_idtoken_requires_an_elevated_token_when_configured() {
    let (jwks, app) = setup(&[
        "--email-verification-required=false",
        "--require-elevated-claim=required",
    ])
    .await;
    let me = app.signup("me@example.test", "password-123").await;
    let token = jwks.keys.sign(&google_claims("g-105", "x@gmail.test"));
    let r = app
        .post_auth(
            "/link/idtoken",
            me["accessToken"].as_str().unwrap_or_default(),
            json!({"provider": "google", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"], "elevated-claim-required");
}

/// Nhost Auth 0.48: `AUTH_PROVIDER_GOOGLE_AUDIENCE` / `AUTH_PROVIDER_APPLE_AUDIENCE` are
/// comma lists; a token for any listed audience is accepted, any other refused.
#[tokio::test]
async fn id_token_audiences_may_be_lists() {
    let jwks = FakeProvider::start(Settings::new("unused", "unused", ClientAuth::Body)).await;
    let flags = vec![
        format!("--google-audience=web-client.test, {GOOGLE_AUD}"),
        format!("--google-jwks-url={}", jwks.url("/jwks")),
        format!("--apple-audience={APPLE_AUD},com.example.watch"),
        format!("--apple-jwks-url={}", jwks.url("/jwks")),
    ];
    let app = super::app(&flags, &[]).await;
    for (i, aud) in ["web-client.test", GOOGLE_AUD].into_iter().enumerate() {
        let mut claims = google_claims(&format!("g-{i}"), &format!("g{i}@gmail.test"));
        claims["aud"] = json!(aud);
        let r = sign_in(&app, "google", &jwks.keys.sign(&claims), "raw-nonce").await;
        assert_eq!(r.status, 200, "{aud}: {}", r.text);
    }
    let mut claims = google_claims("g-x", "gx@gmail.test");
    claims["aud"] = json!("someone-else.test");
    let r = sign_in(&app, "google", &jwks.keys.sign(&claims), "raw-nonce").await;
    assert_eq!(r.status, 400, "{}", r.text);
    let apple = json!({"iss": "https://appleid.apple.com", "aud": "com.example.watch",
                       "sub": "001.apple.watch", "email": "w@privaterelay.appleid.test",
                       "email_verified": "true", "iat": now(), "exp": now() + 600,
                       "nonce": hashed("raw-nonce")});
    let r = sign_in(&app, "apple", &jwks.keys.sign(&apple), "raw-nonce").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Linking a provider account that another user already has: v0.42 answers
/// `invalid-request`, 0.52 `provider-account-already-linked`; linking it again to its
/// own user is `invalid-request` under both.
#[tokio::test]
async fn link_idtoken_to_an_account_linked_to_someone_else_follows_the_contract() {
    for (generation, code) in [
        ("0.42", "invalid-request"),
        ("0.52", "provider-account-already-linked"),
    ] {
        let flag = format!("--upstream-generation={generation}");
        let (jwks, app) = setup(&["--email-verification-required=false", &flag]).await;
        let owner = app.signup("owner@example.test", "password-123").await;
        let other = app.signup("other@example.test", "password-123").await;
        let token = jwks.keys.sign(&google_claims("g-106", "g106@gmail.test"));
        let body = json!({"provider": "google", "idToken": token, "nonce": "raw-nonce"});
        let owner_access = owner["accessToken"].as_str().unwrap_or_default();
        let r = app
            .post_auth("/link/idtoken", owner_access, body.clone())
            .await;
        assert_eq!(r.status, 200, "{}", r.text);

        let r = app
            .post_auth(
                "/link/idtoken",
                other["accessToken"].as_str().unwrap_or_default(),
                body.clone(),
            )
            .await;
        r.assert_error(400, code);
        if generation == "0.52" {
            assert_eq!(
                r.body["message"],
                "This provider account is already linked to a user"
            );
        }
        app.post_auth("/link/idtoken", owner_access, body)
            .await
            .assert_error(400, "invalid-request");
        // The link stayed with its owner.
        let r = sign_in(&app, "google", &token, "raw-nonce").await;
        assert_eq!(r.body["session"]["user"]["id"], owner["user"]["id"]);
    }
}
