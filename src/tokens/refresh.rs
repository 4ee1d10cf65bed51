//! Opaque refresh tokens and tickets: the client gets a random UUID, the database only
//! ever stores `\x` + hex(SHA-256) of it — exactly what upstream stores, so rows written
//! by either implementation keep working with the other.

use std::fmt;
use std::sync::LazyLock;

use aws_lc_rs::hmac;
use serde::{Deserialize, Deserializer, de::Error as _};

/// The contract's (unanchored) UUID pattern for refresh tokens and personal access tokens.
static UUID_IN_TOKEN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"\b[0-9a-f]{8}\b-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-\b[0-9a-f]{12}\b")
        .unwrap_or_else(|e| unreachable!("static uuid pattern compiles: {e}"))
});

/// A refresh token or personal access token as the client holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> Self {
        RefreshToken(uuid::Uuid::new_v4().to_string())
    }

    /// Parses a presented token: the contract requires a lowercase UUID inside it.
    pub fn parse(presented: String) -> Option<Self> {
        UUID_IN_TOKEN
            .is_match(&presented)
            .then_some(RefreshToken(presented))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: `\x` followed by the lowercase hex SHA-256 of the token string.
    pub fn hash(&self) -> String {
        stored_hash(&self.0)
    }
}

/// A token in a request body (`refreshToken`, `personalAccessToken`): refused at the edge
/// when it cannot be one, before any hashing or database work.
impl<'de> Deserialize<'de> for RefreshToken {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RefreshToken::parse(String::deserialize(deserializer)?)
            .ok_or_else(|| D::Error::custom("expected a token containing a UUID"))
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(**redacted**)")
    }
}

/// The key successors of rotated refresh tokens are derived with (reuse detection).
///
/// Only hashes of refresh tokens are stored, so the token a rotation handed out cannot be
/// read back for a second request that raced the first one. Instead a successor is a
/// function of its predecessor: `HMAC-SHA256(key, previous token)` shaped as a UUID, so
/// every racer presenting the same token is given the same successor. Knowing a token and
/// the key gives all later tokens of its chain; the key is derived from the JWT signing
/// secret, whose holder can mint access tokens anyway, so it grants nothing new.
#[derive(Clone)]
pub struct SuccessorKey(aws_lc_rs::hmac::Key);

impl SuccessorKey {
    /// Derives the key from the JWT secret (as configured), under a label of its own so
    /// it is never the signing key itself. `None` for a blank secret: a key anyone can
    /// compute would let an old token yield every later one of its chain.
    pub fn from_jwt_secret(secret: &str) -> Option<SuccessorKey> {
        if secret.trim().is_empty() {
            return None;
        }
        let key = hmac_sha256(
            &hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
            b"hasura-auth refresh-token successor key v1",
        );
        // Prepared once: deriving the HMAC pads per rotation cost as much as the MAC.
        Some(SuccessorKey(hmac::Key::new(hmac::HMAC_SHA256, &key)))
    }

    /// The token that replaces `previous` at its rotation.
    pub fn successor(&self, previous: &RefreshToken) -> RefreshToken {
        let mac = hmac_sha256(&self.0, previous.expose().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&mac[..16]);
        // A well-formed v4 UUID, like the tokens generated at sign-in.
        RefreshToken(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }
}

fn hmac_sha256(key: &hmac::Key, message: &[u8]) -> [u8; 32] {
    let tag = hmac::sign(key, message);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

impl fmt::Debug for SuccessorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SuccessorKey(**redacted**)")
    }
}

/// `\x` + hex(SHA-256(value)) — how PostgreSQL prints `sha256(value::bytea)`.
/// (aws-lc's SHA-256, with its vector code, is 3× faster here than the `sha2` crate's.)
pub fn stored_hash(value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    let mut out = String::with_capacity(66);
    out.push_str("\\x");
    out.push_str(&hex::encode(digest.as_ref()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_postgres_sha256_text_form() {
        // SELECT sha256('abc'::bytea) → \xba7816bf...
        assert_eq!(
            stored_hash("abc"),
            "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(RefreshToken::generate().hash().len(), 66);
    }

    #[test]
    fn debug_does_not_reveal_the_token() {
        let t = RefreshToken::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn successors_are_deterministic_uuids_that_depend_on_key_and_token() {
        let key = SuccessorKey::from_jwt_secret("{\"type\":\"HS256\",\"key\":\"k\"}").unwrap();
        let other = SuccessorKey::from_jwt_secret("{\"type\":\"HS256\",\"key\":\"j\"}").unwrap();
        assert!(SuccessorKey::from_jwt_secret(" ").is_none());
        let t = RefreshToken::generate();
        let next = key.successor(&t);
        assert_eq!(next, key.successor(&t));
        assert_ne!(next, t);
        assert_ne!(next, other.successor(&t));
        assert_ne!(next, key.successor(&RefreshToken::generate()));
        let parsed = uuid::Uuid::parse_str(next.expose()).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert!(RefreshToken::parse(next.expose().to_owned()).is_some());
        assert_eq!(format!("{key:?}"), "SuccessorKey(**redacted**)");
    }

    #[test]
    fn presented_tokens_must_contain_a_uuid() {
        let uuid = "5f2a3c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b";
        assert!(RefreshToken::parse(uuid.to_owned()).is_some());
        assert!(RefreshToken::parse(format!("pat-{uuid}")).is_some());
        for bad in ["", "not-a-token", "5F2A3C1E-8B7D-4E6F-9A0B-1C2D3E4F5A6B"] {
            assert!(RefreshToken::parse(bad.to_owned()).is_none(), "{bad}");
        }
        let parsed: Result<RefreshToken, _> = serde_json::from_str("\"nope\"");
        assert!(parsed.is_err());
    }
}
