//! `SignUpOptions` as clients send them, and the resolved options a workflow uses.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::LazyLock;

static DISPLAY_NAME_RE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[\p{L}\p{N}\p{S} ,.'-]+$")
        .unwrap_or_else(|e| unreachable!("static display name pattern compiles: {e}"))
});

pub const DISPLAY_NAME_MAX_CHARS: usize = 32;

/// A display name that satisfies the contract's pattern and length (no `<`, `/`, `:`, `&`…).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: String) -> Result<Self, String> {
        if s.chars().count() > DISPLAY_NAME_MAX_CHARS {
            return Err(format!(
                "displayName must be at most {DISPLAY_NAME_MAX_CHARS} characters"
            ));
        }
        if !DISPLAY_NAME_RE.is_match(&s) {
            return Err("displayName contains characters that are not allowed".to_owned());
        }
        Ok(DisplayName(s))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DisplayName::parse(s)
    }
}

/// A locale code of 2 or 3 characters (v0.42 took exactly 2; Nhost Auth 0.45 allows 3,
/// e.g. `fil`). Unknown locales still fall back to the default when resolved.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct LocaleCode(String);

impl LocaleCode {
    pub fn parse(s: String) -> Result<Self, String> {
        if !(2..=3).contains(&s.chars().count()) {
            return Err("locale must be 2 or 3 characters".to_owned());
        }
        Ok(LocaleCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocaleCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        LocaleCode::parse(s)
    }
}

/// `SignUpOptions` exactly as the contract defines it (unknown fields rejected).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignUpOptionsInput {
    pub allowed_roles: Option<Vec<String>>,
    pub default_role: Option<String>,
    pub display_name: Option<DisplayName>,
    pub locale: Option<LocaleCode>,
    pub metadata: Option<Map<String, Value>>,
    pub redirect_to: Option<String>,
}

/// `{ "redirectTo": … }`, the options of the email workflows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedirectOptionsInput {
    pub redirect_to: Option<String>,
}

/// Options after defaults and policy checks.
#[derive(Debug, Clone, PartialEq)]
pub struct SignUpOptions {
    pub allowed_roles: Vec<String>,
    pub default_role: String,
    pub display_name: String,
    pub locale: String,
    /// JSON `null` when the client sent none (what upstream stores).
    pub metadata: Value,
    pub redirect_to: String,
}

#[cfg(test)]
mod locale_tests {
    use super::LocaleCode;

    #[test]
    fn locales_of_two_or_three_characters_are_accepted() {
        for ok in ["en", "fr", "fil", "haw"] {
            assert_eq!(LocaleCode::parse(ok.to_owned()).unwrap().as_str(), ok);
        }
        for bad in ["", "e", "engl", "english"] {
            assert!(LocaleCode::parse(bad.to_owned()).is_err(), "{bad}");
        }
    }
}
