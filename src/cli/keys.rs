//! `hasura-auth keys …`: new JWT secrets, and the JWKS of the configured one.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use rand::RngCore;
use serde_json::{Value, json};

use super::{Failure, Output};
use crate::config::Config;
use crate::config::commands::{GenerateKey, KeyType, KeysAction, RsaBits};
use crate::tokens::JwtKeys;

pub fn run(action: KeysAction, config: &Config, out: &mut Output) -> Result<(), Failure> {
    match action {
        KeysAction::Generate(args) => {
            let secret = generate(&args)?;
            // Whatever we print, the server must accept as HASURA_GRAPHQL_JWT_SECRET.
            JwtKeys::from_secret(&secret.to_string())
                .map_err(|e| Failure::setup(format!("generated secret rejected: {e}")))?;
            out.value(&secret)
        }
        KeysAction::Jwks => {
            let keys = JwtKeys::from_config(
                config.jwt.jwt_secret.as_ref().map(|s| s.expose()),
                config.jwt.jwt_secrets.as_ref().map(|s| s.expose()),
            )
            .map_err(|e| Failure::setup(e.to_string()))?;
            out.value(keys.jwks())
        }
    }
}

/// A `HASURA_GRAPHQL_JWT_SECRET` value: HMAC keys as long as their hash output (hex of
/// random bytes from the operating system), RSA, EC and Ed25519 keys as PEM (PKCS#8
/// private key and SubjectPublicKeyInfo public key), the forms Hasura reads.
fn generate(args: &GenerateKey) -> Result<Value, Failure> {
    let alg = args.key_type.as_str();
    let mut secret = match args.key_type {
        KeyType::Hs256 | KeyType::Hs384 | KeyType::Hs512 => {
            let len = match args.key_type {
                KeyType::Hs256 => 32,
                KeyType::Hs384 => 48,
                _ => 64,
            };
            let mut key = vec![0u8; len];
            rand::rngs::OsRng.fill_bytes(&mut key);
            json!({ "type": alg, "key": hex::encode(key) })
        }
        KeyType::Rs256 | KeyType::Rs384 | KeyType::Rs512 => {
            let size = match args.rsa_bits {
                RsaBits::B2048 => KeySize::Rsa2048,
                RsaBits::B3072 => KeySize::Rsa3072,
                RsaBits::B4096 => KeySize::Rsa4096,
            };
            let failed = |what: &str| Failure::setup(format!("RSA key generation: {what}"));
            let pair = KeyPair::generate(size).map_err(|_| failed("generate"))?;
            let private = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                .map_err(|_| failed("encode the private key"))?;
            let public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key())
                .map_err(|_| failed("encode the public key"))?;
            pem_pair(alg, public.as_ref(), private.as_ref())
        }
        KeyType::Es256 | KeyType::Es384 => {
            use aws_lc_rs::signature::{
                ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
            };
            let curve = if args.key_type == KeyType::Es256 {
                &ECDSA_P256_SHA256_FIXED_SIGNING
            } else {
                &ECDSA_P384_SHA384_FIXED_SIGNING
            };
            let failed = |what: &str| Failure::setup(format!("EC key generation: {what}"));
            let pair = EcdsaKeyPair::generate(curve).map_err(|_| failed("generate"))?;
            let private = pair
                .to_pkcs8v1()
                .map_err(|_| failed("encode the private key"))?;
            let public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key())
                .map_err(|_| failed("encode the public key"))?;
            pem_pair(alg, public.as_ref(), private.as_ref())
        }
        KeyType::Ed25519 => {
            use aws_lc_rs::signature::Ed25519KeyPair;
            let failed = |what: &str| Failure::setup(format!("Ed25519 key generation: {what}"));
            let pair = Ed25519KeyPair::generate().map_err(|_| failed("generate"))?;
            // PKCS#8 v1 (no embedded public key): what OpenSSL writes and reads everywhere.
            let private = pair
                .to_pkcs8v1()
                .map_err(|_| failed("encode the private key"))?;
            let public = AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(pair.public_key())
                .map_err(|_| failed("encode the public key"))?;
            pem_pair(alg, public.as_ref(), private.as_ref())
        }
    };
    if let (Some(kid), Value::Object(map)) = (&args.kid, &mut secret) {
        map.insert("kid".into(), json!(kid));
    }
    Ok(secret)
}

/// `{"type", "key", "signing_key"}` with the public key (SubjectPublicKeyInfo DER) and the
/// private key (PKCS#8 DER) as PEM.
fn pem_pair(alg: &str, public_spki: &[u8], private_pkcs8: &[u8]) -> Value {
    json!({
        "type": alg,
        "key": pem::encode(&pem::Pem::new("PUBLIC KEY", public_spki.to_vec())),
        "signing_key": pem::encode(&pem::Pem::new("PRIVATE KEY", private_pkcs8.to_vec())),
    })
}
