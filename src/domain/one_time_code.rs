//! One-time codes a client types in (email and SMS codes, TOTP codes). Each route judges
//! a code with its own error (`invalid-ticket`, `invalid-request`, `invalid-totp`), so
//! parsing only takes the string; the type keeps it out of `Debug`.

use std::fmt;

use serde::Deserialize;

#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    pub fn new(code: impl Into<String>) -> OneTimeCode {
        OneTimeCode(code.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(**redacted**)")
    }
}
