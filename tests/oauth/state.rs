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

/// A `state` we never issued (an identity-provider-initiated sign-in) is handed back to
/// the client URL as `provider_state`, with `invalid-state`; nobody is signed in.
#[tokio::test]
async fn a_foreign_state_comes_back_as_provider_state() {
    let (_fake, app) = setup().await;
    let url = callback_url(&app, "google").await;
    let landing = visit(&app, &with_state(&url, "idp-initiated/42 & more")).await;
    landing.assert_error("invalid-state");
    assert_eq!(
        landing.base(),
        "http://localhost:3000/",
        "to the client URL"
    );
    assert_eq!(
        landing.get("provider_state"),
        Some("idp-initiated/42 & more")
    );
    assert_eq!(landing.get("state"), None);
    // A used state is no longer ours either: handed back too, never a second session.
    visit(&app, &url).await.refresh_token();
    let again = visit(&app, &url).await;
    again.assert_error("invalid-state");
    assert_eq!(again.get("provider_state"), Some(state_of(&url).as_str()));
    // A huge value is not echoed.
    let landing = visit(&app, &with_state(&url, &"x".repeat(5000))).await;
    landing.assert_error("invalid-state");
    assert_eq!(landing.get("provider_state"), None);
}

/// `upstreamParams` (form-exploded, or as `upstreamParams[name]`) reach the provider's
/// authorization URL; the parameters the service owns cannot be set.
#[tokio::test]
async fn upstream_params_reach_the_provider_but_not_the_owned_ones() {
    let (_fake, app) = setup().await;
    for path in ["/signin/provider/google", "/signup/provider/google"] {
        let r = app
            .get(&format!(
                "{path}?redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fapp&prompt=select_account\
                 &upstreamParams%5Blogin_hint%5D=jane%40gmail.test&connection=c1&state=mine"
            ))
            .await;
        assert_eq!(r.status, 302, "{}", r.text);
        let at = url::Url::parse(&r.location()).expect("provider url");
        let q: Vec<(String, String)> = at.query_pairs().into_owned().collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("prompt"), Some("select_account"), "{at}");
        assert_eq!(get("login_hint"), Some("jane@gmail.test"), "{at}");
        assert_eq!(get("client_id"), Some("client-google"));
        // Our own parameters are not passed on.
        assert_eq!(get("redirectTo"), None, "{at}");
        assert_eq!(get("connection"), None, "{at}");
        assert_ne!(get("state"), Some("mine"), "{at}");
        assert_eq!(q.iter().filter(|(n, _)| n == "state").count(), 1);
    }
    for owned in [
        "scope=openid",
        "redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
        "client_id=other",
        "upstreamParams%5Bresponse_type%5D=token",
        "code_challenge=abc",
        "NONCE=n",
    ] {
        let r = app.get(&format!("/signin/provider/google?{owned}")).await;
        r.assert_error(400, "invalid-request");
        assert!(r.text.contains("upstreamParams"), "{owned}: {}", r.text);
    }
    let many: Vec<String> = (0..21).map(|i| format!("p{i}=v")).collect();
    app.get(&format!("/signin/provider/google?{}", many.join("&")))
        .await
        .assert_error(400, "invalid-request");
    // And the whole round trip still signs in.
    let landing = flow::sign_in(&app, "google", "prompt=login&login_hint=x").await;
    landing.refresh_token();
}
