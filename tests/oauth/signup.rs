//! Nhost Auth 0.48–0.50 on the provider flows: `codeChallenge` on
//! `GET /signin/provider/{provider}` and `GET /signup/provider/{provider}` (the callback
//! redirects with `code=`, exchanged at `POST /token/exchange`), the explicit sign-up
//! routes (`/signup/provider/{provider}`, `/signup/idtoken`), and
//! `AUTH_DISABLE_AUTO_SIGNUP` on their sign-in twins.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fake_provider::{ClientAuth, FakeProvider, Settings};
use super::flow::{self, Landing};
use super::keys::{self, KEY_B};
use super::support::app::TestApp;
use super::{app, oauth2_flags};

const GOOGLE_AUD: &str = "google-client.apps.googleusercontent.com";

/// As `@nhost/nhost-js` 4.7: 32 random bytes, base64url; the S256 challenge of it.
fn pkce_pair() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn discord(more: &[&str]) -> (FakeProvider, TestApp) {
    let fake = FakeProvider::start(
        Settings::new("client-discord", "secret-discord", ClientAuth::Body).profile(
            "/users/@me",
            json!({"id": "80351110224678912", "username": "nelly", "discriminator": "1337",
                   "verified": true, "email": "nelly@discord.test"}),
        ),
    )
    .await;
    let app = app(&oauth2_flags("discord", &fake, "/users/@me"), more).await;
    (fake, app)
}

/// The round trip through `GET {path}?{query}`.
async fn round_trip(app: &TestApp, path: &str, query: &str) -> Landing {
    let started = app.get(&format!("{path}?{query}")).await;
    assert_eq!(started.status, 302, "start: {}", started.text);
    let callback = flow::through_provider(app, &started.location()).await;
    assert_eq!(callback.status, 302, "callback: {}", callback.text);
    Landing::parse(&callback.location())
}

async fn exchange(app: &TestApp, code: &str, verifier: &str) -> Value {
    let r = app
        .post(
            "/token/exchange",
            json!({"code": code, "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "exchange: {}", r.text);
    r.body["session"].clone()
}

#[tokio::test]
async fn provider_sign_in_with_code_challenge_redirects_with_a_code() {
    let (_fake, app) = discord(&[]).await;
    let (verifier, challenge) = pkce_pair();
    let landing = round_trip(
        &app,
        "/signin/provider/discord",
        &format!("codeChallenge={challenge}&state=s1"),
    )
    .await;
    assert_eq!(landing.get("refreshToken"), None, "{}", landing.location);
    assert_eq!(landing.get("state"), Some("s1"));
    let code = landing.get("code").expect("code").to_owned();
    app.post(
        "/token/exchange",
        json!({"code": code, "codeVerifier": pkce_pair().0}),
    )
    .await
    .assert_error(400, "invalid-request");
    let session = exchange(&app, &code, &verifier).await;
    assert_eq!(session["user"]["email"], "nelly@discord.test");
    // The sign-in left exactly the session of the exchange.
    let db = app.db.client().await;
    let n: i64 = db
        .query_one("SELECT count(*) FROM auth.refresh_tokens", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn provider_start_refuses_a_malformed_code_challenge() {
    let (_fake, app) = discord(&[]).await;
    for path in ["/signin/provider/discord", "/signup/provider/discord"] {
        app.get(&format!("{path}?codeChallenge=short"))
            .await
            .assert_error(400, "invalid-request");
    }
    app.get("/signup/provider/discord?connect=x")
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn provider_sign_up_creates_then_refuses_an_existing_account() {
    let (_fake, app) = discord(&[]).await;
    let (verifier, challenge) = pkce_pair();
    let landing = round_trip(
        &app,
        "/signup/provider/discord",
        &format!("codeChallenge={challenge}"),
    )
    .await;
    let session = exchange(&app, landing.get("code").expect("code"), &verifier).await;
    assert_eq!(session["user"]["displayName"], "nelly#1337");

    let again = round_trip(&app, "/signup/provider/discord", "").await;
    again.assert_error("user-already-exists");
    // Sign-in still works for it.
    let signed_in = round_trip(&app, "/signin/provider/discord", "").await;
    signed_in.refresh_token();

    // An existing account with the same (verified) address, not yet linked: refused too.
    app.sql("DELETE FROM auth.user_providers").await;
    round_trip(&app, "/signup/provider/discord", "")
        .await
        .assert_error("user-already-exists");
}

#[tokio::test]
async fn without_auto_signup_provider_sign_in_creates_nobody() {
    let (_fake, app) = discord(&["--disable-auto-signup=true"]).await;
    round_trip(&app, "/signin/provider/discord", "")
        .await
        .assert_error("invalid-email-password");
    let db = app.db.client().await;
    let n: i64 = db
        .query_one("SELECT count(*) FROM auth.users", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0);
    // Signed up explicitly, then the sign-in route knows it.
    round_trip(&app, "/signup/provider/discord", "")
        .await
        .refresh_token();
    round_trip(&app, "/signin/provider/discord", "")
        .await
        .refresh_token();
}

async fn google_id_tokens(more: &[&str]) -> (FakeProvider, TestApp) {
    let jwks = FakeProvider::start(Settings::new("unused", "unused", ClientAuth::Body)).await;
    let mut flags = vec![
        format!("--google-audience={GOOGLE_AUD}"),
        format!("--google-jwks-url={}", jwks.url("/jwks")),
    ];
    flags.extend(more.iter().map(|s| s.to_string()));
    let app = app(&flags, &[]).await;
    (jwks, app)
}

fn google_token(jwks: &FakeProvider, sub: &str, email: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    jwks.keys.sign(&json!({
        "iss": "https://accounts.google.com", "aud": GOOGLE_AUD, "sub": sub, "email": email,
        "email_verified": true, "name": "Gina Google", "iat": now, "exp": now + 600,
    }))
}

#[tokio::test]
async fn id_token_sign_up_creates_then_answers_user_already_exists() {
    let (jwks, app) = google_id_tokens(&[]).await;
    let token = google_token(&jwks, "g-1", "gina@gmail.test");
    let r = app
        .post(
            "/signup/idtoken",
            json!({"provider": "google", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["email"], "gina@gmail.test");
    app.post(
        "/signup/idtoken",
        json!({"provider": "google", "idToken": token}),
    )
    .await
    .assert_error(409, "user-already-exists");
    // Same address under another subject: the account exists.
    let other = google_token(&jwks, "g-2", "gina@gmail.test");
    app.post(
        "/signup/idtoken",
        json!({"provider": "google", "idToken": other}),
    )
    .await
    .assert_error(409, "user-already-exists");
    let r = app
        .post(
            "/signin/idtoken",
            json!({"provider": "google", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn id_token_sign_up_refuses_bad_tokens_and_bodies() {
    let (jwks, app) = google_id_tokens(&[]).await;
    let forged = keys::sign(
        KEY_B,
        "key-a",
        &json!({"iss": "https://accounts.google.com", "aud": GOOGLE_AUD,
        "sub": "g-9", "email": "x@gmail.test", "email_verified": true,
        "iat": chrono::Utc::now().timestamp(), "exp": chrono::Utc::now().timestamp() + 600}),
    );
    app.post(
        "/signup/idtoken",
        json!({"provider": "google", "idToken": forged}),
    )
    .await
    .assert_error(400, "invalid-request");
    for body in [
        json!({"provider": "github", "idToken": "x"}),
        json!({"provider": "google"}),
        json!({"provider": "google", "idToken": google_token(&jwks, "g", "g@gmail.test"), "extra": 1}),
    ] {
        let r = app.post("/signup/idtoken", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    // Apple is not configured here.
    app.post(
        "/signup/idtoken",
        json!({"provider": "apple", "idToken": "x"}),
    )
    .await
    .assert_error(409, "disabled-endpoint");
}

#[tokio::test]
async fn without_auto_signup_id_token_sign_in_needs_a_prior_sign_up() {
    let (jwks, app) = google_id_tokens(&["--disable-auto-signup=true"]).await;
    let token = google_token(&jwks, "g-1", "gina@gmail.test");
    app.post(
        "/signin/idtoken",
        json!({"provider": "google", "idToken": token}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    let r = app
        .post(
            "/signup/idtoken",
            json!({"provider": "google", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app
        .post(
            "/signin/idtoken",
            json!({"provider": "google", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn sign_up_disabled_still_wins() {
    let (jwks, app) = google_id_tokens(&["--disable-signup=true"]).await;
    let token = google_token(&jwks, "g-1", "gina@gmail.test");
    app.post(
        "/signup/idtoken",
        json!({"provider": "google", "idToken": token}),
    )
    .await
    .assert_error(403, "signup-disabled");
}

/// The same flows on a database upstream v0.42 left at level 18 (kept there): PKCE codes
/// live in our own table, sign-up and the auto-sign-up switch behave the same.
#[tokio::test]
async fn provider_and_id_token_sign_up_with_pkce_at_level_18() {
    let fake = FakeProvider::start(
        Settings::new("client-discord", "secret-discord", ClientAuth::Body).profile(
            "/users/@me",
            json!({"id": "80351110224678912", "username": "nelly", "discriminator": "1337",
                   "verified": true, "email": "nelly@discord.test"}),
        ),
    )
    .await;
    let jwks = FakeProvider::start(Settings::new("unused", "unused", ClientAuth::Body)).await;
    let db = super::support::db::TestDb::empty().await;
    db.client()
        .await
        .batch_execute(include_str!("../fixtures/upstream/v18.sql"))
        .await
        .expect("load upstream v18 fixture");
    let mut flags = oauth2_flags("discord", &fake, "/users/@me");
    flags.push(format!("--google-audience={GOOGLE_AUD}"));
    flags.push(format!("--google-jwks-url={}", jwks.url("/jwks")));
    flags.push("--disable-auto-signup=true".to_owned());
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::with_db(db, &args).await;

    round_trip(&app, "/signin/provider/discord", "")
        .await
        .assert_error("invalid-email-password");
    let (verifier, challenge) = pkce_pair();
    let landing = round_trip(
        &app,
        "/signup/provider/discord",
        &format!("codeChallenge={challenge}"),
    )
    .await;
    let code = landing.get("code").expect("code").to_owned();
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM hasura_auth.pkce_codes), \
                    to_regclass('auth.pkce_authorization_codes') IS NULL",
            &[],
        )
        .await
        .expect("codes");
    assert_eq!(row.get::<_, i64>(0), 1);
    assert!(row.get::<_, bool>(1));
    let session = exchange(&app, &code, &verifier).await;
    assert_eq!(session["user"]["email"], "nelly@discord.test");
    round_trip(&app, "/signup/provider/discord", "")
        .await
        .assert_error("user-already-exists");

    let token = google_token(&jwks, "g-1", "gina@gmail.test");
    app.post(
        "/signin/idtoken",
        json!({"provider": "google", "idToken": token}),
    )
    .await
    .assert_error(401, "invalid-email-password");
    let r = app
        .post(
            "/signup/idtoken",
            json!({"provider": "google", "idToken": token}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post(
        "/signup/idtoken",
        json!({"provider": "google", "idToken": token}),
    )
    .await
    .assert_error(409, "user-already-exists");
    let version: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT version FROM auth.schema_migrations", &[])
        .await
        .expect("level")
        .get(0);
    assert_eq!(version, 18);
}
