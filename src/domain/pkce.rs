//! PKCE values of Nhost's own redirect flows (Nhost Auth 0.48): the `codeChallenge` a
//! client sends with the request that starts a flow and the `codeVerifier` it presents
//! to `POST /token/exchange`. Only S256 exists: the challenge is
//! `base64url(SHA-256(verifier))` without padding, always 43 characters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The length of an S256 challenge (32 bytes, base64url without padding).
pub const CHALLENGE_LEN: usize = 43;

/// A `codeChallenge`: exactly 43 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(s: &str) -> Result<CodeChallenge, String> {
        if s.len() == CHALLENGE_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            Ok(CodeChallenge(s.to_owned()))
        } else {
            Err(format!(
                "codeChallenge must be {CHALLENGE_LEN} characters of [A-Za-z0-9_-]"
            ))
        }
    }

    /// The S256 challenge of a verifier.
    pub fn of(verifier: &CodeVerifier) -> CodeChallenge {
        CodeChallenge(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CodeChallenge {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CodeChallenge::parse(&s)
    }
}

/// A `codeVerifier`: 43 to 128 characters (the bounds of RFC 7636 and upstream's
/// schema). Its `Debug` hides it: it is the secret half of the pair.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn parse(s: &str) -> Result<CodeVerifier, String> {
        if (43..=128).contains(&s.len()) && !s.contains('\0') {
            Ok(CodeVerifier(s.to_owned()))
        } else {
            Err("codeVerifier must be 43 to 128 characters".to_owned())
        }
    }
}

impl TryFrom<String> for CodeVerifier {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CodeVerifier::parse(&s)
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_of_the_rfc_7636_example() {
        // RFC 7636, appendix B.
        let verifier =
            CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").expect("verifier");
        assert_eq!(
            CodeChallenge::of(&verifier).as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn challenge_shape_is_exact() {
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eolg").is_ok());
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eol").is_err());
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eolgX").is_err());
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eol=").is_err());
        assert!(CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCQaoWL7U5T0ixuNd8c3eol+").is_err());
    }

    #[test]
    fn verifier_bounds() {
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(43)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(128)).is_ok());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", CodeVerifier::parse(&"s".repeat(50)).expect("v")),
            "CodeVerifier(..)"
        );
    }
}
