//! Phone numbers, normalised once to E.164 (`+` country code and digits).
//!
//! Upstream stored whatever the client sent and compared it byte for byte, so
//! `+33 6 12 34 56 78` and `+33612345678` were two accounts. We parse with the
//! libphonenumber metadata, keep only valid numbers, and store the E.164 form. The text
//! as sent is kept too, so rows written by upstream in another format are still found.

use std::fmt;

use phonenumber::Mode;

#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    as_sent: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number must start with + and the country code")]
    NoCountryCode,
    #[error("phone number cannot be parsed: {0}")]
    Unparsable(String),
    #[error("not a valid phone number")]
    Invalid,
}

impl PhoneNumber {
    /// International numbers only: there is no default region to guess from.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if !trimmed.starts_with('+') {
            return Err(PhoneError::NoCountryCode);
        }
        let parsed =
            phonenumber::parse(None, trimmed).map_err(|e| PhoneError::Unparsable(e.to_string()))?;
        // An extension cannot receive an SMS.
        if parsed.extension().is_some() || !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid);
        }
        Ok(PhoneNumber {
            e164: parsed.format().mode(Mode::E164).to_string(),
            as_sent: input.to_owned(),
        })
    }

    /// `+<country code><national number>`: what we store and send to.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The forms a stored row may have: ours first, then the text as sent.
    pub fn lookup_forms(&self) -> Vec<String> {
        let mut forms = vec![self.e164.clone()];
        if self.as_sent != self.e164 {
            forms.push(self.as_sent.clone());
        }
        forms
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_normalised_to_e164() {
        for input in [
            "+33612345678",
            "+33 6 12 34 56 78",
            "+33 (0)6-12-34-56-78",
            " +33.6.12.34.56.78 ",
        ] {
            let p = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.e164(), "+33612345678", "{input}");
        }
        let us = PhoneNumber::parse("+1 (415) 555-2671").unwrap();
        assert_eq!(us.e164(), "+14155552671");
        assert_eq!(us.lookup_forms(), vec!["+14155552671", "+1 (415) 555-2671"]);
        assert_eq!(
            PhoneNumber::parse("+14155552671").unwrap().lookup_forms(),
            vec!["+14155552671"]
        );
    }

    #[test]
    fn local_invalid_and_garbage_numbers_are_refused() {
        assert_eq!(
            PhoneNumber::parse("0612345678"),
            Err(PhoneError::NoCountryCode)
        );
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::NoCountryCode));
        assert!(PhoneNumber::parse("+1234").is_err());
        assert!(PhoneNumber::parse("+33 6 12").is_err());
        assert!(PhoneNumber::parse("+999 123456789").is_err());
        assert!(PhoneNumber::parse("+hello").is_err());
        assert!(PhoneNumber::parse("+14155552671 ext. 12").is_err());
        assert!(PhoneNumber::parse("+1415555267100000000").is_err());
    }
}
