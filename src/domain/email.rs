//! Email addresses as the `auth.email` domain accepts them.

use serde::Deserialize;
use std::sync::LazyLock;

/// The same pattern as the `email_check` constraint of the `auth.email` domain, so an
/// address we accept never makes the database fail.
static EMAIL_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
    )
    .unwrap_or_else(|e| unreachable!("static email pattern compiles: {e}"))
});

/// RFC 5321 limits an address to 254 octets.
const MAX_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        if s.len() > MAX_LEN {
            return Err(format!("email must be at most {MAX_LEN} characters"));
        }
        if !EMAIL_RE.is_match(s) {
            return Err("email is not a valid email address".to_owned());
        }
        Ok(Email(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in [
            "a@b.co",
            "first.last+tag@example.com",
            "x@localhost",
            "O'Brien@example.ie",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_what_the_database_would_reject() {
        for bad in [
            "",
            "plain",
            "a@",
            "@b.c",
            "a b@c.d",
            "a@b..c",
            "a@-b.c",
            "<script>@x.y",
            "a@b.c'--",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse(&format!("{}@x.io", "a".repeat(260))).is_err());
    }
}
