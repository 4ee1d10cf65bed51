//! The ceremonies end to end with the software authenticator: sign-up, sign-in by
//! email and discoverable, email verification, elevation, and another instance
//! finishing what one started.

use std::time::Duration;

use serde_json::json;

use crate::support::app::TestApp;
use crate::support::smtp::{SmtpOptions, SmtpServer};
use crate::{
    access_token, app, authenticator, hasura_claims, passkey_signin, passkey_signup, sql_json,
};

#[tokio::test]
async fn signup_options_have_upstreams_shape() {
    let app = app(&["--webauthn-rp-name=Acme"]).await;
    let r = app
        .post(
            "/signup/webauthn",
            json!({"email": "shape@example.com", "options": {"displayName": "Shape"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let o = &r.body;
    assert_eq!(o["rp"], json!({"name": "Acme", "id": "localhost"}));
    assert_eq!(o["user"]["name"], "Shape");
    assert_eq!(o["user"]["displayName"], "Shape");
    // go-webauthn's EncodeUserIDAsString: the user UUID as a plain string.
    let user_id = o["user"]["id"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::try_parse(user_id).is_ok(), "{user_id}");
    assert!(o["challenge"].as_str().is_some_and(|c| c.len() >= 43));
    assert_eq!(
        o["pubKeyCredParams"],
        json!([{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -35},
               {"type": "public-key", "alg": -257}])
    );
    assert_eq!(o["timeout"], 60000);
    assert_eq!(
        o["authenticatorSelection"],
        json!({"requireResidentKey": false, "residentKey": "preferred", "userVerification": "preferred"})
    );
    assert_eq!(o["attestation"], "indirect");
    assert!(o.get("excludeCredentials").is_none());

    // Without a display name, the email is the name.
    let r = app
        .post("/signup/webauthn", json!({"email": "plain@example.com"}))
        .await;
    assert_eq!(r.body["user"]["name"], "plain@example.com");

    let r = app.post("/signin/webauthn", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["rpId"], "localhost");
    assert_eq!(r.body["timeout"], 60000);
    assert_eq!(r.body["userVerification"], "preferred");
    assert!(r.body.get("allowCredentials").is_none(), "{}", r.body);
}

#[tokio::test]
async fn passkey_signup_then_signin_by_email_and_discoverable() {
    let app = app(&[
        "--default-allowed-roles=user,me",
        "--gravatar-enabled=false",
    ])
    .await;
    let mut auth = authenticator();
    let session = passkey_signup(&app, &mut auth, "pia@example.com").await;
    let user = &session["user"];
    assert_eq!(user["email"], "pia@example.com");
    assert_eq!(user["displayName"], "pia@example.com");
    assert_eq!(user["emailVerified"], false);
    assert_eq!(user["roles"], json!(["user", "me"]));
    let user_id = user["id"].as_str().unwrap_or_default().to_owned();
    let claims = hasura_claims(&access_token(&session));
    assert_eq!(claims["x-hasura-user-id"], user_id);
    assert!(claims.get("x-hasura-auth-elevated").is_none());

    // Stored as upstream stores it: base64url id, the COSE bytes as sent, nickname.
    let key = sql_json(
        &app,
        "SELECT user_id::text, credential_id, encode(credential_public_key, 'hex') AS pk, \
         counter, transports, nickname FROM auth.user_security_keys",
    )
    .await;
    assert_eq!(key["user_id"], user_id);
    assert_eq!(key["credential_id"], auth.credentials[0].id_b64());
    assert_eq!(key["pk"], hex::encode(auth.credentials[0].cose_key()));
    assert_eq!(key["counter"], 0);
    assert_eq!(key["transports"], "internal");
    assert_eq!(key["nickname"], "laptop");
    let u = sql_json(
        &app,
        "SELECT last_seen IS NOT NULL AS seen, password_hash IS NULL AS no_password \
         FROM auth.users",
    )
    .await;
    assert_eq!(u, json!({"seen": true, "no_password": true}));

    // With the email: the key is offered.
    let options = app
        .post("/signin/webauthn", json!({"email": "pia@example.com"}))
        .await;
    assert_eq!(
        options.body["allowCredentials"],
        json!([{"type": "public-key", "id": auth.credentials[0].id_b64(), "transports": ["internal"]}])
    );
    let r = passkey_signin(&app, &mut auth, Some("pia@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], user_id);
    assert_eq!(r.body["session"]["user"]["roles"], json!(["user", "me"]));

    // Discoverable: no email, the authenticator names the user.
    let r = passkey_signin(&app, &mut auth, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["id"], user_id);
    let refresh = r.body["session"]["refreshToken"]
        .as_str()
        .unwrap_or_default();
    let t = app.post("/token", json!({"refreshToken": refresh})).await;
    assert_eq!(t.status, 200, "{}", t.text);

    // The counter follows the authenticator's.
    let k = sql_json(&app, "SELECT counter FROM auth.user_security_keys").await;
    assert_eq!(k["counter"], 2);
}

#[tokio::test]
async fn signup_options_apply_and_verify_options_are_ignored() {
    let app = app(&[
        "--default-allowed-roles=user,me,editor",
        "--allowed-locales=en,fr",
        "--allow-redirect-urls=http://localhost:3000",
    ])
    .await;
    let mut auth = authenticator();
    let options = app
        .post(
            "/signup/webauthn",
            json!({"email": "opt@example.com", "options": {
                "displayName": "Opt", "locale": "fr", "defaultRole": "me",
                "allowedRoles": ["me", "editor"], "metadata": {"plan": "pro"}}}),
        )
        .await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = auth.create(&options.body);
    let r = app
        .post(
            "/signup/webauthn/verify",
            json!({"credential": credential, "options": {"displayName": "Other", "locale": "en"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let user = &r.body["session"]["user"];
    assert_eq!(user["displayName"], "Opt");
    assert_eq!(user["locale"], "fr");
    assert_eq!(user["defaultRole"], "me");
    assert_eq!(user["roles"], json!(["me", "editor"]));
    assert_eq!(user["metadata"], json!({"plan": "pro"}));
    let nick = sql_json(&app, "SELECT nickname FROM auth.user_security_keys").await;
    assert_eq!(nick["nickname"], serde_json::Value::Null);
}

#[tokio::test]
async fn verification_email_is_sent_and_signin_waits_for_it() {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let app = TestApp::with(&[
        "--webauthn-enabled",
        "--smtp-host=127.0.0.1",
        &port,
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=hasura-auth@example.com",
    ])
    .await;
    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "ver@example.com"}))
        .await;
    let credential = auth.create(&options.body);
    let r = app
        .post("/signup/webauthn/verify", json!({"credential": credential}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({}));
    let keys = sql_json(&app, "SELECT count(*) AS n FROM auth.user_security_keys").await;
    assert_eq!(keys["n"], 1);

    let options = app
        .post("/signin/webauthn", json!({"email": "ver@example.com"}))
        .await;
    options.assert_error(401, "unverified-user");

    let mail = smtp
        .wait_for_message("ver@example.com", Duration::from_secs(10))
        .await;
    assert_eq!(
        mail.header("X-Email-Template").as_deref(),
        Some("email-verify")
    );
    let link = mail.header("X-Link").expect("X-Link header");
    let path = link.strip_prefix(&app.base).expect("link to this server");
    let v = app.get(path).await;
    assert_eq!(v.status, 302, "{}", v.text);

    let r = crate::passkey_signin(&app, &mut auth, Some("ver@example.com")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["emailVerified"], true);
}

#[tokio::test]
async fn new_users_disabled_get_disabled_user_but_are_created() {
    let app = app(&["--disable-new-users"]).await;
    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "off@example.com"}))
        .await;
    let credential = auth.create(&options.body);
    app.post("/signup/webauthn/verify", json!({"credential": credential}))
        .await
        .assert_error(401, "disabled-user");
    let u = sql_json(&app, "SELECT disabled FROM auth.users").await;
    assert_eq!(u["disabled"], true);
}

#[tokio::test]
async fn taken_email_is_reported_at_verify() {
    let app = app(&[]).await;
    app.signup("taken@example.com", "hunter22").await;
    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "TAKEN@example.com"}))
        .await;
    assert_eq!(options.status, 200, "existing emails are not detected here");
    let credential = auth.create(&options.body);
    app.post("/signup/webauthn/verify", json!({"credential": credential}))
        .await
        .assert_error(409, "email-already-in-use");
    let keys = sql_json(&app, "SELECT count(*) AS n FROM auth.user_security_keys").await;
    assert_eq!(keys["n"], 0, "nothing left behind");
}

#[tokio::test]
async fn elevation_gives_a_session_with_the_elevated_claim() {
    let app = app(&["--require-elevated-claim=required"]).await;
    let mut auth = authenticator();
    let session = passkey_signup(&app, &mut auth, "ele@example.com").await;
    let token = access_token(&session);
    let user_id = session["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // A user with a key must elevate before adding another.
    app.post_auth("/user/webauthn/add", &token, json!({}))
        .await
        .assert_error(400, "elevated-claim-required");

    let options = app.post_auth("/elevate/webauthn", &token, json!({})).await;
    assert_eq!(options.status, 200, "{}", options.text);
    assert_eq!(
        options.body["allowCredentials"][0]["id"],
        auth.credentials[0].id_b64()
    );
    let assertion = auth.get(&options.body);
    let r = app
        .post_auth(
            "/elevate/webauthn/verify",
            &token,
            json!({"credential": assertion}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let elevated = access_token(&r.body["session"]);
    assert_eq!(
        hasura_claims(&elevated)["x-hasura-auth-elevated"],
        user_id.as_str()
    );
    let rows = sql_json(
        &app,
        "SELECT count(*) AS n FROM auth.refresh_tokens WHERE type = 'regular'",
    )
    .await;
    assert_eq!(rows["n"], 2, "elevation opens a new session");

    let r = app
        .post_auth("/user/webauthn/add", &elevated, json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // The claim does not survive a refresh.
    let refreshed = app
        .post(
            "/token",
            json!({"refreshToken": session["refreshToken"].as_str().unwrap_or_default()}),
        )
        .await;
    assert!(
        hasura_claims(&access_token(&refreshed.body))
            .get("x-hasura-auth-elevated")
            .is_none()
    );
}

#[tokio::test]
async fn elevation_needs_a_key_and_a_token() {
    let app = app(&[]).await;
    let session = app.signup("nokey@example.com", "hunter22").await;
    let token = access_token(&session);
    app.post_auth("/elevate/webauthn", &token, json!({}))
        .await
        .assert_error(400, "invalid-request");
    app.post("/elevate/webauthn", json!({}))
        .await
        .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn another_instance_finishes_the_ceremony() {
    let app = app(&[]).await;
    // A second server on the same database, as behind a load balancer.
    let config = hasura_auth::config::Config::from_args([
        "hasura-auth".to_owned(),
        format!("--postgres={}", app.db.url),
        format!(
            "--hasura-graphql-jwt-secret={}",
            crate::support::app::HS256_SECRET
        ),
        format!("--client-url={}", crate::support::app::CLIENT_URL),
        "--webauthn-enabled".to_owned(),
        "--email-verification-required=false".to_owned(),
        "--templates-path=/nonexistent-test-templates".to_owned(),
    ])
    .expect("config");
    let state = hasura_auth::startup::build_state(config)
        .await
        .expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let other = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hasura_auth::startup::serve(
        state.clone(),
        listener,
        async {
            let _ = stopped.await;
        },
    ));

    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "lb@example.com"}))
        .await;
    let credential = auth.create(&options.body);
    let r = app
        .http
        .post(format!("{other}/signup/webauthn/verify"))
        .json(&json!({"credential": credential}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);

    let options = app
        .http
        .post(format!("{other}/signin/webauthn"))
        .json(&json!({}))
        .send()
        .await
        .expect("request")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    let assertion = auth.get(&options);
    let r = app
        .post("/signin/webauthn/verify", json!({"credential": assertion}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let _ = stop.send(());
    let _ = server.await;
    state.db.close();
}

/// Nhost Auth 0.48: `codeChallenge` on `/signup/webauthn/verify` goes into the
/// verification link, whose redirect then carries a PKCE code for `/token/exchange`.
#[tokio::test]
async fn verification_link_of_a_passkey_sign_up_ends_in_a_pkce_code() {
    use base64::Engine;
    use sha2::Digest;
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let app = TestApp::with(&[
        "--webauthn-enabled",
        "--smtp-host=127.0.0.1",
        &port,
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=hasura-auth@example.com",
    ])
    .await;
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut auth = authenticator();
    let options = app
        .post("/signup/webauthn", json!({"email": "pk@example.com"}))
        .await;
    let credential = auth.create(&options.body);
    let r = app
        .post(
            "/signup/webauthn/verify",
            json!({"credential": credential, "codeChallenge": challenge}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = smtp
        .wait_for_message("pk@example.com", Duration::from_secs(10))
        .await
        .header("X-Link")
        .expect("X-Link header");
    assert!(
        link.contains(&format!("codeChallenge={challenge}")),
        "{link}"
    );
    let path = link.strip_prefix(&app.base).expect("link to this server");
    let v = app.get(path).await;
    assert_eq!(v.status, 302, "{}", v.text);
    let location = url::Url::parse(&v.location()).expect("location");
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert!(!q.contains_key("refreshToken"), "{q:?}");
    let r = app
        .post(
            "/token/exchange",
            json!({"code": q["code"], "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["emailVerified"], true);
}
