//! `HASURA_GRAPHQL_JWT_SECRET` in its forms, the claims layout and the JWKS.

use base64::Engine;
use hasura_auth::tokens::{AccessClaims, JwtKeys};
use serde_json::{Value, json};

const PRIVATE_PKCS8: &str = include_str!("fixtures/keys/rsa2048-private.pem");
const PUBLIC: &str = include_str!("fixtures/keys/rsa2048-public.pem");
const OTHER_PRIVATE_PKCS1: &str = include_str!("fixtures/keys/other-private.pem");
const OTHER_PUBLIC: &str = include_str!("fixtures/keys/other-public.pem");

fn secret(v: Value) -> String {
    v.to_string()
}

fn parts(token: &str) -> (Value, Value) {
    let dec = |s: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("json")
    };
    let mut it = token.split('.');
    (
        dec(it.next().unwrap_or_default()),
        dec(it.next().unwrap_or_default()),
    )
}

fn sample(roles: &[String]) -> AccessClaims<'_> {
    AccessClaims {
        user_id: uuid::Uuid::nil(),
        allowed_roles: roles,
        default_role: "user",
        is_anonymous: false,
        extra: &[],
        elevated: false,
    }
}

#[test]
fn every_hmac_type_signs_and_verifies() {
    let roles = vec!["user".to_owned()];
    for alg in ["HS256", "HS384", "HS512"] {
        let keys = JwtKeys::from_secret(&secret(
            json!({"type": alg, "key": "a-very-long-shared-secret-of-32-bytes!"}),
        ))
        .expect("keys");
        let token = keys.sign(&sample(&roles), 60).expect("sign");
        let (header, payload) = parts(&token);
        assert_eq!(header["alg"], alg);
        assert!(header.get("kid").is_none(), "no kid unless configured");
        assert_eq!(payload["iss"], "hasura-auth");
        assert!(keys.verify(&token).is_ok());
        assert_eq!(keys.jwks(), &json!({"keys": null}));
    }
}

#[test]
fn rsa_keys_sign_with_a_stable_thumbprint_kid_published_in_the_jwks() {
    let roles = vec!["user".to_owned()];
    for alg in ["RS256", "RS384", "RS512"] {
        let cfg = secret(json!({"type": alg, "key": PUBLIC, "signing_key": PRIVATE_PKCS8}));
        let keys = JwtKeys::from_secret(&cfg).expect("keys");
        let again = JwtKeys::from_secret(&cfg).expect("keys");
        let token = keys.sign(&sample(&roles), 60).expect("sign");
        let (header, _) = parts(&token);
        let jwk = &keys.jwks()["keys"][0];
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["e"], "AQAB");
        assert_eq!(header["kid"], jwk["kid"], "tokens carry the published kid");
        assert_eq!(
            again.jwks()["keys"][0]["kid"],
            jwk["kid"],
            "kid is stable across restarts"
        );
        assert_eq!(
            jwk["kid"].as_str().map(str::len),
            Some(43),
            "RFC 7638 SHA-256 thumbprint"
        );
        assert!(again.verify(&token).is_ok());
    }
}

#[test]
fn configured_kid_issuer_and_namespace_are_used() {
    let roles = vec!["me".to_owned(), "user".to_owned()];
    let keys = JwtKeys::from_secret(&secret(json!({
        "type": "RS256", "key": OTHER_PUBLIC, "signing_key": OTHER_PRIVATE_PKCS1,
        "kid": "key-1", "issuer": "my-issuer", "claims_namespace": "https://example.com/claims"
    })))
    .expect("keys");
    let token = keys.sign(&sample(&roles), 60).expect("sign");
    let (header, payload) = parts(&token);
    assert_eq!(header["kid"], "key-1");
    assert_eq!(keys.jwks()["keys"][0]["kid"], "key-1");
    assert_eq!(payload["iss"], "my-issuer");
    assert_eq!(
        payload["https://example.com/claims"]["x-hasura-allowed-roles"],
        json!(["me", "user"])
    );
    let verified = keys.verify(&token).expect("verify");
    assert_eq!(verified.claims["x-hasura-default-role"], "user");
}

#[test]
fn claims_namespace_path_format_and_audience_follow_hasura() {
    let roles = vec!["user".to_owned()];
    let keys = JwtKeys::from_secret(&secret(json!({
        "type": "HS256", "key": "a-very-long-shared-secret-of-32-bytes!",
        "claims_namespace_path": "$.hasura.claims", "claims_format": "stringified_json", "audience": "my-app"
    })))
    .expect("keys");
    let token = keys.sign(&sample(&roles), 60).expect("sign");
    let (_, payload) = parts(&token);
    assert_eq!(payload["aud"], "my-app");
    let inner: Value =
        serde_json::from_str(payload["hasura"]["claims"].as_str().expect("stringified"))
            .expect("json");
    assert_eq!(inner["x-hasura-user-is-anonymous"], "false");
    assert!(keys.verify(&token).is_ok());
}

#[test]
fn tokens_from_another_key_issuer_or_algorithm_are_rejected() {
    let roles = vec!["user".to_owned()];
    let hs =
        JwtKeys::from_secret(r#"{"type":"HS256","key":"a-very-long-shared-secret-of-32-bytes!"}"#)
            .expect("keys");
    let other_issuer = JwtKeys::from_secret(
        r#"{"type":"HS256","key":"a-very-long-shared-secret-of-32-bytes!","issuer":"x"}"#,
    )
    .expect("keys");
    let hs512 =
        JwtKeys::from_secret(r#"{"type":"HS512","key":"a-very-long-shared-secret-of-32-bytes!"}"#)
            .expect("keys");
    let token = hs.sign(&sample(&roles), 60).expect("sign");
    assert!(other_issuer.verify(&token).is_err());
    assert!(hs512.verify(&token).is_err());
    let expired = hs
        .sign_at(&sample(&roles), chrono::Utc::now().timestamp() - 120, 60)
        .expect("sign");
    assert!(hs.verify(&expired).is_err());
}

#[test]
fn bad_secrets_fail_with_a_clear_message() {
    for (cfg, needle) in [
        ("", "required"),
        ("not json", "not valid JSON"),
        (r#"{"type":"ES256","key":"x"}"#, "unsupported jwt type"),
        (r#"{"key":"x"}"#, "unsupported jwt type"),
        (r#"{"type":"HS256"}"#, "key"),
        (
            r#"{"type":"RS256","key":"not a pem","signing_key":"nope"}"#,
            "signing_key",
        ),
    ] {
        let err = JwtKeys::from_secret(cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(needle), "{cfg}: {err}");
    }
    let mismatched =
        secret(json!({"type": "RS256", "key": OTHER_PUBLIC, "signing_key": PRIVATE_PKCS8}));
    let err = JwtKeys::from_secret(&mismatched)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not the public key"), "{err}");
}

#[test]
fn custom_claims_never_overwrite_the_defaults_and_elevation_is_added() {
    let roles = vec!["user".to_owned()];
    let keys =
        JwtKeys::from_secret(r#"{"type":"HS256","key":"a-very-long-shared-secret-of-32-bytes!"}"#)
            .expect("keys");
    let extra = vec![
        ("x-hasura-user-id".to_owned(), "spoofed".to_owned()),
        ("x-hasura-org".to_owned(), "{1,2}".to_owned()),
    ];
    let claims = AccessClaims {
        extra: &extra,
        elevated: true,
        ..sample(&roles)
    };
    let token = keys.sign(&claims, 60).expect("sign");
    let verified = keys.verify(&token).expect("verify");
    assert_eq!(
        verified.claims["x-hasura-user-id"],
        uuid::Uuid::nil().to_string()
    );
    assert_eq!(verified.claims["x-hasura-org"], "{1,2}");
    assert!(verified.is_elevated());
}

/// The token re-signed with `key` after `edit` changed its payload (header kept).
fn resigned(token: &str, key: &jsonwebtoken::EncodingKey, edit: impl Fn(&mut Value)) -> String {
    let (header, mut payload) = parts(token);
    edit(&mut payload);
    let header: jsonwebtoken::Header = serde_json::from_value(header).expect("header");
    jsonwebtoken::encode(&header, &payload, key).expect("sign")
}

/// Issue 18: `nbf` was not checked; a token not valid before some future time is
/// refused (with `exp`'s leeway, none), one whose `nbf` has passed is accepted.
#[test]
fn tokens_not_yet_valid_are_rejected_hs256_and_rs256() {
    let roles = vec!["user".to_owned()];
    let hs_key = "a-very-long-shared-secret-of-32-bytes!";
    let hs = JwtKeys::from_secret(&secret(json!({"type": "HS256", "key": hs_key}))).expect("keys");
    let rs = JwtKeys::from_secret(&secret(
        json!({"type": "RS256", "key": PUBLIC, "signing_key": PRIVATE_PKCS8}),
    ))
    .expect("keys");
    let cases = [
        (
            &hs,
            jsonwebtoken::EncodingKey::from_secret(hs_key.as_bytes()),
        ),
        (
            &rs,
            jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_PKCS8.as_bytes()).expect("pem"),
        ),
    ];
    let now = chrono::Utc::now().timestamp();
    for (keys, encoding) in cases {
        let token = keys.sign(&sample(&roles), 600).expect("sign");
        let same = resigned(&token, &encoding, |_| {});
        assert!(keys.verify(&same).is_ok(), "the re-signing itself is sound");
        let future = resigned(&token, &encoding, |p| p["nbf"] = json!(now + 3600));
        assert!(keys.verify(&future).is_err(), "nbf an hour ahead");
        let soon = resigned(&token, &encoding, |p| p["nbf"] = json!(now + 5));
        assert!(keys.verify(&soon).is_err(), "no leeway, as for exp");
        let past = resigned(&token, &encoding, |p| p["nbf"] = json!(now - 5));
        assert!(keys.verify(&past).is_ok(), "nbf passed");
        let garbage = resigned(&token, &encoding, |p| p["nbf"] = json!("tomorrow"));
        assert!(keys.verify(&garbage).is_err(), "nbf that is not a date");
    }
}
