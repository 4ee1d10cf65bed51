//! What the provider's tests share: an app with an RSA key and the provider on, client
//! rows (confidential with a known secret, public without), and a signed-in user.
#![allow(dead_code)]

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::app::{CLIENT_URL, TestApp};
use crate::support::db::TestDb;

pub const RSA_PUBLIC: &str = include_str!("../fixtures/keys/rsa2048-public.pem");
pub const RSA_PRIVATE: &str = include_str!("../fixtures/keys/rsa2048-private.pem");
pub const NO_VERIFY: &str = "--email-verification-required=false";
pub const ENABLED: &str = "--oauth2-provider-enabled=true";
/// Where the consent UI lives by default: `<AUTH_CLIENT_URL>/oauth2/login`.
pub const DEFAULT_LOGIN_URL: &str = "http://localhost:3000/oauth2/login";
/// The redirect URI of the test clients.
pub const REDIRECT_URI: &str = "https://app.example.com/callback";
/// The secret of every confidential test client.
pub const CLIENT_SECRET: &str = "s3cret-of-the-test-client";

/// `HASURA_GRAPHQL_JWT_SECRET` with the RSA test key (no `issuer`: the OIDC issuer is
/// then `AUTH_SERVER_URL`).
pub fn rsa_secret() -> String {
    json!({"type": "RS256", "key": RSA_PUBLIC, "signing_key": RSA_PRIVATE}).to_string()
}

/// The same key with an explicit issuer.
pub fn rsa_secret_with_issuer(issuer: &str) -> String {
    json!({"type": "RS256", "key": RSA_PUBLIC, "signing_key": RSA_PRIVATE, "issuer": issuer})
        .to_string()
}

/// An app with the RSA key, the provider enabled and email verification off, plus
/// `extra` flags (a flag given there replaces the default).
pub async fn provider_app(extra: &[&str]) -> TestApp {
    let secret = format!("--hasura-graphql-jwt-secret={}", rsa_secret());
    let mut args: Vec<String> = vec![secret, ENABLED.to_owned(), NO_VERIFY.to_owned()];
    for e in extra {
        let name = e.split('=').next().unwrap_or_default();
        args.retain(|a| a.split('=').next() != Some(name));
        args.push((*e).to_owned());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    TestApp::with(&args).await
}

/// The error `build_state` fails with for these flags (the test defaults of
/// [`TestApp`] plus `args`) on `db`; panics if start-up succeeds.
pub async fn startup_error(db: TestDb, args: &[&str]) -> String {
    let mut argv: Vec<String> = vec![
        "hasura-auth".into(),
        format!("--postgres={}", db.url),
        "--templates-path=/nonexistent-test-templates".into(),
    ];
    let defaults = [
        "--server-url=http://127.0.0.1:4000".to_owned(),
        format!("--client-url={CLIENT_URL}"),
        format!("--hasura-graphql-jwt-secret={}", rsa_secret()),
        "--upstream-generation=0.42".to_owned(),
    ];
    for d in defaults {
        let name = d.split('=').next().unwrap_or_default().to_owned();
        if !args.iter().any(|a| a.starts_with(&format!("{name}="))) {
            argv.push(d);
        }
    }
    argv.extend(args.iter().map(|s| (*s).to_owned()));
    let config = hasura_auth::config::Config::from_args(argv).expect("configuration parses");
    match hasura_auth::startup::build_state(config).await {
        Ok(_) => panic!("start-up succeeded with {args:?}"),
        Err(e) => e.to_string(),
    }
}

/// Inserts a client row; `secret` `Some` makes it confidential (bcrypt hash of it).
/// Returns the generated `client_id` (`nhoa_…`).
pub async fn insert_client(
    app: &TestApp,
    secret: Option<&str>,
    redirect_uris: &[&str],
    scopes: Option<&[&str]>,
) -> String {
    let hash = secret.map(|s| bcrypt::hash(s, 4).expect("bcrypt"));
    let uris: Vec<String> = redirect_uris.iter().map(|s| (*s).to_owned()).collect();
    let db = app.db.client().await;
    let row = match scopes {
        Some(scopes) => {
            let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
            db.query_one(
                "INSERT INTO auth.oauth2_clients (client_secret_hash, redirect_uris, scopes) \
                 VALUES ($1, $2, $3) RETURNING client_id",
                &[&hash, &uris, &scopes],
            )
            .await
        }
        None => {
            db.query_one(
                "INSERT INTO auth.oauth2_clients (client_secret_hash, redirect_uris) \
                 VALUES ($1, $2) RETURNING client_id",
                &[&hash, &uris],
            )
            .await
        }
    }
    .expect("insert client");
    row.get(0)
}

/// A confidential client (secret [`CLIENT_SECRET`], redirect [`REDIRECT_URI`], every
/// default scope).
pub async fn confidential_client(app: &TestApp) -> String {
    insert_client(app, Some(CLIENT_SECRET), &[REDIRECT_URI], None).await
}

/// A public client (no secret, PKCE required), redirect [`REDIRECT_URI`].
pub async fn public_client(app: &TestApp) -> String {
    insert_client(app, None, &[REDIRECT_URI], None).await
}

/// A signed-up (verification off) user: `(user id, session access token)`.
pub async fn signed_in_user(app: &TestApp, email: &str) -> (String, String) {
    let session = app.signup(email, "correct-horse-battery").await;
    let token = session["accessToken"]
        .as_str()
        .expect("access token")
        .to_owned();
    let id = session["user"]["id"].as_str().expect("user id").to_owned();
    (id, token)
}

/// A PKCE pair: `(verifier, S256 challenge)`.
pub fn pkce_pair() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The query parameters of a URL.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// A JSON body's field as text ("" when absent).
pub fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or_default().to_owned()
}
