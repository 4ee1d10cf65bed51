//! Signing keys over HTTP: every algorithm end to end (sign-in → /user → /token/verify →
//! refresh), the JWKS, and a rotation with `HASURA_GRAPHQL_JWT_SECRETS` (docs/keys.md).

use base64::Engine;
use hasura_auth::tokens::{AccessClaims, JwtKeys};
use serde_json::{Value, json};

use crate::support::app::{HS256_SECRET, TestApp};

const NO_VERIFY: &str = "--email-verification-required=false";
const RSA_PUBLIC: &str = include_str!("../fixtures/keys/rsa2048-public.pem");
const RSA_PRIVATE: &str = include_str!("../fixtures/keys/rsa2048-private.pem");
const P256_PUBLIC: &str = include_str!("../fixtures/keys/ec-p256-public.pem");
const P256_PRIVATE: &str = include_str!("../fixtures/keys/ec-p256-private.pem");
const P256_OTHER_PUBLIC: &str = include_str!("../fixtures/keys/ec-p256-other-public.pem");
const P256_OTHER_PRIVATE: &str = include_str!("../fixtures/keys/ec-p256-other-private.pem");
const P384_PUBLIC: &str = include_str!("../fixtures/keys/ec-p384-public.pem");
const P384_PRIVATE: &str = include_str!("../fixtures/keys/ec-p384-private.pem");
const ED25519_PUBLIC: &str = include_str!("../fixtures/keys/ed25519-public.pem");
const ED25519_PRIVATE: &str = include_str!("../fixtures/keys/ed25519-private.pem");

fn pair(alg: &str, public: &str, private: &str) -> String {
    json!({"type": alg, "key": public, "signing_key": private}).to_string()
}

fn header_and_payload(token: &str) -> (Value, Value) {
    let dec = |s: &str| -> Value {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    };
    let mut it = token.split('.');
    (
        dec(it.next().unwrap_or_default()),
        dec(it.next().unwrap_or_default()),
    )
}

fn access(session: &Value) -> String {
    session["accessToken"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn every_algorithm_signs_in_and_verifies_end_to_end() {
    for (secret, alg, published) in [
        (HS256_SECRET.to_owned(), "HS256", 0),
        (pair("RS256", RSA_PUBLIC, RSA_PRIVATE), "RS256", 1),
        (pair("ES256", P256_PUBLIC, P256_PRIVATE), "ES256", 1),
        (pair("ES384", P384_PUBLIC, P384_PRIVATE), "ES384", 1),
        (pair("Ed25519", ED25519_PUBLIC, ED25519_PRIVATE), "EdDSA", 1),
    ] {
        let flag = format!("--hasura-graphql-jwt-secret={secret}");
        let app = TestApp::with(&[NO_VERIFY, "--enable-anonymous-users", &flag]).await;
        let session = app.signup("k@example.com", "hunter22").await;
        let token = access(&session);
        let (header, payload) = header_and_payload(&token);
        assert_eq!(header["alg"], alg);
        let claims = &payload["https://hasura.io/jwt/claims"];
        assert_eq!(claims["x-hasura-user-id"], session["user"]["id"], "{alg}");
        assert_eq!(claims["x-hasura-default-role"], "user");
        assert_eq!(claims["x-hasura-allowed-roles"], json!(["me", "user"]));
        assert_eq!(claims["x-hasura-user-is-anonymous"], "false");

        let me = app.get_auth("/user", &token).await;
        assert_eq!(me.status, 200, "{alg}: {}", me.text);
        assert_eq!(me.body["email"], "k@example.com");
        let r = app.post("/token/verify", json!({"token": token})).await;
        assert_eq!(r.status, 200, "{alg}: {}", r.text);
        let r = app.post_auth("/token/verify", &token, json!({})).await;
        assert_eq!(r.status, 200, "{alg}: {}", r.text);

        let refreshed = app
            .post("/token", json!({"refreshToken": session["refreshToken"]}))
            .await;
        assert_eq!(refreshed.status, 200, "{alg}: {}", refreshed.text);
        let again = access(&refreshed.body);
        assert_eq!(app.get_auth("/user", &again).await.status, 200, "{alg}");

        let anonymous = app.post("/signin/anonymous", json!({})).await;
        assert_eq!(anonymous.status, 200, "{alg}: {}", anonymous.text);
        let anon = access(&anonymous.body["session"]);
        assert_eq!(header_and_payload(&anon).0["alg"], alg);
        let r = app.post("/token/verify", json!({"token": anon})).await;
        assert_eq!(r.status, 200, "{alg}: {}", r.text);

        let jwks = app.get("/.well-known/jwks.json").await;
        assert_eq!(jwks.status, 200);
        let keys = jwks.body["keys"].as_array().cloned().unwrap_or_default();
        assert_eq!(keys.len(), published, "{alg}: {}", jwks.text);
        if let Some(key) = keys.first() {
            assert_eq!(key["alg"], alg);
            assert_eq!(
                key["kid"], header["kid"],
                "{alg}: tokens name the published key"
            );
        }
        app.stop().await;
    }
}

fn claims_for(user_id: uuid::Uuid, roles: &[String]) -> AccessClaims<'_> {
    AccessClaims {
        user_id,
        allowed_roles: roles,
        default_role: "user",
        is_anonymous: false,
        extra: &[],
        elevated: false,
    }
}

#[tokio::test]
async fn rotation_verifies_every_configured_key_and_refuses_a_retired_one() {
    let current = pair("ES256", P256_PUBLIC, P256_PRIVATE);
    let previous = pair("Ed25519", ED25519_PUBLIC, ED25519_PRIVATE);
    let retired = pair("ES256", P256_OTHER_PUBLIC, P256_OTHER_PRIVATE);
    let list = format!("--hasura-graphql-jwt-secrets=[{current},{previous}]");
    // The test harness also passes HASURA_GRAPHQL_JWT_SECRET (HS256): the list wins.
    let app = TestApp::with(&[NO_VERIFY, &list]).await;
    let session = app.signup("rot@example.com", "hunter22").await;
    let token = access(&session);
    assert_eq!(
        header_and_payload(&token).0["alg"],
        "ES256",
        "the first entry signs"
    );
    assert_eq!(app.get_auth("/user", &token).await.status, 200);

    let user_id = session["user"]["id"]
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .unwrap_or_default();
    let roles = vec!["user".to_owned(), "me".to_owned()];
    let mint = |secret: &str| {
        let keys = JwtKeys::from_secret(secret).expect("test key");
        keys.sign(&claims_for(user_id, &roles), 600)
            .expect("signed")
    };

    // Signed by the previous (non-current) key: accepted everywhere.
    let by_previous = mint(&previous);
    let me = app.get_auth("/user", &by_previous).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["email"], "rot@example.com");
    let r = app
        .post("/token/verify", json!({"token": by_previous}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Signed by a key no longer configured, or by the ignored single secret: refused.
    for refused in [mint(&retired), mint(HS256_SECRET)] {
        app.post("/token/verify", json!({"token": refused}))
            .await
            .assert_error(400, "invalid-request");
        assert_ne!(app.get_auth("/user", &refused).await.status, 200);
    }

    let jwks = app.get("/.well-known/jwks.json").await;
    let kids: Vec<Value> = jwks.body["keys"]
        .as_array()
        .map(|keys| keys.iter().map(|k| k["kid"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(kids.len(), 2, "{}", jwks.text);
    assert_eq!(kids[0], header_and_payload(&token).0["kid"]);
    assert_eq!(kids[1], header_and_payload(&by_previous).0["kid"]);
    assert!(jwks.text.contains("\"OKP\"") && jwks.text.contains("\"EC\""));
}
