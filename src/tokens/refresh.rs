//! Opaque refresh tokens and tickets: the client gets a random UUID, the database only
//! ever stores `\x` + hex(SHA-256) of it — exactly what upstream stores, so rows written
//! by either implementation keep working with the other.

use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Deserializer, de::Error as _};
use sha2::{Digest, Sha256};

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

/// `\x` + hex(SHA-256(value)) — how PostgreSQL prints `sha256(value::bytea)`.
pub fn stored_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let mut out = String::with_capacity(66);
    out.push_str("\\x");
    out.push_str(&hex::encode(digest));
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
