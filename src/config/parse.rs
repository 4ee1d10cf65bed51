//! Value parsers for upstream's flag syntax (Go `strconv.ParseBool`, Go durations, comma lists)
//! and for the few values upstream validates at start-up (JSON claims, SMS provider).

use std::time::Duration;

use clap::{Arg, ArgAction};

/// Go's `strconv.ParseBool`: `1 t T TRUE true True 0 f F FALSE false False`.
pub fn go_bool(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!(
            "invalid boolean {other:?} (use true/false, 1/0 or t/f)"
        )),
    }
}

/// Upstream's boolean flags, written `#[arg(…, go_bool = "<default>")]` in a derive: the
/// value is optional (`--flag` alone means true), must be attached (`--flag=false`) and
/// uses Go's syntax ([`go_bool`]).
pub trait GoBoolArg {
    fn go_bool(self, default: &'static str) -> Self;
}

impl GoBoolArg for Arg {
    fn go_bool(self, default: &'static str) -> Self {
        self.default_value(default)
            .value_parser(go_bool)
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .action(ArgAction::Set)
    }
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units
/// `ns us µs ms s m h`, e.g. `300ms`, `1m`, `1h30m`, `1.5h`. A bare `0` is allowed.
pub fn go_duration(s: &str) -> Result<Duration, String> {
    let input = s.trim();
    let err = || format!("invalid duration {input:?} (use Go syntax such as 30s, 5m, 1h)");
    if input == "0" {
        return Ok(Duration::ZERO);
    }
    if input.is_empty() || input.starts_with('-') {
        return Err(err());
    }
    let body = input.strip_prefix('+').unwrap_or(input);
    let mut total = 0f64;
    let mut rest = body;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        rest = &rest[unit_len..];
        total += value * nanos_per_unit;
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Formats a duration the way Go's `time.Duration.String()` does: `1h0m0s`, `5m0s`,
/// `1.5s`, `300ms`, `0s` (used when logging settings, so they read like upstream's).
pub fn format_go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        let (value, unit) = if nanos < 1_000 {
            (nanos as f64, "ns")
        } else if nanos < 1_000_000 {
            (nanos as f64 / 1e3, "µs")
        } else {
            (nanos as f64 / 1e6, "ms")
        };
        return format!("{value}{unit}");
    }
    let total_secs = d.as_secs();
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let secs = (total_secs % 60) as f64 + f64::from(d.subsec_nanos()) / 1e9;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

/// A JSON-object setting (`AUTH_JWT_CUSTOM_CLAIMS`, `..._DEFAULTS`): empty, or a JSON object.
/// Returns the text unchanged so the field stays a `String`.
pub fn json_object(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Ok(s.to_owned());
    }
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(_)) => Ok(s.to_owned()),
        Ok(_) => Err("expected a JSON object such as {\"claim\":\"path\"}".to_owned()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

/// `AUTH_SMS_PROVIDER`: case-insensitive; empty selects Twilio; anything unknown is an error.
pub fn sms_provider(s: &str) -> Result<super::SmsProvider, String> {
    match s.trim().to_lowercase().as_str() {
        "" | "twilio" => Ok(super::SmsProvider::Twilio),
        "modica" => Ok(super::SmsProvider::Modica),
        "generic" => Ok(super::SmsProvider::Generic),
        "dev" => Ok(super::SmsProvider::Dev),
        other => Err(format!(
            "unknown SMS provider {other:?} (use twilio, modica, generic or dev)"
        )),
    }
}

/// Drops the empty items a comma list such as `a,,b,` leaves behind.
/// One item of `AUTH_SECURITY_NOTIFICATIONS`: a notice this server knows (or nothing).
pub fn security_notification(s: &str) -> Result<String, String> {
    match s.trim() {
        t @ ("" | "password-changed" | "email-change" | "new-signin") => Ok(t.to_owned()),
        t => Err(format!(
            "unknown notification {t:?}: expected password-changed, email-change or new-signin"
        )),
    }
}

pub fn non_empty(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bool_accepts_go_forms() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(go_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(go_bool(f), Ok(false), "{f}");
        }
        assert!(go_bool("yes").is_err());
        assert!(go_bool("").is_err());
    }

    #[test]
    fn go_duration_parses_units_and_sequences() {
        assert_eq!(go_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "m", "1x", "-1m", "1m-"] {
            assert!(go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn format_go_duration_matches_go() {
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
        assert_eq!(format_go_duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_go_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(format_go_duration(Duration::from_secs(5400)), "1h30m0s");
    }

    #[test]
    fn json_object_accepts_empty_and_objects_only() {
        assert_eq!(json_object(""), Ok(String::new()));
        assert_eq!(json_object("  "), Ok("  ".to_owned()));
        let claims = r#"{"org":"profile.org"}"#;
        assert_eq!(json_object(claims), Ok(claims.to_owned()));
        assert!(json_object("[1]").is_err());
        assert!(json_object("\"x\"").is_err());
        assert!(json_object("{oops").is_err());
    }

    #[test]
    fn sms_provider_is_case_insensitive_and_defaults_to_twilio() {
        use crate::config::SmsProvider;
        assert_eq!(sms_provider(""), Ok(SmsProvider::Twilio));
        assert_eq!(sms_provider("Twilio"), Ok(SmsProvider::Twilio));
        assert_eq!(sms_provider("MODICA"), Ok(SmsProvider::Modica));
        assert_eq!(sms_provider("dev"), Ok(SmsProvider::Dev));
        assert_eq!(sms_provider(" Generic "), Ok(SmsProvider::Generic));
        assert!(sms_provider("nexmo").is_err());
    }

    #[test]
    fn non_empty_drops_blank_items() {
        let v = vec!["a".to_owned(), "".to_owned(), " b ".to_owned()];
        assert_eq!(non_empty(&v), vec!["a", "b"]);
    }
}
