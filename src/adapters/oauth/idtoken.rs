//! Checking OpenID Connect id tokens: signature against the issuer's keys, issuer,
//! audience, expiry, not-before, issue time and nonce.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::jwks::JwksCache;

/// Clock skew tolerated on `exp`, `nbf` and `iat` (as upstream: an issuer whose clock runs
/// a little ahead must not make fresh tokens fail).
pub const LEEWAY_SECS: u64 = 30;

pub const APPLE_ISSUER: &str = "https://appleid.apple.com";
/// Google documents both forms as valid issuers.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// How the token's `nonce` claim is checked.
#[derive(Debug, Clone, Copy)]
pub enum Nonce<'a> {
    /// Upstream's rule for `/signin/idtoken` and `/link/idtoken`: when the token carries
    /// a nonce, it must be the lowercase hex SHA-256 of the nonce the client sent.
    HashedIfPresent(&'a str),
    /// Our own sign-in flows: the claim must be there and equal the nonce we sent.
    Exact(&'a str),
    /// Like `Exact`, but a token without the claim is accepted (tokens from a token
    /// endpoint, which we authenticated to ourselves).
    ExactIfPresent(&'a str),
}

/// Algorithms issuers sign id tokens with; symmetric ones and `none` are never accepted.
const ALLOWED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

pub struct IdTokenVerifier {
    issuers: Vec<String>,
    audiences: Vec<String>,
    jwks: Arc<JwksCache>,
}

/// Lowercase hex SHA-256, upstream's encoding of nonces in id tokens.
pub fn hash_nonce(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

impl IdTokenVerifier {
    pub fn new(issuers: Vec<String>, audiences: Vec<String>, jwks: Arc<JwksCache>) -> Self {
        IdTokenVerifier {
            issuers,
            audiences,
            jwks,
        }
    }

    /// The token's claims, if every check passes; otherwise why not (for the logs).
    pub async fn verify(
        &self,
        token: &str,
        nonce: Nonce<'_>,
    ) -> Result<Map<String, Value>, String> {
        let header = decode_header(token).map_err(|e| format!("malformed id token: {e}"))?;
        if !ALLOWED.contains(&header.alg) {
            return Err(format!(
                "id token algorithm {:?} is not accepted",
                header.alg
            ));
        }
        let keys = self.jwks.keys_for(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&self.issuers);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last_error = "no usable signing key".to_owned();
        for jwk in &keys {
            if let Some(alg) = jwk.common.key_algorithm
                && format!("{alg:?}") != format!("{:?}", header.alg)
            {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            match decode::<Map<String, Value>>(token, &key, &validation) {
                Ok(data) => {
                    let claims = data.claims;
                    check_issued_at(&claims)?;
                    check_nonce(&claims, nonce)?;
                    return Ok(claims);
                }
                Err(e) => last_error = format!("id token rejected: {e}"),
            }
        }
        Err(last_error)
    }
}

fn check_issued_at(claims: &Map<String, Value>) -> Result<(), String> {
    let now = chrono::Utc::now().timestamp();
    match claims.get("iat").and_then(Value::as_i64) {
        Some(iat) if iat > now + LEEWAY_SECS as i64 => Err("id token issued in the future".into()),
        _ => Ok(()),
    }
}

fn check_nonce(claims: &Map<String, Value>, nonce: Nonce<'_>) -> Result<(), String> {
    let claim = claims.get("nonce").and_then(Value::as_str);
    let ok = match (nonce, claim) {
        (Nonce::HashedIfPresent(_), None) | (Nonce::ExactIfPresent(_), None) => true,
        (Nonce::HashedIfPresent(sent), Some(c)) => same(c, &hash_nonce(sent)),
        (Nonce::Exact(sent), Some(c)) | (Nonce::ExactIfPresent(sent), Some(c)) => {
            !sent.is_empty() && same(c, sent)
        }
        (Nonce::Exact(_), None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err("id token nonce does not match".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn nonce_rules() {
        let hashed = hash_nonce("n-1");
        let with = claims(json!({ "nonce": hashed }));
        let raw = claims(json!({ "nonce": "n-1" }));
        let without = claims(json!({}));
        assert!(check_nonce(&with, Nonce::HashedIfPresent("n-1")).is_ok());
        assert!(check_nonce(&with, Nonce::HashedIfPresent("n-2")).is_err());
        assert!(check_nonce(&raw, Nonce::HashedIfPresent("n-1")).is_err());
        assert!(check_nonce(&without, Nonce::HashedIfPresent("anything")).is_ok());
        assert!(check_nonce(&raw, Nonce::Exact("n-1")).is_ok());
        assert!(check_nonce(&without, Nonce::Exact("n-1")).is_err());
        assert!(check_nonce(&raw, Nonce::Exact("n-2")).is_err());
        assert!(check_nonce(&without, Nonce::ExactIfPresent("n-1")).is_ok());
        assert!(check_nonce(&raw, Nonce::ExactIfPresent("n-2")).is_err());
    }

    #[test]
    fn hash_nonce_is_lowercase_hex_sha256() {
        assert_eq!(
            hash_nonce("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
