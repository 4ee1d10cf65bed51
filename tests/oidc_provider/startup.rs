//! Start-up checks of the provider (reference §2.1 "Enablement", the shared decisions):
//! a shared-secret key, no consent page, TTLs not positive, a schema below level 22.

use crate::common::*;
use crate::support::app::HS256_SECRET;
use crate::support::db::TestDb;

#[tokio::test]
async fn an_hs_key_is_refused_when_enabled() {
    let secret = format!("--hasura-graphql-jwt-secret={HS256_SECRET}");
    let err = startup_error(TestDb::empty().await, &[ENABLED, &secret]).await;
    assert!(err.contains("asymmetric signing key"), "{err}");
    assert!(err.contains("HS256"), "{err}");
}

#[tokio::test]
async fn a_login_url_or_client_url_is_required() {
    let err = startup_error(TestDb::empty().await, &[ENABLED, "--client-url="]).await;
    assert!(
        err.contains("AUTH_OAUTH2_PROVIDER_LOGIN_URL or AUTH_CLIENT_URL"),
        "{err}"
    );
    let err = startup_error(
        TestDb::empty().await,
        &[
            ENABLED,
            "--client-url=",
            "--oauth2-provider-login-url=not a url",
        ],
    )
    .await;
    assert!(err.contains("not an http(s) URL"), "{err}");
}

#[tokio::test]
async fn ttls_must_be_positive() {
    for (flag, env) in [
        (
            "--oauth2-provider-access-token-ttl=0",
            "AUTH_OAUTH2_PROVIDER_ACCESS_TOKEN_TTL",
        ),
        (
            "--oauth2-provider-refresh-token-ttl=-5",
            "AUTH_OAUTH2_PROVIDER_REFRESH_TOKEN_TTL",
        ),
    ] {
        let err = startup_error(TestDb::empty().await, &[ENABLED, flag]).await;
        assert!(err.contains(env) && err.contains("greater than 0"), "{err}");
    }
}

#[tokio::test]
async fn a_v0_42_database_needs_migrate_to_latest() {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let err = startup_error(db, &[ENABLED]).await;
    assert!(err.contains("AUTH_MIGRATE_TO_LATEST"), "{err}");
    assert!(err.contains("level 22"), "{err}");
}

#[tokio::test]
async fn a_v0_42_database_with_migrate_to_latest_runs_the_provider() {
    let db = TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let secret = format!("--hasura-graphql-jwt-secret={}", rsa_secret());
    let app =
        crate::support::app::TestApp::with_db(db, &[ENABLED, &secret, "--migrate-to-latest=true"])
            .await;
    assert_eq!(app.state.schema.version(), 27);
    assert!(app.state.workflows.oauth2.settings.enabled);
}

#[tokio::test]
async fn disabled_provider_starts_with_an_hs_key_and_no_urls() {
    let app = crate::support::app::TestApp::with(&["--client-url="]).await;
    assert!(!app.state.workflows.oauth2.settings.enabled);
}

#[tokio::test]
async fn settings_issuer_login_url_and_ttls() {
    let app = provider_app(&[]).await;
    let s = &app.state.workflows.oauth2.settings;
    // No issuer in the secret: AUTH_SERVER_URL, even under the 0.42 contract.
    assert_eq!(s.issuer, app.base);
    assert_eq!(s.login_url, DEFAULT_LOGIN_URL);
    assert_eq!(s.access_token_ttl, 900);
    assert_eq!(s.refresh_token_ttl, 2_592_000);
    assert_eq!(s.signing_alg, "RS256");
    let secret = format!(
        "--hasura-graphql-jwt-secret={}",
        rsa_secret_with_issuer("https://auth.example.com/v1")
    );
    let app = provider_app(&[
        &secret,
        "--oauth2-provider-login-url=https://app.example.com/consent",
        "--oauth2-provider-access-token-ttl=60",
    ])
    .await;
    let s = &app.state.workflows.oauth2.settings;
    assert_eq!(s.issuer, "https://auth.example.com/v1");
    assert_eq!(s.login_url, "https://app.example.com/consent");
    assert_eq!(s.access_token_ttl, 60);
}

#[tokio::test]
async fn helpers_insert_clients_and_sign_users_in() {
    let app = provider_app(&[]).await;
    let confidential = confidential_client(&app).await;
    let public = public_client(&app).await;
    assert!(confidential.starts_with("nhoa_") && public.starts_with("nhoa_"));
    let provider = &app.state.workflows.oauth2;
    let c = provider
        .find_client(&confidential)
        .await
        .expect("lookup")
        .expect("found");
    assert!(!c.is_public());
    assert!(c.allows_redirect(REDIRECT_URI));
    let p = provider
        .find_client(&public)
        .await
        .expect("lookup")
        .expect("found");
    assert!(p.is_public());
    assert!(
        provider
            .find_client("nhoa_unknown")
            .await
            .expect("lookup")
            .is_none()
    );
    let (id, token) = signed_in_user(&app, "someone@example.com").await;
    assert_eq!(id.len(), 36);
    assert_eq!(token.split('.').count(), 3);
}

#[tokio::test]
async fn client_authentication_basic_post_none() {
    use hasura_auth::service::oauth2_provider::clients::credentials;
    let app = provider_app(&[]).await;
    let provider = &app.state.workflows.oauth2;
    let confidential = confidential_client(&app).await;
    let public = public_client(&app).await;
    let ok = credentials(None, Some(&confidential), Some(CLIENT_SECRET)).unwrap();
    assert_eq!(
        provider.authenticate_client(&ok).await.unwrap().id(),
        confidential
    );
    let wrong = credentials(None, Some(&confidential), Some("nope")).unwrap();
    let e = provider.authenticate_client(&wrong).await.unwrap_err();
    assert_eq!(e.code.as_str(), "invalid_client");
    let missing = credentials(None, Some(&confidential), None).unwrap();
    assert!(provider.authenticate_client(&missing).await.is_err());
    let none = credentials(None, Some(&public), None).unwrap();
    assert!(
        provider
            .authenticate_client(&none)
            .await
            .unwrap()
            .is_public()
    );
    let unknown = credentials(None, Some("nhoa_nobody"), Some("x")).unwrap();
    assert_eq!(
        provider
            .authenticate_client(&unknown)
            .await
            .unwrap_err()
            .code
            .as_str(),
        "invalid_client"
    );
}
