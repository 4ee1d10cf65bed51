//! `HASURA_GRAPHQL_JWT_SECRET` in its forms, `HASURA_GRAPHQL_JWT_SECRETS` (rotation), the
//! claims layout and the JWKS.

use base64::Engine;
use hasura_auth::tokens::{AccessClaims, JwtKeys};
use serde_json::{Value, json};

const PRIVATE_PKCS8: &str = include_str!("fixtures/keys/rsa2048-private.pem");
const PUBLIC: &str = include_str!("fixtures/keys/rsa2048-public.pem");
const OTHER_PRIVATE_PKCS1: &str = include_str!("fixtures/keys/other-private.pem");
const OTHER_PUBLIC: &str = include_str!("fixtures/keys/other-public.pem");
// Written by OpenSSL (`genpkey`, `pkey -pubout`): the forms operators will paste.
const P256_PRIVATE: &str = include_str!("fixtures/keys/ec-p256-private.pem");
const P256_PUBLIC: &str = include_str!("fixtures/keys/ec-p256-public.pem");
const P256_OTHER_PRIVATE: &str = include_str!("fixtures/keys/ec-p256-other-private.pem");
const P256_OTHER_PUBLIC: &str = include_str!("fixtures/keys/ec-p256-other-public.pem");
const P384_PRIVATE: &str = include_str!("fixtures/keys/ec-p384-private.pem");
const P384_PUBLIC: &str = include_str!("fixtures/keys/ec-p384-public.pem");
const ED25519_PRIVATE: &str = include_str!("fixtures/keys/ed25519-private.pem");
const ED25519_PUBLIC: &str = include_str!("fixtures/keys/ed25519-public.pem");
const HS_KEY: &str = "a-very-long-shared-secret-of-32-bytes!";

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
        assert_eq!(keys.jwks(), &json!({"keys": []}));
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
        (r#"{"type":"PS256","key":"x"}"#, "unsupported jwt type"),
        (r#"{"type":"ES512","key":"x"}"#, "ES512\" is not supported"),
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

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace,
/// base64url — computed here independently of the server's code.
fn rfc7638(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => &["e", "kty", "n"],
    };
    let body: Vec<String> = members
        .iter()
        .map(|m| format!("\"{m}\":{}", jwk[*m]))
        .collect();
    let canonical = format!("{{{}}}", body.join(","));
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

fn asymmetric(alg: &str) -> String {
    let (public, private) = match alg {
        "ES256" => (P256_PUBLIC, P256_PRIVATE),
        "ES384" => (P384_PUBLIC, P384_PRIVATE),
        "RS256" => (PUBLIC, PRIVATE_PKCS8),
        _ => (ED25519_PUBLIC, ED25519_PRIVATE),
    };
    secret(json!({"type": alg, "key": public, "signing_key": private}))
}

#[test]
fn ec_and_ed25519_keys_sign_verify_and_publish_thumbprint_kids() {
    let roles = vec!["user".to_owned()];
    for (ty, alg, kty, crv) in [
        ("ES256", "ES256", "EC", "P-256"),
        ("ES384", "ES384", "EC", "P-384"),
        ("Ed25519", "EdDSA", "OKP", "Ed25519"),
        ("EdDSA", "EdDSA", "OKP", "Ed25519"),
    ] {
        let cfg = asymmetric(ty);
        let keys = JwtKeys::from_secret(&cfg).expect("keys");
        assert_eq!(keys.algorithm(), alg);
        let token = keys.sign(&sample(&roles), 60).expect("sign");
        let (header, payload) = parts(&token);
        assert_eq!(header["alg"], alg, "{ty}");
        let jwk = &keys.jwks()["keys"][0];
        assert_eq!(keys.jwks()["keys"].as_array().map(Vec::len), Some(1));
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["kty"], kty);
        assert_eq!(jwk["crv"], crv);
        assert_eq!(jwk["use"], "sig");
        assert_eq!(header["kid"], jwk["kid"], "tokens carry the published kid");
        assert_eq!(jwk["kid"], rfc7638(jwk), "{ty}: RFC 7638 thumbprint");
        let again = JwtKeys::from_secret(&cfg).expect("keys");
        assert_eq!(again.jwks(), keys.jwks(), "kid stable across restarts");
        let verified = again.verify(&token).expect("verify");
        assert_eq!(verified.claims["x-hasura-default-role"], "user");
        assert_eq!(
            payload["https://hasura.io/jwt/claims"]["x-hasura-allowed-roles"],
            json!(["user"])
        );

        // What Hasura does with `jwk_url`: the published key alone verifies the token.
        let published: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).expect("a JWK");
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&published).expect("decoding key");
        let mut validation = jsonwebtoken::Validation::new(
            header["alg"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .expect("alg"),
        );
        validation.set_issuer(&["hasura-auth"]);
        jsonwebtoken::decode::<Value>(&token, &decoding, &validation)
            .expect("the JWKS key verifies our token");
    }
}

#[test]
fn rsa_kids_are_unchanged_rfc7638_thumbprints() {
    let keys = JwtKeys::from_secret(&asymmetric("RS256")).expect("keys");
    let jwk = &keys.jwks()["keys"][0];
    assert_eq!(jwk["kid"], rfc7638(jwk));
}

#[test]
fn bad_ec_and_ed25519_secrets_fail_with_a_clear_message() {
    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIm0w1l6Lq1e3H0YQ5a6yJ0q3c5o0x1yK4t2y0v0z7JtoAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\n";
    for (cfg, needle) in [
        (
            json!({"type": "ES256", "key": P256_PUBLIC, "signing_key": P256_OTHER_PRIVATE}),
            "not the public key",
        ),
        (
            json!({"type": "ES384", "key": P256_PUBLIC, "signing_key": P256_PRIVATE}),
            "signing_key",
        ),
        (
            json!({"type": "ES256", "key": P384_PUBLIC, "signing_key": P384_PRIVATE}),
            "signing_key",
        ),
        (
            json!({"type": "Ed25519", "key": ED25519_PUBLIC, "signing_key": P256_PRIVATE}),
            "signing_key",
        ),
        (json!({"type": "ES256", "key": P256_PUBLIC}), "signing_key"),
        (
            json!({"type": "ES256", "key": P256_PUBLIC, "signing_key": sec1}),
            "PKCS#8",
        ),
        (
            json!({"type": "ES256", "key": ED25519_PUBLIC, "signing_key": P256_PRIVATE}),
            "key",
        ),
    ] {
        let err = JwtKeys::from_secret(&secret(cfg.clone()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(needle), "{cfg}: {err}");
    }
}

fn list(entries: &[String]) -> String {
    format!("[{}]", entries.join(","))
}

#[test]
fn a_key_list_signs_with_its_first_entry_and_verifies_with_every_entry() {
    let roles = vec!["user".to_owned()];
    let old = asymmetric("RS256");
    let new = asymmetric("ES256");
    let hs = secret(json!({"type": "HS256", "key": HS_KEY}));
    let old_keys = JwtKeys::from_secret(&old).expect("old");
    let hs_keys = JwtKeys::from_secret(&hs).expect("hs");
    let new_keys = JwtKeys::from_secret(&new).expect("new");
    let old_token = old_keys.sign(&sample(&roles), 600).expect("sign");
    let hs_token = hs_keys.sign(&sample(&roles), 600).expect("sign");

    // Step 1 of a rotation: the new key is added behind the current one.
    let step1 = JwtKeys::from_list(&list(&[old.clone(), new.clone()])).expect("list");
    assert_eq!(step1.algorithm(), "RS256", "the first entry still signs");
    assert_eq!(step1.len(), 2);
    let jwks = step1.jwks()["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(jwks.len(), 2, "every public key is published");
    assert_eq!(jwks[0], old_keys.jwks()["keys"][0], "signing key first");
    assert_eq!(jwks[1], new_keys.jwks()["keys"][0]);

    // Step 2: the new key is made current; tokens of the old one still verify.
    let step2 = JwtKeys::from_list(&list(&[new.clone(), old.clone(), hs.clone()])).expect("list");
    let token = step2.sign(&sample(&roles), 600).expect("sign");
    assert_eq!(parts(&token).0["alg"], "ES256");
    assert!(step2.verify(&token).is_ok());
    assert!(
        step2.verify(&old_token).is_ok(),
        "a non-current key verifies"
    );
    assert!(
        step2.verify(&hs_token).is_ok(),
        "an HMAC entry verifies (no kid)"
    );
    assert!(old_keys.verify(&token).is_err());

    // Step 3: the old key is removed; its tokens are refused.
    let step3 = JwtKeys::from_list(&list(std::slice::from_ref(&new))).expect("list");
    assert!(step3.verify(&token).is_ok());
    assert!(
        step3.verify(&old_token).is_err(),
        "a retired key is refused"
    );
    assert!(step3.verify(&hs_token).is_err());
    assert_eq!(step3.jwks(), new_keys.jwks());
}

#[test]
fn the_list_wins_over_the_single_secret_and_bad_lists_are_refused() {
    let hs = secret(json!({"type": "HS256", "key": HS_KEY}));
    let es = asymmetric("ES256");
    let both =
        JwtKeys::from_config(Some(&hs), Some(&list(std::slice::from_ref(&es)))).expect("keys");
    assert_eq!(
        both.algorithm(),
        "ES256",
        "HASURA_GRAPHQL_JWT_SECRETS is used, as in Hasura"
    );
    assert_eq!(both.len(), 1, "and HASURA_GRAPHQL_JWT_SECRET is ignored");
    let single = JwtKeys::from_config(Some(&hs), Some("  ")).expect("keys");
    assert_eq!(single.algorithm(), "HS256", "an empty list counts as unset");
    assert!(JwtKeys::from_config(None, None).is_err());

    for (cfg, needle) in [
        ("[]".to_owned(), "non-empty JSON array"),
        (hs.clone(), "JSON array"),
        (list(&[es.clone(), es.clone()]), "share the kid"),
        (
            list(&[hs.clone(), r#"{"type":"ES512","key":"x"}"#.to_owned()]),
            "entry 1: HASURA_GRAPHQL_JWT_SECRET: jwt type \"ES512\"",
        ),
        (list(&["42".to_owned()]), "entry 0"),
    ] {
        let err = JwtKeys::from_list(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(needle), "{cfg}: {err}");
    }
}

fn encode_with_header(header: Value, payload: &Value, key: &jsonwebtoken::EncodingKey) -> String {
    let header: jsonwebtoken::Header = serde_json::from_value(header).expect("header");
    jsonwebtoken::encode(&header, payload, key).expect("sign")
}

#[test]
fn algorithm_confusion_alg_none_and_wrong_kids_are_refused() {
    let roles = vec!["user".to_owned()];
    let es = JwtKeys::from_secret(&asymmetric("ES256")).expect("es");
    let token = es.sign(&sample(&roles), 600).expect("sign");
    let (header, payload) = parts(&token);
    let kid = header["kid"].clone();
    let mixed = JwtKeys::from_list(&list(&[
        asymmetric("ES256"),
        secret(json!({"type": "HS256", "key": HS_KEY})),
    ]))
    .expect("mixed");

    // HS256 "signed" with the published public key as the HMAC secret.
    let confused = encode_with_header(
        json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(P256_PUBLIC.as_bytes()),
    );
    let confused_no_kid = encode_with_header(
        json!({"alg": "HS256", "typ": "JWT"}),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(P256_PUBLIC.as_bytes()),
    );
    for keys in [&es, &mixed] {
        assert!(keys.verify(&token).is_ok());
        assert!(
            keys.verify(&confused).is_err(),
            "HS256 with the EC public key"
        );
        assert!(keys.verify(&confused_no_kid).is_err());
    }

    // alg none: the signature-less form and one with the original signature.
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none_header = b64(&json!({"alg": "none", "typ": "JWT", "kid": kid}));
    let body = token.split('.').nth(1).unwrap_or_default();
    let signature = token.split('.').nth(2).unwrap_or_default();
    for forged in [
        format!("{none_header}.{body}."),
        format!("{none_header}.{body}.{signature}"),
    ] {
        assert!(es.verify(&forged).is_err(), "alg none");
        assert!(mixed.verify(&forged).is_err(), "alg none");
    }

    // A kid no key has, on a token our own key signed: refused.
    let other_kid = encode_with_header(
        json!({"alg": "ES256", "typ": "JWT", "kid": "not-a-configured-kid"}),
        &payload,
        &jsonwebtoken::EncodingKey::from_ec_pem(P256_PRIVATE.as_bytes()).expect("pem"),
    );
    assert!(es.verify(&other_kid).is_err(), "unknown kid");
    // Another key's signature under our kid: refused.
    let stolen_kid = encode_with_header(
        json!({"alg": "ES256", "typ": "JWT", "kid": kid}),
        &payload,
        &jsonwebtoken::EncodingKey::from_ec_pem(P256_OTHER_PRIVATE.as_bytes()).expect("pem"),
    );
    assert!(es.verify(&stolen_kid).is_err(), "signature of another key");
    // Without a kid, the keys of the token's alg are tried: ours verifies, another's not.
    let no_kid = encode_with_header(
        json!({"alg": "ES256", "typ": "JWT"}),
        &payload,
        &jsonwebtoken::EncodingKey::from_ec_pem(P256_PRIVATE.as_bytes()).expect("pem"),
    );
    assert!(
        es.verify(&no_kid).is_ok(),
        "no kid: tried against ES256 keys"
    );
    let other_no_kid = encode_with_header(
        json!({"alg": "ES256", "typ": "JWT"}),
        &payload,
        &jsonwebtoken::EncodingKey::from_ec_pem(P256_OTHER_PRIVATE.as_bytes()).expect("pem"),
    );
    assert!(es.verify(&other_no_kid).is_err());
    // ES384 claimed on an ES256 key's token.
    let (_, p) = parts(&token);
    let wrong_alg = encode_with_header(
        json!({"alg": "ES384", "typ": "JWT", "kid": kid}),
        &p,
        &jsonwebtoken::EncodingKey::from_ec_pem(P384_PRIVATE.as_bytes()).expect("pem"),
    );
    assert!(es.verify(&wrong_alg).is_err());
    let _ = P256_OTHER_PUBLIC;
}
