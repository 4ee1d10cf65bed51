//! The provider's own tokens: handed out once after the callback
//! (`GET /signin/provider/{provider}/callback/tokens`) and refreshed through the
//! provider (`POST /token/provider/{provider}`), in @nhost/nhost-js 4.x's
//! `ProviderSession` shape.

use serde_json::json;

use super::fake_provider::{ClientAuth, FakeProvider, Settings};
use super::flow;
use super::support::app::TestApp;
use super::{app, oauth2_flags};

async fn signed_in() -> (FakeProvider, TestApp, String) {
    let fake = FakeProvider::start(
        Settings::new("client-google", "secret-google", ClientAuth::Body).profile(
            "/userinfo",
            json!({"id": "g-1", "email": "jane@gmail.test", "verified_email": true, "name": "Jane"}),
        ),
    )
    .await;
    let mut flags = oauth2_flags("google", &fake, "/userinfo");
    flags.extend(
        super::fake_twitter::FakeTwitter::start(json!({}))
            .await
            .flags(),
    );
    let app = app(&flags, &[]).await;
    let session = flow::session(
        &app,
        &flow::sign_in(&app, "google", "").await.refresh_token(),
    )
    .await;
    let access = session["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (fake, app, access)
}

#[tokio::test]
async fn the_provider_session_is_handed_out_once() {
    let (_fake, app, access) = signed_in().await;
    let r = app
        .get_auth("/signin/provider/google/callback/tokens", &access)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let links = flow::links(&app, "google").await;
    assert_eq!(r.body["accessToken"], links[0].2.as_str());
    assert_eq!(
        r.body["refreshToken"],
        links[0].3.clone().unwrap_or_default().as_str()
    );
    let expires_in = r.body["expiresIn"].as_i64().unwrap_or_default();
    assert!((3590..=3600).contains(&expires_in), "{}", r.text);
    let expires_at = r.body["expiresAt"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires_at).is_ok(),
        "{expires_at}"
    );
    // Once only.
    app.get_auth("/signin/provider/google/callback/tokens", &access)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn provider_session_needs_a_bearer_an_enabled_provider_and_a_fresh_session() {
    let (_fake, app, access) = signed_in().await;
    app.get("/signin/provider/google/callback/tokens")
        .await
        .assert_error(400, "invalid-request");
    app.get_auth("/signin/provider/github/callback/tokens", &access)
        .await
        .assert_error(409, "disabled-endpoint");
    app.get_auth("/signin/provider/myspace/callback/tokens", &access)
        .await
        .assert_error(400, "invalid-request");
    app.sql("UPDATE hasura_auth.provider_sessions SET created_at = now() - interval '11 minutes'")
        .await;
    app.get_auth("/signin/provider/google/callback/tokens", &access)
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn provider_tokens_are_refreshed_through_the_provider() {
    let (_fake, app, access) = signed_in().await;
    let old = flow::links(&app, "google").await[0].clone();
    let rt = old.3.clone().unwrap_or_default();
    let r = app
        .post_auth(
            "/token/provider/google",
            &access,
            json!({"refreshToken": rt}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_access = r.body["accessToken"].as_str().unwrap_or_default();
    assert!(
        new_access.starts_with("at-") && new_access != old.2,
        "{}",
        r.text
    );
    assert!(r.body["refreshToken"].as_str().is_some_and(|t| t != rt));
    assert_eq!(r.body["expiresIn"], 3600);
    // The link keeps the provider's latest tokens.
    let now = flow::links(&app, "google").await[0].clone();
    assert_eq!(now.2, new_access);
    // The old refresh token was rotated away by the provider.
    app.post_auth(
        "/token/provider/google",
        &access,
        json!({"refreshToken": rt}),
    )
    .await
    .assert_error(400, "oauth-provider-error");
}

#[tokio::test]
async fn provider_refresh_errors() {
    let (_fake, app, access) = signed_in().await;
    let body = json!({"refreshToken": "rt-whatever"});
    app.post("/token/provider/google", body.clone())
        .await
        .assert_error(400, "invalid-request");
    app.post_auth("/token/provider/github", &access, body.clone())
        .await
        .assert_error(409, "disabled-endpoint");
    // OAuth 1.0a has no refresh tokens.
    app.post_auth("/token/provider/twitter", &access, body.clone())
        .await
        .assert_error(400, "oauth-provider-error");
    app.post_auth("/token/provider/google", &access, json!({}))
        .await
        .assert_error(400, "invalid-request");
}
