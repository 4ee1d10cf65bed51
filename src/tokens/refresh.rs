//! Opaque refresh tokens and tickets: the client gets a random UUID, the database only
//! ever stores `\x` + hex(SHA-256) of it — exactly what upstream stores, so rows written
//! by either implementation keep working with the other.

use sha2::{Digest, Sha256};
use std::fmt;

/// A refresh token or personal access token as the client holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> Self {
        RefreshToken(uuid::Uuid::new_v4().to_string())
    }

    /// Wraps a presented token. Upstream's contract requires a lowercase UUID inside it.
    pub fn from_presented(s: &str) -> Self {
        RefreshToken(s.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: `\x` followed by the lowercase hex SHA-256 of the token string.
    pub fn hash(&self) -> String {
        stored_hash(&self.0)
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
        let t = RefreshToken::from_presented("secret-value");
        assert!(!format!("{t:?}").contains("secret"));
    }
}
