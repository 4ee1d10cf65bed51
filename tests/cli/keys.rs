//! `hasura-auth keys …`.

use hasura_auth::tokens::JwtKeys;
use serde_json::Value;

use crate::run_binary;

async fn keys(args: &[&str]) -> crate::Run {
    let mut argv = vec!["keys".to_owned()];
    argv.extend(args.iter().map(|s| s.to_string()));
    run_binary(&argv, None).await
}

#[tokio::test]
async fn keys_generate_every_supported_type() {
    for (alg, key_chars) in [("HS256", 64), ("HS384", 96), ("HS512", 128)] {
        let run = keys(&["generate", "--type", alg]).await;
        let secret = run.ok().json();
        assert_eq!(secret["type"], alg);
        assert_eq!(
            secret["key"].as_str().map(str::len),
            Some(key_chars),
            "{secret}"
        );
        let parsed = JwtKeys::from_secret(&run.stdout).expect("the server accepts it");
        assert_eq!(parsed.algorithm(), alg);
    }
    let a = keys(&["generate"]).await.json();
    let b = keys(&["generate"]).await.json();
    assert_eq!(a["type"], "HS256");
    assert_ne!(a["key"], b["key"], "a new key every time");

    for alg in ["RS256", "RS384", "RS512"] {
        let run = keys(&["generate", "--type", alg, "--kid", "k1"]).await;
        let secret = run.ok().json();
        assert!(
            secret["key"]
                .as_str()
                .unwrap_or_default()
                .starts_with("-----BEGIN PUBLIC KEY-----"),
            "{secret}"
        );
        assert!(
            secret["signing_key"]
                .as_str()
                .unwrap_or_default()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let parsed = JwtKeys::from_secret(&run.stdout).expect("the server accepts it");
        assert_eq!(parsed.algorithm(), alg);
        assert_eq!(parsed.jwks()["keys"][0]["kid"], "k1");
    }
    let big = keys(&["generate", "--type", "RS256", "--rsa-bits", "3072"]).await;
    assert!(JwtKeys::from_secret(&big.ok().stdout).is_ok());
    let bad = keys(&["generate", "--type", "ES512"]).await;
    assert_eq!(bad.code, 2, "no P-521 in the JWT library: {bad:?}");
}

#[tokio::test]
async fn keys_generate_ec_and_ed25519_pairs_in_the_pem_forms_hasura_reads() {
    for (ty, alg, crv) in [
        ("ES256", "ES256", "P-256"),
        ("ES384", "ES384", "P-384"),
        ("Ed25519", "EdDSA", "Ed25519"),
    ] {
        let run = keys(&["generate", "--type", ty]).await;
        let secret = run.ok().json();
        assert_eq!(secret["type"], ty, "Hasura's spelling");
        assert!(
            secret["key"]
                .as_str()
                .unwrap_or_default()
                .starts_with("-----BEGIN PUBLIC KEY-----"),
            "{secret}"
        );
        assert!(
            secret["signing_key"]
                .as_str()
                .unwrap_or_default()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let parsed = JwtKeys::from_secret(&run.stdout).expect("the server accepts it");
        assert_eq!(parsed.algorithm(), alg);
        assert_eq!(parsed.jwks()["keys"][0]["crv"], crv);
        let again = keys(&["generate", "--type", ty]).await.json();
        assert_ne!(again["key"], secret["key"], "a new key every time");
    }
    let with_kid = keys(&["generate", "--type", "Ed25519", "--kid", "ed-1"]).await;
    let parsed = JwtKeys::from_secret(&with_kid.ok().stdout).expect("accepted");
    assert_eq!(parsed.jwks()["keys"][0]["kid"], "ed-1");
}

#[tokio::test]
async fn keys_jwks_publishes_every_key_of_the_list() {
    let new = keys(&["generate", "--type", "ES256"])
        .await
        .ok()
        .stdout
        .clone();
    let old = keys(&["generate", "--type", "RS256"])
        .await
        .ok()
        .stdout
        .clone();
    let list = format!("[{},{}]", new.trim(), old.trim());
    let run = keys(&["--hasura-graphql-jwt-secrets", &list, "jwks"]).await;
    let jwks = run.ok().json();
    let kty: Vec<&str> = jwks["keys"]
        .as_array()
        .map(|k| k.iter().filter_map(|k| k["kty"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kty, ["EC", "RSA"], "the signing key first: {jwks}");
    assert!(jwks.to_string().find("\"d\"").is_none(), "no private part");
}

#[tokio::test]
async fn keys_jwks_prints_the_configured_public_key() {
    let secret = keys(&["generate", "--type", "RS256"])
        .await
        .ok()
        .stdout
        .clone();
    let run = keys(&["--hasura-graphql-jwt-secret", secret.trim(), "jwks"]).await;
    let jwks = run.ok().json();
    let expected = JwtKeys::from_secret(&secret)
        .expect("secret")
        .jwks()
        .clone();
    assert_eq!(jwks, expected);
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert!(jwks["keys"][0].get("d").is_none(), "no private part");

    let missing = run_binary(&["keys".into(), "--json".into(), "jwks".into()], None).await;
    assert_eq!(missing.code, 1, "{missing:?}");
    let message = missing.error()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("HASURA_GRAPHQL_JWT_SECRET"), "{message}");
    let _: Value = missing.error();
}
