//! The OAuth `state`: tamper-proof, short-lived, single use, bound to one provider, and
//! stored only as a hash.

use serde_json::json;

use super::fake_provider::{ClientAuth, FakeProvider, Settings};
use super::flow::{self, Landing};
use super::support::app::{Reply, TestApp};
use super::{app, oauth2_flags};

async fn setup() -> (FakeProvider, TestApp) {
    let fake = FakeProvider::start(
        Settings::new("client-google", "secret-google", ClientAuth::Body).profile(
            "/userinfo",
            json!({"id": "g-1", "email": "jane@gmail.test", "verified_email": true, "name": "Jane"}),
        ),
    )
    .await;
    let mut flags = oauth2_flags("google", &fake, "/userinfo");
    // A second provider, served by the same fake, to try a state on the wrong callback.
    flags.extend([
        "--gitlab-enabled".to_owned(),
        "--gitlab-client-id=client-google".to_owned(),
        "--gitlab-client-secret=secret-google".to_owned(),
        format!("--gitlab-authorization-url={}", fake.url("/authorize")),
        format!("--gitlab-token-url={}", fake.url("/token")),
        format!("--gitlab-user-profile-url={}", fake.url("/userinfo")),
    ]);
    let app = app(&flags, &[]).await;
    (fake, app)
}

/// Starts a sign-in and lets the provider answer; returns the callback URL (not yet
/// visited).
async fn callback_url(app: &TestApp, provider: &str) -> String {
    let started = flow::start(
        app,
        provider,
        "redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fapp",
    )
    .await;
    assert_eq!(started.status, 302, "{}", started.text);
    let at_provider = Reply::read(
        app.http
            .get(started.location())
            .send()
            .await
            .expect("provider"),
    )
    .await;
    assert_eq!(at_provider.status, 302);
    at_provider.location()
}

async fn visit(app: &TestApp, url: &str) -> Landing {
    let r = Reply::read(app.http.get(url).send().await.expect("callback")).await;
    assert_eq!(r.status, 302, "{}", r.text);
    Landing::parse(&r.location())
}

fn with_state(url: &str, state: &str) -> String {
    let mut u = url::Url::parse(url).expect("url");
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                state.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

fn state_of(url: &str) -> String {
    url::Url::parse(url)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_tampered_state_is_invalid() {
    let (_fake, app) = setup().await;
    let url = callback_url(&app, "google").await;
    let state = state_of(&url);
    let mut tampered: Vec<char> = state.chars().collect();
    tampered[0] = if tampered[0] == 'A' { 'B' } else { 'A' };
    let landing = visit(
        &app,
        &with_state(&url, &tampered.into_iter().collect::<String>()),
    )
    .await;
    landing.assert_error("invalid-state");
    assert_eq!(
        landing.base(),
        "http://localhost:3000/",
        "to the client URL"
    );
    // The real state still works once.
    visit(&app, &url).await.refresh_token();
}

#[tokio::test]
async fn a_state_works_once() {
    let (_fake, app) = setup().await;
    let url = callback_url(&app, "google").await;
    visit(&app, &url).await.refresh_token();
    visit(&app, &url).await.assert_error("invalid-state");
}

#[tokio::test]
async fn an_expired_state_is_invalid() {
    let (_fake, app) = setup().await;
    let url = callback_url(&app, "google").await;
    app.sql("UPDATE hasura_auth.oauth_states SET expires_at = now() - interval '1 second'")
        .await;
    visit(&app, &url).await.assert_error("invalid-state");
}

#[tokio::test]
async fn a_state_belongs_to_one_provider() {
    let (_fake, app) = setup().await;
    let url = callback_url(&app, "google").await;
    let elsewhere = url.replace("/signin/provider/google/", "/signin/provider/gitlab/");
    visit(&app, &elsewhere).await.assert_error("invalid-state");
    // Presenting it consumed it.
    visit(&app, &url).await.assert_error("invalid-state");
}

#[tokio::test]
async fn a_callback_without_state_is_a_bad_request() {
    let (_fake, app) = setup().await;
    app.get("/signin/provider/google/callback?code=abc")
        .await
        .assert_error(400, "invalid-request");
    let r = app
        .post_raw(
            "/signin/provider/google/callback",
            "code=abc",
            "application/x-www-form-urlencoded",
        )
        .await;
    r.assert_error(400, "invalid-request");
}

#[tokio::test]
async fn only_a_hash_of_the_state_is_stored_and_it_is_short_lived() {
    let (_fake, app) = setup().await;
    let url = callback_url(&app, "google").await;
    let state = state_of(&url);
    assert!(state.len() >= 43, "256 random bits: {state}");
    let client = app.db.client().await;
    let rows = client
        .query(
            "SELECT state_hash, data::text, extract(epoch FROM expires_at - created_at)::float8 \
             FROM hasura_auth.oauth_states",
            &[],
        )
        .await
        .expect("states");
    assert_eq!(rows.len(), 1);
    let hash: String = rows[0].get(0);
    let data: String = rows[0].get(1);
    let ttl: f64 = rows[0].get(2);
    assert_ne!(hash, state);
    assert!(!data.contains(&state));
    assert!(ttl <= 600.0, "{ttl}");
    visit(&app, &url).await.refresh_token();
    assert_eq!(
        flow::count(&app, "SELECT count(*) FROM hasura_auth.oauth_states").await,
        0
    );
}
