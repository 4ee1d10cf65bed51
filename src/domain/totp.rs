//! TOTP (RFC 6238) as upstream uses it: SHA-1, 6 digits, 30-second steps, ±1 step of
//! clock skew, base32 secrets without padding in `users.totp_secret`.

use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const DIGITS: u8 = 6;
pub const STEP_SECS: u64 = 30;
pub const SKEW_STEPS: u16 = 1;
/// Bytes of a new secret (upstream: 32, i.e. 52 base32 characters).
pub const SECRET_BYTES: usize = 32;

/// A user's TOTP key, decoded from its stored base32 form.
pub struct TotpKey(Totp);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored TOTP secret is not valid base32")]
pub struct BadSecret;

impl TotpKey {
    /// A fresh random secret, base32 without padding (what the client and the database get).
    pub fn generate_secret() -> String {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret::from(bytes).to_base32()
    }

    /// Decodes a stored secret. Case, padding and spaces are forgiven, like upstream's
    /// decoder; shorter secrets from older services (otplib: 10 bytes) are accepted.
    pub fn from_secret(secret: &str) -> Result<TotpKey, BadSecret> {
        let cleaned: String = secret
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let decoded = Secret::try_from_base32(&cleaned).map_err(|_| BadSecret)?;
        if decoded.as_bytes().is_empty() {
            return Err(BadSecret);
        }
        // Fixed, valid parameters: build_noncompliant only skips the secret-length rule.
        Ok(TotpKey(
            Builder::new()
                .with_algorithm(Algorithm::SHA1)
                .with_digits(DIGITS)
                .with_skew(SKEW_STEPS)
                .with_step_duration(STEP_SECS)
                .with_secret(decoded)
                .build_noncompliant(),
        ))
    }

    /// The time step (unix seconds / 30) that `code` belongs to, if it is valid at `now`
    /// within the skew. Anything but exactly 6 ASCII digits never matches.
    pub fn matching_step(&self, code: &str, now_unix: u64) -> Option<u64> {
        self.0.check(code, now_unix)
    }

    /// The code for the step containing `unix` (tests, development).
    pub fn code_at(&self, unix: u64) -> String {
        self.0.generate(unix).to_string()
    }
}

/// `otpauth://totp/<issuer>:<account>?algorithm=SHA1&digits=6&issuer=…&period=30&secret=…`,
/// laid out like upstream's (pquerna/otp): sorted query, `%20` for spaces.
pub fn otpauth_url(issuer: &str, account: &str, secret: &str) -> String {
    let label: String =
        url::form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes())
            .collect::<String>()
            .replace('+', "%20")
            .replace("%3A", ":")
            .replace("%40", "@");
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("issuer", issuer)
        .append_pair("period", &STEP_SECS.to_string())
        .append_pair("secret", secret)
        .finish()
        .replace('+', "%20");
    format!("otpauth://totp/{label}?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_secrets_are_52_base32_characters_without_padding() {
        let s = TotpKey::generate_secret();
        assert_eq!(s.len(), 52);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        );
        assert_ne!(s, TotpKey::generate_secret());
        assert!(TotpKey::from_secret(&s).is_ok());
    }

    #[test]
    fn rfc6238_sha1_vectors_at_six_digits() {
        // RFC 6238 appendix B, secret "12345678901234567890", last 6 digits.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        let key = TotpKey::from_secret(&secret.to_lowercase()).unwrap();
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(key.code_at(t), code);
            assert_eq!(key.matching_step(code, t), Some(t / 30));
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let key = TotpKey::from_secret("JBSWY3DPEHPK3PXP").unwrap();
        let now: u64 = 1_700_000_015;
        let step = now / 30;
        for (delta, expected) in [
            (-60i64, None),
            (-30, Some(step - 1)),
            (0, Some(step)),
            (30, Some(step + 1)),
            (60, None),
        ] {
            let code = key.code_at(now.saturating_add_signed(delta));
            assert_eq!(key.matching_step(&code, now), expected, "delta {delta}");
        }
        let code = key.code_at(now);
        assert_eq!(key.matching_step(&format!(" {code}"), now), None);
        assert_eq!(key.matching_step(&code[..5], now), None);
        assert_eq!(key.matching_step("+12345", now), None);
    }

    #[test]
    fn legacy_secrets_with_padding_or_short_length_are_read() {
        assert!(TotpKey::from_secret("JBSWY3DPEHPK3PXP====").is_ok());
        assert!(TotpKey::from_secret("jbsw y3dp ehpk 3pxp").is_ok());
        assert_eq!(TotpKey::from_secret("").err(), Some(BadSecret));
        assert_eq!(TotpKey::from_secret("not base32!").err(), Some(BadSecret));
    }

    #[test]
    fn otpauth_url_matches_upstream_layout() {
        assert_eq!(
            otpauth_url("My App", "a.b@example.com", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/My%20App:a.b@example.com?algorithm=SHA1&digits=6&issuer=My%20App&period=30&secret=JBSWY3DPEHPK3PXP"
        );
    }
}
