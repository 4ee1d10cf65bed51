//! PKCE for the redirect flows (Nhost Auth 0.48): a flow started with `codeChallenge`
//! redirects with `code=` instead of `refreshToken=`, and `POST /token/exchange` trades
//! the code and its verifier for a session. Run on a fresh database (level 27, upstream's
//! `auth.pkce_authorization_codes`) and on a v18 database kept at 18 (our own table).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::app::TestApp;
use crate::support::db::TestDb;
use crate::support::smtp::{SmtpOptions, SmtpServer};

pub const WAIT: Duration = Duration::from_secs(10);
const V18: &str = include_str!("../fixtures/upstream/v18.sql");

/// What `@nhost/nhost-js` 4.7 does (`pkce.js`): 32 random bytes, base64url, and the
/// S256 challenge of that string.
pub fn pkce_pair() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

#[derive(Clone, Copy, Debug)]
pub enum Level {
    Fresh,
    V18,
}

pub async fn app_at(level: Level, extra: &[&str]) -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start(SmtpOptions::with_credentials("user", "password")).await;
    let port = format!("--smtp-port={}", smtp.port());
    let mut args = vec![
        "--smtp-host=127.0.0.1",
        port.as_str(),
        "--smtp-user=user",
        "--smtp-password=password",
        "--smtp-sender=Hasura Auth <hasura-auth@example.com>",
        "--email-passwordless-enabled=true",
    ];
    // A flag given in `extra` replaces the default one (clap refuses repeated flags).
    for e in extra {
        let name = e.split('=').next().unwrap_or_default();
        args.retain(|a| a.split('=').next() != Some(name));
        args.push(e);
    }
    let db = TestDb::empty().await;
    if let Level::V18 = level {
        db.client()
            .await
            .batch_execute(V18)
            .await
            .expect("load upstream v18 fixture");
    }
    (TestApp::with_db(db, &args).await, smtp)
}

fn query_of(location: &str) -> std::collections::BTreeMap<String, String> {
    url::Url::parse(location)
        .expect("absolute location")
        .query_pairs()
        .into_owned()
        .collect()
}

/// Follows the emailed link and returns the redirect's query.
pub async fn follow(app: &TestApp, link: &str) -> std::collections::BTreeMap<String, String> {
    let res = app.http.get(link).send().await.expect("follow link");
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    query_of(&location)
}

async fn code_table_rows(app: &TestApp, level: Level) -> Vec<(String, String)> {
    let table = match level {
        Level::Fresh => "auth.pkce_authorization_codes",
        Level::V18 => "hasura_auth.pkce_codes",
    };
    app.db
        .client()
        .await
        .query(
            &format!("SELECT code_hash, code_challenge FROM {table}"),
            &[],
        )
        .await
        .expect("code rows")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn magic_link_code(app: &TestApp, smtp: &SmtpServer, email: &str, challenge: &str) -> String {
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": email, "codeChallenge": challenge,
                   "options": {"redirectTo": "http://localhost:3000/back?x=1"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = smtp
        .wait_for_message(email, WAIT)
        .await
        .header("X-Link")
        .expect("X-Link");
    assert!(
        link.contains(&format!("codeChallenge={challenge}")),
        "{link}"
    );
    let q = follow(app, &link).await;
    assert!(!q.contains_key("refreshToken"), "{q:?}");
    assert_eq!(q["type"], "passwordlessEmail");
    assert_eq!(q["x"], "1");
    q["code"].clone()
}

async fn magic_link_then_exchange(level: Level) {
    let (app, smtp) = app_at(level, &[]).await;
    let (verifier, challenge) = pkce_pair();
    let code = magic_link_code(&app, &smtp, "pkce@example.com", &challenge).await;

    // Stored hashed, with its challenge.
    let rows = code_table_rows(&app, level).await;
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].0, code);
    assert!(!rows[0].0.contains(&code));
    assert_eq!(rows[0].1, challenge);

    // A wrong verifier is refused and does not burn the code.
    let (other_verifier, _) = pkce_pair();
    app.post(
        "/token/exchange",
        json!({"code": code, "codeVerifier": other_verifier}),
    )
    .await
    .assert_error(400, "invalid-request");

    let r = app
        .post(
            "/token/exchange",
            json!({"code": code, "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = &r.body["session"];
    assert_eq!(session["user"]["email"], "pkce@example.com");
    assert_eq!(session["user"]["emailVerified"], true);
    let refreshed = app
        .post("/token", json!({"refreshToken": session["refreshToken"]}))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text);

    // Single use.
    app.post(
        "/token/exchange",
        json!({"code": code, "codeVerifier": verifier}),
    )
    .await
    .assert_error(400, "invalid-request");
    assert!(code_table_rows(&app, level).await.is_empty());
    let version: i64 = app
        .db
        .client()
        .await
        .query_one("SELECT version FROM auth.schema_migrations", &[])
        .await
        .expect("level")
        .get(0);
    assert_eq!(
        version,
        match level {
            Level::Fresh => 27,
            Level::V18 => 18,
        },
        "the schema stays at the level it was found at"
    );
}

#[tokio::test]
async fn magic_link_with_code_challenge_exchanges_once_at_level_27() {
    magic_link_then_exchange(Level::Fresh).await;
}

#[tokio::test]
async fn magic_link_with_code_challenge_exchanges_once_at_level_18() {
    magic_link_then_exchange(Level::V18).await;
}

async fn expired_code_is_refused(level: Level) {
    let (app, smtp) = app_at(level, &[]).await;
    let (verifier, challenge) = pkce_pair();
    let code = magic_link_code(&app, &smtp, "late@example.com", &challenge).await;
    let table = match level {
        Level::Fresh => "auth.pkce_authorization_codes",
        Level::V18 => "hasura_auth.pkce_codes",
    };
    // Five minutes.
    let live: bool = app
        .db
        .client()
        .await
        .query_one(
            &format!(
                "SELECT expires_at BETWEEN now() + interval '4 minutes 50 seconds' \
                 AND now() + interval '5 minutes' FROM {table}"
            ),
            &[],
        )
        .await
        .expect("expiry")
        .get(0);
    assert!(live);
    app.sql(&format!(
        "UPDATE {table} SET expires_at = now() - interval '1 second'"
    ))
    .await;
    app.post(
        "/token/exchange",
        json!({"code": code, "codeVerifier": verifier}),
    )
    .await
    .assert_error(400, "invalid-request");
}

#[tokio::test]
async fn an_expired_code_is_refused_at_level_27() {
    expired_code_is_refused(Level::Fresh).await;
}

#[tokio::test]
async fn an_expired_code_is_refused_at_level_18() {
    expired_code_is_refused(Level::V18).await;
}

#[tokio::test]
async fn a_disabled_user_gets_no_session_for_a_code() {
    let (app, smtp) = app_at(Level::Fresh, &[]).await;
    let (verifier, challenge) = pkce_pair();
    let code = magic_link_code(&app, &smtp, "off@example.com", &challenge).await;
    app.sql("UPDATE auth.users SET disabled = true").await;
    app.post(
        "/token/exchange",
        json!({"code": code, "codeVerifier": verifier}),
    )
    .await
    .assert_error(401, "disabled-user");
}

#[tokio::test]
async fn without_a_challenge_the_redirect_still_carries_a_refresh_token() {
    let (app, smtp) = app_at(Level::Fresh, &[]).await;
    let r = app
        .post(
            "/signin/passwordless/email",
            json!({"email": "plain@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = smtp
        .wait_for_message("plain@example.com", WAIT)
        .await
        .header("X-Link")
        .expect("X-Link");
    assert!(!link.contains("codeChallenge"), "{link}");
    let q = follow(&app, &link).await;
    assert!(
        q.contains_key("refreshToken") && !q.contains_key("code"),
        "{q:?}"
    );
}

async fn signup_verification_and_password_reset(level: Level) {
    let (app, smtp) = app_at(level, &["--email-verification-required=true"]).await;
    let (verifier, challenge) = pkce_pair();
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "new@example.com", "password": "hunter22", "codeChallenge": challenge}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = smtp
        .wait_for_message("new@example.com", WAIT)
        .await
        .header("X-Link")
        .expect("X-Link");
    let q = follow(&app, &link).await;
    assert_eq!(q["type"], "verifyEmail");
    let r = app
        .post(
            "/token/exchange",
            json!({"code": q["code"], "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["emailVerified"], true);

    let (verifier, challenge) = pkce_pair();
    let r = app
        .post(
            "/user/password/reset",
            json!({"email": "new@example.com", "codeChallenge": challenge}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = tokio::time::Instant::now() + WAIT;
    let link = loop {
        let found = smtp
            .messages()
            .into_iter()
            .find(|m| m.header("X-Email-Template").as_deref() == Some("password-reset"));
        if let Some(m) = found {
            break m.header("X-Link").expect("X-Link");
        }
        assert!(tokio::time::Instant::now() < deadline, "no reset email");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        link.contains(&format!("codeChallenge={challenge}")),
        "{link}"
    );
    let q = follow(&app, &link).await;
    assert_eq!(q["type"], "passwordReset");
    let r = app
        .post(
            "/token/exchange",
            json!({"code": q["code"], "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn signup_verification_and_password_reset_links_end_in_codes_at_level_27() {
    signup_verification_and_password_reset(Level::Fresh).await;
}

#[tokio::test]
async fn signup_verification_and_password_reset_links_end_in_codes_at_level_18() {
    signup_verification_and_password_reset(Level::V18).await;
}

#[tokio::test]
async fn hostile_and_malformed_pkce_input_is_refused() {
    let (app, _smtp) = app_at(Level::Fresh, &[]).await;
    let (verifier, challenge) = pkce_pair();
    for body in [
        json!({}),
        json!({"code": "abc"}),
        json!({"codeVerifier": verifier}),
        json!({"code": "abc", "codeVerifier": "short"}),
        json!({"code": "abc", "codeVerifier": "v".repeat(129)}),
        json!({"code": "abc", "codeVerifier": verifier, "extra": 1}),
        json!({"code": 12, "codeVerifier": verifier}),
        json!({"code": "", "codeVerifier": verifier}),
        json!({"code": "a\u{0}b", "codeVerifier": verifier}),
        json!({"code": "' OR 1=1 --", "codeVerifier": verifier}),
        json!({"code": "x".repeat(10_000), "codeVerifier": verifier}),
    ] {
        let r = app.post("/token/exchange", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text);
    }
    for bad in [
        &challenge[..42],
        &format!("{challenge}A"),
        &format!("{}=", &challenge[..42]),
        &format!("{}+", &challenge[..42]),
    ] {
        app.post(
            "/signin/passwordless/email",
            json!({"email": "h@example.com", "codeChallenge": bad}),
        )
        .await
        .assert_error(400, "invalid-request");
        app.post(
            "/signup/email-password",
            json!({"email": "h@example.com", "password": "hunter22", "codeChallenge": bad}),
        )
        .await
        .assert_error(400, "invalid-request");
        let r = app
            .get(&format!(
                "/verify?ticket=verifyEmail:x&redirectTo=http://localhost:3000&codeChallenge={}",
                urlencode(bad)
            ))
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The link's `/verify` redirect, for the newest email to `to` whose template is
/// `template`.
async fn link_of(smtp: &SmtpServer, to: &str, template: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = smtp.messages().into_iter().rev().find(|m| {
            m.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(to))
                && m.header("X-Email-Template").as_deref() == Some(template)
        });
        if let Some(m) = found {
            return m.header("X-Link").expect("X-Link");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {template} to {to}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn code_from_link(app: &TestApp, link: &str, challenge: &str, ticket_type: &str) -> String {
    assert!(
        link.contains(&format!("codeChallenge={challenge}")),
        "{link}"
    );
    let q = follow(app, link).await;
    assert!(!q.contains_key("refreshToken"), "{q:?}");
    assert_eq!(q["type"], ticket_type);
    q["code"].clone()
}

#[tokio::test]
async fn deanonymize_email_change_and_verification_links_end_in_codes() {
    let (app, smtp) = app_at(
        Level::Fresh,
        &[
            "--enable-anonymous-users",
            "--email-verification-required=true",
        ],
    )
    .await;
    // Deanonymisation by magic link.
    let anon = app.post("/signin/anonymous", json!({})).await;
    assert_eq!(anon.status, 200, "{}", anon.text);
    let token = anon.body["session"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let (verifier, challenge) = pkce_pair();
    let r = app
        .post_auth(
            "/user/deanonymize",
            &token,
            json!({"signInMethod": "passwordless", "email": "was-anon@example.com",
                   "codeChallenge": challenge}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = link_of(&smtp, "was-anon@example.com", "signin-passwordless").await;
    let code = code_from_link(&app, &link, &challenge, "passwordlessEmail").await;
    let r = app
        .post(
            "/token/exchange",
            json!({"code": code, "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let session = &r.body["session"];
    assert_eq!(session["user"]["isAnonymous"], false);
    let token = session["accessToken"].as_str().expect("token").to_owned();

    // Email change.
    let (verifier, challenge) = pkce_pair();
    let r = app
        .post_auth(
            "/user/email/change",
            &token,
            json!({"newEmail": "changed@example.com", "codeChallenge": challenge}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let link = link_of(&smtp, "changed@example.com", "email-confirm-change").await;
    let code = code_from_link(&app, &link, &challenge, "emailConfirmChange").await;
    let r = app
        .post(
            "/token/exchange",
            json!({"code": code, "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["email"], "changed@example.com");

    // Another verification email for an unverified user.
    let r = app
        .post(
            "/signup/email-password",
            json!({"email": "late@example.com", "password": "hunter22"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (verifier, challenge) = pkce_pair();
    let r = app
        .post(
            "/user/email/send-verification-email",
            json!({"email": "late@example.com", "codeChallenge": challenge}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let deadline = tokio::time::Instant::now() + WAIT;
    let link = loop {
        let link = link_of(&smtp, "late@example.com", "email-verify").await;
        if link.contains("codeChallenge") {
            break link;
        }
        assert!(tokio::time::Instant::now() < deadline, "second email");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let code = code_from_link(&app, &link, &challenge, "verifyEmail").await;
    let r = app
        .post(
            "/token/exchange",
            json!({"code": code, "codeVerifier": verifier}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["session"]["user"]["emailVerified"], true);
}
