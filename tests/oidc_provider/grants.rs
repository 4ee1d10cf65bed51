//! Helpers of the token-side tests: authorization codes (through SQL, as
//! `/oauth2/login` stores them), token-endpoint calls, and JWT checks against the
//! service's published key set.
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::*;
use crate::support::app::{Reply, TestApp};

/// Lowercase hex SHA-256, the stored form of codes and refresh tokens.
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What an authorization request carried.
#[derive(Clone)]
pub struct Authz<'a> {
    pub scopes: &'a [&'a str],
    pub redirect_uri: &'a str,
    pub nonce: Option<&'a str>,
    pub challenge: Option<String>,
    /// `false`: the request is not completed (no user, not done).
    pub done: bool,
    /// Seconds until the code expires (negative: already expired).
    pub code_ttl: i64,
}

impl Default for Authz<'_> {
    fn default() -> Self {
        Authz {
            scopes: &["openid", "profile", "email"],
            redirect_uri: REDIRECT_URI,
            nonce: Some("n-0S6_WzA2Mj"),
            challenge: None,
            done: true,
            code_ttl: 300,
        }
    }
}

/// A completed authorization request of `user_id` for `client_id` and its code, as
/// `/oauth2/login` leaves them. Returns `(code, auth request id)`.
pub async fn code_for(
    app: &TestApp,
    client_id: &str,
    user_id: &str,
    authz: Authz<'_>,
) -> (String, uuid::Uuid) {
    let db = app.db.client().await;
    let user = uuid::Uuid::parse_str(user_id).expect("user id");
    let scopes: Vec<String> = authz.scopes.iter().map(|s| (*s).to_owned()).collect();
    let method = authz.challenge.as_ref().map(|_| "S256");
    let row = db
        .query_one(
            "INSERT INTO auth.oauth2_auth_requests (client_id, scopes, redirect_uri, state, \
               nonce, response_type, code_challenge, code_challenge_method, user_id, done, \
               auth_time, expires_at) \
             VALUES ($1, $2, $3, 'st', $4, 'code', $5, $6, \
               CASE WHEN $8 THEN $7::uuid END, $8, CASE WHEN $8 THEN now() - interval '30 seconds' END, \
               now() + interval '10 minutes') RETURNING id",
            &[
                &client_id,
                &scopes,
                &authz.redirect_uri,
                &authz.nonce,
                &authz.challenge,
                &method,
                &user,
                &authz.done,
            ],
        )
        .await
        .expect("insert auth request");
    let request_id: uuid::Uuid = row.get(0);
    let code = uuid::Uuid::new_v4().to_string();
    db.execute(
        "INSERT INTO auth.oauth2_authorization_codes (code_hash, auth_request_id, expires_at) \
         VALUES ($1, $2, now() + make_interval(secs => $3::bigint))",
        &[&sha256_hex(&code), &request_id, &authz.code_ttl],
    )
    .await
    .expect("insert code");
    (code, request_id)
}

/// Client credentials of a call.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// `Authorization: Basic`.
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the form.
    Post(&'a str, &'a str),
    /// `client_id` only (public clients).
    Id(&'a str),
    None,
}

/// Form text of `fields`.
pub fn form(fields: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A form POST to `path` with the given credentials.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    auth: Auth<'_>,
    fields: &[(&str, &str)],
) -> Reply {
    let mut fields: Vec<(&str, &str)> = fields.to_vec();
    let mut req = app
        .http
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded");
    match auth {
        Auth::Basic(id, secret) => {
            let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
            req = req.header("authorization", value);
        }
        Auth::Post(id, secret) => {
            fields.push(("client_id", id));
            fields.push(("client_secret", secret));
        }
        Auth::Id(id) => fields.push(("client_id", id)),
        Auth::None => {}
    }
    Reply::read(req.body(form(&fields)).send().await.expect("request")).await
}

/// `POST /oauth2/token` exchanging `code`.
pub async fn exchange(app: &TestApp, auth: Auth<'_>, code: &str, verifier: Option<&str>) -> Reply {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
    ];
    if let Some(v) = verifier {
        fields.push(("code_verifier", v));
    }
    post_form(app, "/oauth2/token", auth, &fields).await
}

/// `POST /oauth2/token` with a refresh token.
pub async fn refresh(app: &TestApp, auth: Auth<'_>, token: &str) -> Reply {
    post_form(
        app,
        "/oauth2/token",
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

/// Asserts an OAuth2 error answer.
#[track_caller]
pub fn assert_oauth2_error(r: &Reply, status: u16, code: &str, description: &str) {
    assert_eq!(r.status.as_u16(), status, "status; body: {}", r.text);
    assert_eq!(r.body["error"], code, "error; body: {}", r.text);
    assert_eq!(
        r.body["error_description"], description,
        "description; body: {}",
        r.text
    );
    assert_eq!(
        r.body.as_object().map(|o| o.len()),
        Some(2),
        "only error and error_description: {}",
        r.text
    );
}

/// Asserts the token endpoint's cache headers.
#[track_caller]
pub fn assert_no_store(r: &Reply) {
    assert_eq!(r.headers["cache-control"], "no-store", "{}", r.text);
    assert_eq!(r.headers["pragma"], "no-cache", "{}", r.text);
}

/// Verifies a JWT with the key set the service publishes (`/.well-known/jwks.json`),
/// picked by the token's `kid`; checks `exp` and the issuer, returns the payload.
pub async fn verified(app: &TestApp, token: &str) -> Value {
    let jwks = app.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200);
    let set: JwkSet = serde_json::from_value(jwks.body).expect("a JWK set");
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("the token names its key");
    let jwk = set.find(&kid).expect("the kid is published");
    let key = DecodingKey::from_jwk(jwk).expect("usable JWK");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_aud = false;
    validation.set_issuer(&[app.base.as_str()]);
    validation.leeway = 0;
    decode::<Value>(token, &key, &validation)
        .expect("signature, expiry and issuer check out")
        .claims
}

/// The payload of a JWT without checking it (for forged-token tests).
pub fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// The user id of an email (users signed up without a session).
pub async fn user_id_of(app: &TestApp, email: &str) -> String {
    let row = app
        .db
        .client()
        .await
        .query_one(
            "SELECT id::text FROM auth.users WHERE email = $1::text::citext",
            &[&email],
        )
        .await
        .expect("user");
    row.get(0)
}

/// A confidential client, a user, and a fresh code of theirs: `(client, user, code)`.
pub async fn setup(app: &TestApp, email: &str, authz: Authz<'_>) -> (String, String, String) {
    let client = confidential_client(app).await;
    let (user, _) = signed_in_user(app, email).await;
    let (code, _) = code_for(app, &client, &user, authz).await;
    (client, user, code)
}
