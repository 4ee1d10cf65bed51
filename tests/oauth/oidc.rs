//! The generic OpenID Connect provider (`/signin/provider/oidc`), configured only by a
//! discovery URL: endpoints, PKCE, client authentication and keys are discovered.

use serde_json::json;

use super::fake_provider::{ClientAuth, FakeProvider, IdTokens, Settings};
use super::flow;
use super::support::app::TestApp;

async fn idp(claims: serde_json::Value) -> (FakeProvider, TestApp) {
    let mut settings = Settings::new("client-oidc", "secret-oidc", ClientAuth::Basic);
    settings.discovery = true;
    settings.id_tokens = Some(IdTokens {
        issuer: None,
        claims,
        in_token_response: true,
    });
    let fake = FakeProvider::start(settings).await;
    let app = TestApp::with(&[
        "--oidc-enabled",
        "--oidc-client-id=client-oidc",
        "--oidc-client-secret=secret-oidc",
        // The issuer URL works as well as the full discovery URL.
        &format!("--oidc-discovery-url={}", fake.base),
        "--oidc-display-name=Test IdP",
        "--allowed-locales=en,de",
    ])
    .await;
    (fake, app)
}

#[tokio::test]
async fn oidc_signs_up_from_the_id_token_with_nonce_and_pkce() {
    let (fake, app) = idp(json!({"sub": "oidc-user-1", "email": "kim@idp.test", "email_verified": true,
                                 "name": "Kim Lee", "picture": "https://idp.test/kim.png", "locale": "de"}))
    .await;
    let landing = flow::sign_in(&app, "oidc", "").await;
    let user = flow::session(&app, &landing.refresh_token()).await["user"].clone();
    assert_eq!(user["email"], "kim@idp.test");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Kim Lee");
    assert_eq!(user["avatarUrl"], "https://idp.test/kim.png");
    assert_eq!(user["locale"], "de");
    assert_eq!(flow::links(&app, "oidc").await[0].1, "oidc-user-1");
    let authorize = fake.last_authorize();
    assert_eq!(authorize["scope"], "openid email profile");
    assert!(authorize.contains_key("nonce"));
    assert_eq!(authorize["code_challenge_method"], "S256");
    // client_secret_basic, as the discovery document allows.
    assert!(!fake.last_token_request().contains_key("client_secret"));
    // A returning user.
    let again = flow::session(&app, &flow::sign_in(&app, "oidc", "").await.refresh_token()).await;
    assert_eq!(again["user"]["id"], user["id"]);
}

#[tokio::test]
async fn oidc_rejects_id_tokens_with_the_wrong_nonce_audience_or_issuer() {
    let (fake, app) =
        idp(json!({"sub": "u", "email": "kim@idp.test", "email_verified": true})).await;
    for bad in [
        json!({"sub": "u", "email": "kim@idp.test", "nonce": "replayed"}),
        json!({"sub": "u", "email": "kim@idp.test", "aud": "another-client"}),
        json!({"sub": "u", "email": "kim@idp.test", "iss": "https://evil.test"}),
        json!({"sub": "u", "email": "kim@idp.test", "exp": chrono::Utc::now().timestamp() - 120}),
    ] {
        fake.set_id_token_claims(bad.clone());
        flow::sign_in(&app, "oidc", "")
            .await
            .assert_error("oauth-profile-fetch-failed");
    }
    assert_eq!(
        flow::count(&app, "SELECT count(*) FROM auth.users").await,
        0
    );
}

#[tokio::test]
async fn oidc_takes_a_missing_email_from_userinfo_of_the_same_subject_only() {
    let (fake, app) = idp(json!({"sub": "oidc-user-2", "name": "No Mail"})).await;
    fake.set_profile(
        "/userinfo",
        json!({"sub": "oidc-user-2", "email": "nomail@idp.test", "email_verified": true}),
    );
    let landing = flow::sign_in(&app, "oidc", "").await;
    let user = flow::session(&app, &landing.refresh_token()).await["user"].clone();
    assert_eq!(user["email"], "nomail@idp.test");
    assert_eq!(user["displayName"], "No Mail");

    fake.set_id_token_claims(json!({"sub": "oidc-user-3"}));
    fake.set_profile(
        "/userinfo",
        json!({"sub": "someone-else", "email": "victim@idp.test", "email_verified": true}),
    );
    flow::sign_in(&app, "oidc", "")
        .await
        .assert_error("oauth-profile-fetch-failed");
}

#[tokio::test]
async fn oidc_needs_a_discovery_url() {
    let db = super::support::db::TestDb::empty().await;
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            super::support::app::HS256_SECRET
        ),
        "--oidc-enabled".to_owned(),
    ])
    .expect("config");
    let err = hasura_auth::startup::build_state(config)
        .await
        .err()
        .expect("start-up fails");
    assert!(
        err.to_string().contains("AUTH_PROVIDER_OIDC_DISCOVERY_URL"),
        "{err}"
    );
}
