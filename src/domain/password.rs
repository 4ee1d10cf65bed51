//! Passwords as the contract accepts them (3 to 50 characters), never printed.

use serde::Deserialize;
use std::fmt;

pub const CONTRACT_MIN_CHARS: usize = 3;
pub const CONTRACT_MAX_CHARS: usize = 50;

#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Password(String);

impl Password {
    pub fn parse(s: String) -> Result<Password, String> {
        let chars = s.chars().count();
        if !(CONTRACT_MIN_CHARS..=CONTRACT_MAX_CHARS).contains(&chars) {
            return Err(format!(
                "password must be between {CONTRACT_MIN_CHARS} and {CONTRACT_MAX_CHARS} characters"
            ));
        }
        Ok(Password(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Upstream measures `AUTH_PASSWORD_MIN_LENGTH` in bytes.
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }
}

impl TryFrom<String> for Password {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Password::parse(s)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(**redacted**)")
    }
}
