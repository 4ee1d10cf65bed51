//! Secrets handed to the client (access and refresh tokens, tickets, codes, TOTP
//! secrets): serialised as they are, but `Debug` prints a placeholder, so a response or
//! value logged by mistake shows nothing usable.

use std::fmt;

use serde::Serialize;

/// A secret string on its way to the client.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    pub fn new(secret: impl Into<String>) -> Redacted {
        Redacted(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl From<String> for Redacted {
    fn from(secret: String) -> Redacted {
        Redacted(secret)
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_and_serde_shows() {
        let secret = Redacted::new("s3cr3t-value");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        assert_eq!(
            serde_json::to_string(&secret).unwrap_or_default(),
            "\"s3cr3t-value\""
        );
    }
}
