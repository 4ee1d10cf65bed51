//! Sign in with Apple through the browser: `form_post` callback, id token, the `user`
//! form field, and the ES256 client secret checked by the (fake) token endpoint.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

use super::fake_provider::{ClientAuth, FakeProvider, IdTokens, Settings};
use super::flow;
use super::keys::{APPLE_EC_PRIVATE, APPLE_EC_PUBLIC};
use super::support::app::TestApp;

const CLIENT_ID: &str = "com.example.web";
const TEAM_ID: &str = "TEAM123456";
const KEY_ID: &str = "KEY1234567";

/// What Apple checks in the client secret.
fn apple_secret_ok(secret: &str) -> bool {
    let Ok(key) = DecodingKey::from_ec_pem(APPLE_EC_PUBLIC.as_bytes()) else {
        return false;
    };
    if decode_header(secret).ok().and_then(|h| h.kid).as_deref() != Some(KEY_ID) {
        return false;
    }
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["https://appleid.apple.com"]);
    validation.set_issuer(&[TEAM_ID]);
    decode::<Value>(secret, &key, &validation)
        .map(|d| d.claims["sub"] == CLIENT_ID)
        .unwrap_or(false)
}

async fn apple() -> (FakeProvider, TestApp) {
    let mut settings = Settings::new(CLIENT_ID, "", ClientAuth::Body);
    settings.secret_check = Some(apple_secret_ok);
    settings.id_tokens = Some(IdTokens {
        issuer: Some("https://appleid.apple.com".into()),
        claims: json!({"sub": "001234.abcdef0123456789.0123", "email": "jane@privaterelay.appleid.com",
                       "email_verified": "true", "is_private_email": "true", "auth_time": 1700000000}),
        in_token_response: true,
    });
    settings.form_extra = vec![(
        "user".into(),
        json!({"name": {"firstName": "Jane", "lastName": "Appleseed"},
               "email": "jane@privaterelay.appleid.com"})
        .to_string(),
    )];
    let fake = FakeProvider::start(settings).await;
    let app = TestApp::with(&[
        "--apple-enabled",
        &format!("--apple-client-id={CLIENT_ID}"),
        &format!("--apple-team-id={TEAM_ID}"),
        &format!("--apple-key-id={KEY_ID}"),
        // One line with literal \n, as in an env file.
        &format!(
            "--apple-private-key={}",
            APPLE_EC_PRIVATE.replace('\n', "\\n")
        ),
        &format!("--apple-authorization-url={}", fake.url("/authorize")),
        &format!("--apple-token-url={}", fake.url("/token")),
        &format!("--apple-jwks-url={}", fake.url("/jwks")),
    ])
    .await;
    (fake, app)
}

#[tokio::test]
async fn apple_signs_up_through_form_post_with_a_signed_client_secret() {
    let (fake, app) = apple().await;
    let landing = flow::sign_in(&app, "apple", "").await;
    let session = flow::session(&app, &landing.refresh_token()).await;
    let user = &session["user"];
    assert_eq!(user["email"], "jane@privaterelay.appleid.com");
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["displayName"], "Jane Appleseed");
    let links = flow::links(&app, "apple").await;
    assert_eq!(links[0].1, "001234.abcdef0123456789.0123");

    let authorize = fake.last_authorize();
    assert_eq!(authorize["response_mode"], "form_post");
    assert_eq!(authorize["response_type"], "code id_token");
    assert_eq!(authorize["scope"], "name email");
    assert!(authorize.get("nonce").is_some_and(|n| n.len() >= 43));
    assert!(apple_secret_ok(&fake.last_token_request()["client_secret"]));
}

#[tokio::test]
async fn apple_without_the_user_field_names_the_user_by_email() {
    let (fake, app) = apple().await;
    fake.set_id_token_claims(
        json!({"sub": "002", "email": "second@icloud.test", "email_verified": true}),
    );
    // Apple sends `user` only on the first authorization; the form still has one here,
    // so send the flow through a provider that forgets it.
    let started = flow::start(&app, "apple", "").await;
    let at_provider = super::support::app::Reply::read(
        app.http
            .get(started.location())
            .send()
            .await
            .expect("provider"),
    )
    .await;
    let action = at_provider.body["action"]
        .as_str()
        .expect("action")
        .to_owned();
    let form: Vec<(String, String)> = at_provider.body["form"]
        .as_object()
        .expect("form")
        .iter()
        .filter(|(k, _)| *k != "user")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let callback = super::support::app::Reply::read(
        app.http
            .post(&action)
            .form(&form)
            .send()
            .await
            .expect("callback"),
    )
    .await;
    let landing = flow::Landing::parse(&callback.location());
    let session = flow::session(&app, &landing.refresh_token()).await;
    assert_eq!(session["user"]["displayName"], "second@icloud.test");
}

#[tokio::test]
async fn apple_front_channel_id_token_must_carry_our_nonce() {
    let (fake, app) = apple().await;
    // No id token from the token endpoint: only the one posted through the browser.
    fake.id_token_in_token_response(false);
    fake.set_id_token_claims(json!({"sub": "003", "email": "x@icloud.test",
                                    "email_verified": true, "nonce": "not-ours"}));
    flow::sign_in(&app, "apple", "")
        .await
        .assert_error("oauth-profile-fetch-failed");
    // With the nonce the provider echoed, it works.
    fake.set_id_token_claims(
        json!({"sub": "003", "email": "x@icloud.test", "email_verified": true}),
    );
    flow::sign_in(&app, "apple", "").await.refresh_token();
}

#[tokio::test]
async fn apple_refuses_to_start_with_a_bad_private_key() {
    let db = super::support::db::TestDb::empty().await;
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={}", db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            super::support::app::HS256_SECRET
        ),
        "--apple-enabled".to_owned(),
        "--apple-private-key=not-a-key".to_owned(),
    ])
    .expect("config");
    let err = hasura_auth::startup::build_state(config)
        .await
        .err()
        .expect("start-up fails");
    assert!(
        err.to_string().contains("AUTH_PROVIDER_APPLE_PRIVATE_KEY"),
        "{err}"
    );
}
