//! Sign-in, sign-up and linking rules of the callback (SPEC §8.8–§8.9), with Google as
//! the provider: returning users, existing users by email, `connect`, sign-up options,
//! policy settings, and every error redirect.

use serde_json::{Value, json};

use super::fake_provider::{ClientAuth, FakeProvider, Settings};
use super::flow::{self, Landing};
use super::support::app::TestApp;
use super::{app, oauth2_flags};

const USERINFO: &str = "/oauth2/v2/userinfo";

fn google_user(id: &str, email: &str, verified: bool) -> Value {
    json!({"id": id, "email": email, "verified_email": verified, "name": "Jane Doe",
           "picture": "https://lh3.googleusercontent.com/a/jane.jpg"})
}

async fn google(profile: Value) -> (FakeProvider, Vec<String>) {
    let fake = FakeProvider::start(
        Settings::new("client-google", "secret-google", ClientAuth::Body)
            .profile(USERINFO, profile),
    )
    .await;
    let flags = oauth2_flags("google", &fake, USERINFO);
    (fake, flags)
}

/// Signs up with email and password (verification off) and returns (user id, access token).
async fn password_user(app: &TestApp, email: &str) -> (String, String) {
    let session = app.signup(email, "password-123").await;
    (
        session["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        session["accessToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn returning_user_signs_in_to_the_same_account_and_its_tokens_are_updated() {
    let (_fake, flags) = google(google_user("g-1", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    let first = flow::session(
        &app,
        &flow::sign_in(&app, "google", "").await.refresh_token(),
    )
    .await;
    let token_before = flow::links(&app, "google").await[0].2.clone();
    let second = flow::session(
        &app,
        &flow::sign_in(&app, "google", "").await.refresh_token(),
    )
    .await;
    assert_eq!(first["user"]["id"], second["user"]["id"]);
    assert_eq!(
        flow::count(&app, "SELECT count(*) FROM auth.users").await,
        1
    );
    let links = flow::links(&app, "google").await;
    assert_eq!(links.len(), 1);
    assert_ne!(
        links[0].2, token_before,
        "the latest provider access token is kept"
    );
    assert!(links[0].3.as_deref().is_some_and(|r| r.starts_with("rt-")));
}

#[tokio::test]
async fn existing_user_with_the_same_verified_email_gets_the_provider_linked() {
    let (_fake, flags) = google(google_user("g-2", "jane@gmail.test", true)).await;
    let app = app(&flags, &["--email-verification-required=false"]).await;
    let (user_id, _) = password_user(&app, "jane@gmail.test").await;
    let landing = flow::sign_in(&app, "google", "").await;
    let session = flow::session(&app, &landing.refresh_token()).await;
    assert_eq!(session["user"]["id"], user_id.as_str());
    let links = flow::links(&app, "google").await;
    assert_eq!(
        (links[0].0.as_str(), links[0].1.as_str()),
        (user_id.as_str(), "g-2")
    );
}

#[tokio::test]
async fn an_unverified_provider_email_does_not_take_over_an_existing_account() {
    let (_fake, flags) = google(google_user("g-3", "jane@gmail.test", false)).await;
    let app = app(&flags, &["--email-verification-required=false"]).await;
    password_user(&app, "jane@gmail.test").await;
    flow::sign_in(&app, "google", "")
        .await
        .assert_error("unverified-user");
    assert!(flow::links(&app, "google").await.is_empty());
}

#[tokio::test]
async fn a_new_user_with_an_unverified_email_must_verify_it_first() {
    let (_fake, flags) = google(google_user("g-4", "new@gmail.test", false)).await;
    let app = app(&flags, &[]).await;
    let landing = flow::sign_in(&app, "google", "").await;
    assert_eq!(landing.get("error"), None, "{}", landing.location);
    assert_eq!(
        landing.get("refreshToken"),
        None,
        "no session before verification"
    );
    let links = flow::links(&app, "google").await;
    assert_eq!(links.len(), 1);
    let user = &links[0].0;
    assert_eq!(
        flow::user_field(&app, user, "email_verified")
            .await
            .as_deref(),
        Some("false")
    );
    let ticket = flow::user_field(&app, user, "ticket")
        .await
        .unwrap_or_default();
    assert!(ticket.starts_with("verifyEmail:"), "{ticket}");
}

#[tokio::test]
async fn sign_up_rules_apply_to_new_provider_users() {
    let (_fake, flags) = google(google_user("g-5", "jane@gmail.test", true)).await;

    let app1 = app(&flags, &["--disable-signup"]).await;
    flow::sign_in(&app1, "google", "")
        .await
        .assert_error("signup-disabled");
    assert_eq!(
        flow::count(&app1, "SELECT count(*) FROM auth.users").await,
        0
    );

    let app2 = app(&flags, &["--disable-new-users"]).await;
    flow::sign_in(&app2, "google", "")
        .await
        .assert_error("disabled-user");
    assert_eq!(
        flow::count(&app2, "SELECT count(*) FROM auth.users WHERE disabled").await,
        1
    );

    let app3 = app(&flags, &["--allowed-emails=someone@else.test"]).await;
    flow::sign_in(&app3, "google", "")
        .await
        .assert_error("invalid-email-password");
}

#[tokio::test]
async fn sign_up_options_from_the_query_shape_the_new_user() {
    let (fake, flags) = google(google_user("g-6", "jane@gmail.test", true)).await;
    let app = app(
        &flags,
        &[
            "--default-allowed-roles=me,user,editor",
            "--allowed-locales=en,fr",
        ],
    )
    .await;
    let query = "allowedRoles=user,editor&defaultRole=editor&displayName=Jane%20Q&locale=fr\
                 &metadata=%7B%22plan%22%3A%22pro%22%7D&redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fafter";
    let landing = flow::sign_in(&app, "google", query).await;
    assert_eq!(landing.base(), "http://localhost:3000/after");
    let user = flow::session(&app, &landing.refresh_token()).await["user"].clone();
    assert_eq!(user["defaultRole"], "editor");
    assert_eq!(user["roles"], json!(["user", "editor"]));
    assert_eq!(user["displayName"], "Jane Q");
    assert_eq!(user["locale"], "fr");
    assert_eq!(user["metadata"], json!({"plan": "pro"}));

    // Options only matter when a user is created: a new provider account.
    fake.set_profile(USERINFO, google_user("g-6b", "other@gmail.test", true));
    flow::sign_in(&app, "google", "allowedRoles=admin")
        .await
        .assert_error("role-not-allowed");
}

#[tokio::test]
async fn default_role_must_be_in_the_allowed_roles() {
    let (_fake, flags) = google(google_user("g-7", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    let landing = flow::sign_in(
        &app,
        "google",
        "allowedRoles=me&defaultRole=user&redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fx",
    )
    .await;
    landing.assert_error("default-role-must-be-in-allowed-roles");
    assert_eq!(
        landing.base(),
        "http://localhost:3000/x",
        "errors go to redirectTo"
    );
}

#[tokio::test]
async fn bad_requests_to_start_a_sign_in_answer_json() {
    let (_fake, flags) = google(google_user("g-8", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    flow::start(&app, "google", "redirectTo=https%3A%2F%2Fevil.test")
        .await
        .assert_error(400, "redirectTo-not-allowed");
    flow::start(&app, "google", "displayName=a%2Fb")
        .await
        .assert_error(400, "invalid-request");
    flow::start(&app, "google", "locale=fran")
        .await
        .assert_error(400, "invalid-request");
    flow::start(&app, "google", "metadata=not-json")
        .await
        .assert_error(400, "invalid-request");
    flow::start(&app, "myspace", "")
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn a_disabled_provider_redirects_with_disabled_endpoint() {
    let app = TestApp::spawn().await;
    let r = flow::start(
        &app,
        "github",
        "redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fback",
    )
    .await;
    assert_eq!(r.status, 302);
    let landing = Landing::parse(&r.location());
    assert_eq!(landing.base(), "http://localhost:3000/back");
    landing.assert_error("disabled-endpoint");
}

#[tokio::test]
async fn a_provider_error_goes_to_the_client_url_with_its_details_and_the_client_state() {
    let (fake, flags) = google(google_user("g-9", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    fake.fail_authorization("access_denied", "The user denied access");
    let landing = flow::sign_in(
        &app,
        "google",
        "state=client-123&redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fcb",
    )
    .await;
    assert_eq!(landing.base(), "http://localhost:3000/");
    landing.assert_error("oauth-provider-error");
    assert_eq!(landing.get("provider_error"), Some("access_denied"));
    assert_eq!(
        landing.get("provider_error_description"),
        Some("The user denied access")
    );
    assert_eq!(landing.get("provider_error_url"), Some(""));
    assert_eq!(landing.get("state"), Some("client-123"));
}

#[tokio::test]
async fn token_and_profile_failures_have_their_own_codes() {
    let (fake, flags) = google(google_user("g-10", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    fake.fail_token(true);
    flow::sign_in(&app, "google", "")
        .await
        .assert_error("oauth-token-echange-failed");
    fake.fail_token(false);
    fake.fail_profile(true);
    flow::sign_in(&app, "google", "")
        .await
        .assert_error("oauth-profile-fetch-failed");
    fake.fail_profile(false);
    fake.set_profile(
        USERINFO,
        json!({"id": "", "email": "x@gmail.test", "verified_email": true}),
    );
    flow::sign_in(&app, "google", "")
        .await
        .assert_error("oauth-profile-fetch-failed");
    assert_eq!(
        flow::count(&app, "SELECT count(*) FROM auth.users").await,
        0
    );
}

#[tokio::test]
async fn the_redirect_keeps_its_own_query_and_gets_the_client_state() {
    let (_fake, flags) = google(google_user("g-11", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    let landing = flow::sign_in(
        &app,
        "google",
        "state=xyz&redirectTo=http%3A%2F%2Flocalhost%3A3000%2Fcb%3Fz%3D1%26a%3D2",
    )
    .await;
    let rt = landing.refresh_token();
    assert_eq!(
        landing.location,
        format!("http://localhost:3000/cb?a=2&refreshToken={rt}&state=xyz&z=1")
    );
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_the_error_can_be_concealed() {
    let (_fake, flags) = google(google_user("g-12", "jane@gmail.test", true)).await;
    let app = app(&flags, &[]).await;
    flow::sign_in(&app, "google", "").await.refresh_token();
    app.sql("UPDATE auth.users SET disabled = true").await;
    flow::sign_in(&app, "google", "")
        .await
        .assert_error("disabled-user");

    let concealed = super::app(&flags, &["--conceal-errors"]).await;
    flow::sign_in(&concealed, "google", "")
        .await
        .refresh_token();
    concealed.sql("UPDATE auth.users SET disabled = true").await;
    flow::sign_in(&concealed, "google", "")
        .await
        .assert_error("invalid-request");
}

#[tokio::test]
async fn connect_links_the_provider_account_to_the_signed_in_user() {
    let (_fake, flags) = google(google_user("g-13", "other@gmail.test", true)).await;
    let app = app(&flags, &["--email-verification-required=false"]).await;
    let (user_id, access_token) = password_user(&app, "me@example.test").await;
    let landing = flow::sign_in(
        &app,
        "google",
        &format!("connect={access_token}&redirectTo=http%3A%2F%2Flocalhost%3A3000%2Flinked"),
    )
    .await;
    assert_eq!(
        landing.location, "http://localhost:3000/linked",
        "no token, no error"
    );
    let links = flow::links(&app, "google").await;
    assert_eq!(
        (links[0].0.as_str(), links[0].1.as_str()),
        (user_id.as_str(), "g-13")
    );
    // From now on the provider account signs in as that user.
    let session = flow::session(
        &app,
        &flow::sign_in(&app, "google", "").await.refresh_token(),
    )
    .await;
    assert_eq!(session["user"]["id"], user_id.as_str());
    assert_eq!(session["user"]["email"], "me@example.test");
}

#[tokio::test]
async fn connect_fails_with_a_bad_token_or_an_account_linked_elsewhere() {
    let (_fake, flags) = google(google_user("g-14", "other@gmail.test", true)).await;
    let app = app(&flags, &["--email-verification-required=false"]).await;
    flow::sign_in(&app, "google", "connect=not-a-token")
        .await
        .assert_error("invalid-request");
    // g-14 becomes someone's account, then a second user tries to link it.
    flow::sign_in(&app, "google", "").await.refresh_token();
    let (_, access_token) = password_user(&app, "me@example.test").await;
    flow::sign_in(&app, "google", &format!("connect={access_token}"))
        .await
        .assert_error("invalid-request");
    assert_eq!(flow::links(&app, "google").await.len(), 1);
}

/// Under the 0.52 contract the callback reports `provider-account-already-linked`.
#[tokio::test]
async fn connect_to_an_account_linked_elsewhere_under_0_52() {
    let (_fake, flags) = google(google_user("g-16", "other@gmail.test", true)).await;
    let app = app(
        &flags,
        &[
            "--email-verification-required=false",
            "--upstream-generation=0.52",
        ],
    )
    .await;
    flow::sign_in(&app, "google", "").await.refresh_token();
    let (_, access_token) = password_user(&app, "me@example.test").await;
    flow::sign_in(&app, "google", &format!("connect={access_token}"))
        .await
        .assert_error("provider-account-already-linked");
    assert_eq!(flow::links(&app, "google").await.len(), 1);
    // Concealment does not hide it (it says nothing about the caller's account).
    let concealed = super::app(
        &flags,
        &[
            "--email-verification-required=false",
            "--upstream-generation=0.52",
            "--conceal-errors",
        ],
    )
    .await;
    flow::sign_in(&concealed, "google", "")
        .await
        .refresh_token();
    let (_, access_token) = password_user(&concealed, "me@example.test").await;
    flow::sign_in(&concealed, "google", &format!("connect={access_token}"))
        .await
        .assert_error("provider-account-already-linked");
}

#[tokio::test]
async fn a_redirect_no_longer_allowed_at_the_callback_goes_to_the_client_url() {
    let (fake, flags) = google(google_user("g-15", "jane@gmail.test", true)).await;
    let app = app(&flags, &["--allow-redirect-urls=https://app.example.test"]).await;
    let started = flow::start(
        &app,
        "google",
        "redirectTo=https%3A%2F%2Fapp.example.test%2Fin",
    )
    .await;
    assert_eq!(started.status, 302, "{}", started.text);
    // The allow-list changes while the user is at the provider (`/change-env`).
    let mut args: Vec<String> = vec![
        "hasura-auth".into(),
        format!("--postgres={}", app.db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            super::support::app::HS256_SECRET
        ),
        format!("--client-url={}", super::support::app::CLIENT_URL),
        format!("--server-url={}", app.base),
    ];
    args.extend(flags.iter().cloned());
    let config = hasura_auth::config::Config::from_args(args).expect("config");
    app.state
        .settings
        .replace(hasura_auth::settings::RuntimeSettings::new(config).expect("settings"));
    let callback = flow::through_provider(&app, &started.location()).await;
    let landing = Landing::parse(&callback.location());
    landing.assert_error("redirectTo-not-allowed");
    assert_eq!(landing.base(), "http://localhost:3000/");
    drop(fake);
}

#[tokio::test]
async fn a_state_left_for_a_provider_disabled_since_redirects_with_disabled_endpoint() {
    let app = TestApp::spawn().await;
    // A sign-in started before a restart that disabled GitHub.
    let state = "state-from-before-the-restart";
    let client = app.db.client().await;
    client
        .execute(
            "INSERT INTO hasura_auth.oauth_states (state_hash, provider, data, expires_at) \
             VALUES ($1, 'github', $2, now() + interval '5 minutes')",
            &[
                &hasura_auth::tokens::refresh::stored_hash(state),
                &json!({"options": {"redirectTo": "http://localhost:3000/gh"}, "nonce": "n", "provider": {}}),
            ],
        )
        .await
        .expect("insert state");
    let r = app
        .get(&format!(
            "/signin/provider/github/callback?state={state}&code=c"
        ))
        .await;
    let landing = Landing::parse(&r.location());
    landing.assert_error("disabled-endpoint");
    assert_eq!(landing.base(), "http://localhost:3000/gh");
}

#[tokio::test]
async fn an_unreachable_provider_redirects_with_internal_server_error() {
    // Twitter's request token is fetched before redirecting; nothing listens there.
    let app = TestApp::with(&[
        "--twitter-enabled",
        "--twitter-consumer-key=k",
        "--twitter-consumer-secret=s",
        "--twitter-request-token-url=http://127.0.0.1:9/oauth/request_token",
    ])
    .await;
    let r = flow::start(
        &app,
        "twitter",
        "redirectTo=http%3A%2F%2Flocalhost%3A3000%2Ftw",
    )
    .await;
    assert_eq!(r.status, 302);
    let landing = Landing::parse(&r.location());
    landing.assert_error("internal-server-error");
    assert_eq!(landing.base(), "http://localhost:3000/tw");
}
