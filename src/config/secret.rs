//! A secret setting: database URLs, the JWT key, the admin secret, passwords, API tokens,
//! OAuth client secrets, the Apple private key.
//!
//! `Debug` shows [`MASK`] and nothing else, so a `{:?}` of [`super::Config`] (or of any
//! struct holding one) cannot print a secret; the value is read with [`Secret::expose`],
//! which names the place where it leaves the configuration. It serializes as [`MASK`].

use std::fmt;

use serde::{Serialize, Serializer};

use super::flag_values::MASK;

/// A configured secret. Not `PartialEq`: compare exposed values on purpose (and in
/// constant time when the other side comes from a request).
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it (a header, a signature, a URL).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (unset or set to nothing), without exposing it.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::from("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(********)");
        assert_eq!(
            format!("{:?}", Some(secret.clone())),
            "Some(Secret(********))"
        );
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn only_nothing_is_empty() {
        assert!(Secret::default().is_empty());
        assert!(Secret::from("").is_empty());
        assert!(!Secret::from(" ").is_empty());
    }
}
