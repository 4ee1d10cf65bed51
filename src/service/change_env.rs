//! `POST /change-env` (only with `AUTH_ENABLE_CHANGE_ENV=true`): end-to-end test suites
//! written for upstream reconfigure the running service with it.
//!
//! The body is a JSON object keyed by upstream's names (SPEC §8.22), with upstream's JSON
//! types: booleans, numbers, strings, comma-separated strings for the email and locale
//! lists, arrays for roles and WebAuthn origins. Unknown keys are ignored, as upstream.
//! A new configuration is built from the current one and swapped in atomically; every
//! request that starts afterwards sees it, including the policy derived from it
//! (roles, locales, email lists, redirect allow-list). JWT keys, the mailer, SMS and
//! OAuth clients are built once at start-up and are not changed (as upstream).

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::config::{Config, GravatarDefault, GravatarRating, parse};
use crate::error::ApiError;
use crate::settings::RuntimeSettings;

fn want_bool(key: &str, v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{key} must be a JSON boolean"))
}

fn want_str<'a>(key: &str, v: &'a Value) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{key} must be a JSON string"))
}

fn want_i64(key: &str, v: &Value) -> Result<i64, String> {
    v.as_i64()
        .ok_or_else(|| format!("{key} must be a JSON integer"))
}

fn want_strings(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let err = || format!("{key} must be a JSON array of strings");
    v.as_array()
        .ok_or_else(err)?
        .iter()
        .map(|item| item.as_str().map(str::to_owned).ok_or_else(err))
        .collect()
}

/// Upstream's comma-separated lists: `""` is the empty list.
fn comma_list(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let s = want_str(key, v)?;
    Ok(if s.is_empty() {
        Vec::new()
    } else {
        s.split(',').map(str::to_owned).collect()
    })
}

/// `""` or a JSON object, as the start-up check requires.
fn json_object_text(key: &str, v: &Value) -> Result<String, String> {
    let s = want_str(key, v)?;
    if !s.is_empty() && !matches!(serde_json::from_str(s), Ok(Value::Object(_))) {
        return Err(format!("{key} must be empty or a JSON object"));
    }
    Ok(s.to_owned())
}

/// The current configuration with `changes` applied. Keys match case-insensitively (as
/// Go's JSON decoding does); `null` leaves a setting as it is.
pub fn apply_changes(current: &Config, changes: &Map<String, Value>) -> Result<Config, String> {
    let mut c = current.clone();
    for (raw_key, v) in changes {
        if v.is_null() {
            continue;
        }
        let key = raw_key.to_ascii_uppercase();
        let k = key.as_str();
        match k {
            "HASURA_GRAPHQL_GRAPHQL_URL" => c.hasura.graphql_url = want_str(k, v)?.to_owned(),
            "HASURA_GRAPHQL_ADMIN_SECRET" => {
                c.hasura.hasura_admin_secret = want_str(k, v)?.to_owned().into()
            }
            "AUTH_ANONYMOUS_USERS_ENABLED" => c.signup.enable_anonymous_users = want_bool(k, v)?,
            "AUTH_MFA_ENABLED" => c.mfa.mfa_enabled = want_bool(k, v)?,
            "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS" => {
                c.signup.allowed_email_domains = comma_list(k, v)?
            }
            "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS" => c.signup.allowed_emails = comma_list(k, v)?,
            "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS" => {
                c.signup.block_email_domains = comma_list(k, v)?
            }
            "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS" => c.signup.block_emails = comma_list(k, v)?,
            "AUTH_LOCALE_ALLOWED_LOCALES" => c.signup.allowed_locales = comma_list(k, v)?,
            "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS" => {
                c.client.allow_redirect_urls = comma_list(k, v)?
            }
            "AUTH_CLIENT_URL" => c.client.client_url = want_str(k, v)?.to_owned(),
            "AUTH_SERVER_URL" => c.server.server_url = want_str(k, v)?.to_owned(),
            "AUTH_JWT_CUSTOM_CLAIMS" => c.jwt.custom_claims = json_object_text(k, v)?,
            "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS" => {
                c.jwt.custom_claims_defaults = json_object_text(k, v)?
            }
            "AUTH_CONCEAL_ERRORS" => c.server.conceal_errors = want_bool(k, v)?,
            "AUTH_DISABLE_SIGNUP" => c.signup.disable_signup = want_bool(k, v)?,
            "AUTH_DISABLE_NEW_USERS" => c.signup.disable_new_users = want_bool(k, v)?,
            // Upstream's JSON name (not the env var `AUTH_USER_DEFAULT_ALLOWED_ROLES`).
            "AUTH_DEFAULT_ALLOWED_ROLES" => c.signup.default_allowed_roles = want_strings(k, v)?,
            "AUTH_DEFAULT_ROLE" => c.signup.default_role = want_str(k, v)?.to_owned(),
            "AUTH_DEFAULT_LOCALE" => c.signup.default_locale = want_str(k, v)?.to_owned(),
            "AUTH_GRAVATAR_ENABLED" => c.signup.gravatar_enabled = want_bool(k, v)?,
            "AUTH_GRAVATAR_DEFAULT" => {
                c.signup.gravatar_default = GravatarDefault::from_str(want_str(k, v)?, false)
                    .map_err(|e| format!("{k}: {e}"))?
            }
            "AUTH_GRAVATAR_RATING" => {
                c.signup.gravatar_rating = GravatarRating::from_str(want_str(k, v)?, false)
                    .map_err(|e| format!("{k}: {e}"))?
            }
            "AUTH_PASSWORD_MIN_LENGTH" => {
                c.signup.password_min_length = usize::try_from(want_i64(k, v)?)
                    .map_err(|_| format!("{k} must not be negative"))?
            }
            "AUTH_PASSWORD_HIBP_ENABLED" => c.signup.password_hibp_enabled = want_bool(k, v)?,
            "AUTH_REFRESH_TOKEN_EXPIRES_IN" => c.jwt.refresh_token_expires_in = want_i64(k, v)?,
            "AUTH_ACCESS_TOKEN_EXPIRES_IN" => c.jwt.access_tokens_expires_in = want_i64(k, v)?,
            // Accepted, but the signing keys stay those of start-up (as upstream).
            "HASURA_GRAPHQL_JWT_SECRET" => {
                c.jwt.jwt_secret = Some(want_str(k, v)?.to_owned().into())
            }
            "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED" => {
                c.signup.email_verification_required = want_bool(k, v)?
            }
            "AUTH_EMAIL_PASSWORDLESS_ENABLED" => {
                c.passwordless.email_passwordless_enabled = want_bool(k, v)?
            }
            "AUTH_WEBAUTHN_ENABLED" => c.webauthn.webauthn_enabled = want_bool(k, v)?,
            "AUTH_WEBAUTHN_RPID" => c.webauthn.webauthn_rp_id = want_str(k, v)?.to_owned(),
            "AUTH_WEBAUTHN_RPNAME" => c.webauthn.webauthn_rp_name = want_str(k, v)?.to_owned(),
            "AUTH_WEBAUTHN_RP_ORIGINS" => c.webauthn.webauthn_rp_origins = want_strings(k, v)?,
            // A Go duration in JSON: nanoseconds. Ours is in milliseconds.
            "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT" => {
                let ns = u64::try_from(want_i64(k, v)?)
                    .map_err(|_| format!("{k} must not be negative"))?;
                c.webauthn.webauthn_attestation_timeout = ns / 1_000_000;
            }
            "AUTH_OTP_EMAIL_ENABLED" => c.passwordless.otp_email_enabled = want_bool(k, v)?,
            "AUTH_SMS_PASSWORDLESS_ENABLED" => c.sms.sms_passwordless_enabled = want_bool(k, v)?,
            "AUTH_SMS_PROVIDER" => {
                c.sms.sms_provider =
                    parse::sms_provider(want_str(k, v)?).map_err(|e| format!("{k}: {e}"))?
            }
            "AUTH_SMS_TWILIO_ACCOUNT_SID" => {
                c.sms.sms_twilio_account_sid = want_str(k, v)?.to_owned()
            }
            "AUTH_SMS_TWILIO_AUTH_TOKEN" => {
                c.sms.sms_twilio_auth_token = want_str(k, v)?.to_owned().into()
            }
            "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID" => {
                c.sms.sms_twilio_messaging_service_id = want_str(k, v)?.to_owned()
            }
            "AUTH_SMS_MODICA_USERNAME" => c.sms.sms_modica_username = want_str(k, v)?.to_owned(),
            "AUTH_SMS_MODICA_PASSWORD" => {
                c.sms.sms_modica_password = want_str(k, v)?.to_owned().into()
            }
            // Routes are mounted at start-up; kept for completeness only.
            "AUTH_SERVER_PREFIX" => c.server.api_prefix = want_str(k, v)?.to_owned(),
            _ => {}
        }
    }
    Ok(c)
}

/// `POST /change-env`: runtime reconfiguration (test environments only).
#[derive(Clone)]
pub struct EnvChange {
    pub(crate) db: crate::db::DbPool,
    pub(crate) settings: crate::settings::SettingsHandle,
}

impl EnvChange {
    /// Applies a `/change-env` body. Nothing changes unless the whole body is valid.
    pub async fn change_env(&self, changes: &Map<String, Value>) -> Result<(), ApiError> {
        let config =
            apply_changes(&self.settings.config(), changes).map_err(ApiError::validation)?;
        let settings =
            RuntimeSettings::new(config).map_err(|e| ApiError::validation(e.to_string()))?;
        // New allowed roles must exist before users can be given them (as at start-up).
        let db = self.db.get().await?;
        crate::db::users::upsert_roles(&db, &settings.policy.allowed_roles).await?;
        drop(db);
        tracing::warn!("POST /change-env: configuration replaced at runtime");
        self.settings.replace(settings);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Config {
        Config::from_args(["hasura-auth"]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn apply(body: Value) -> Result<Config, String> {
        match body {
            Value::Object(map) => apply_changes(&base(), &map),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn applies_upstream_keys_with_upstream_types() {
        let c = apply(json!({
            "AUTH_DISABLE_SIGNUP": true,
            "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS": "evil.com,bad.org",
            "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS": "",
            "AUTH_DEFAULT_ALLOWED_ROLES": ["user", "me", "editor"],
            "AUTH_PASSWORD_MIN_LENGTH": 9,
            "AUTH_GRAVATAR_DEFAULT": "identicon",
            "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT": 120_000_000_000u64,
            "auth_client_url": "https://app.example.com",
            "AUTH_USER_DEFAULT_ALLOWED_ROLES": "ignored as upstream",
            "SOMETHING_ELSE": 1,
            "AUTH_MFA_ENABLED": null,
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.signup.disable_signup);
        assert_eq!(c.signup.block_email_domains, ["evil.com", "bad.org"]);
        assert!(c.signup.allowed_emails.is_empty());
        assert_eq!(c.signup.default_allowed_roles, ["user", "me", "editor"]);
        assert_eq!(c.signup.password_min_length, 9);
        assert_eq!(c.signup.gravatar_default, GravatarDefault::Identicon);
        assert_eq!(c.webauthn.webauthn_attestation_timeout, 120_000);
        assert_eq!(c.client.client_url, "https://app.example.com");
        assert!(!c.mfa.mfa_enabled);
    }

    #[test]
    fn rejects_wrong_types_and_values() {
        for bad in [
            json!({"AUTH_DISABLE_SIGNUP": "true"}),
            json!({"AUTH_PASSWORD_MIN_LENGTH": "9"}),
            json!({"AUTH_PASSWORD_MIN_LENGTH": -1}),
            json!({"AUTH_DEFAULT_ALLOWED_ROLES": "user,me"}),
            json!({"AUTH_GRAVATAR_RATING": "nc-17"}),
            json!({"AUTH_JWT_CUSTOM_CLAIMS": "[1]"}),
            json!({"AUTH_SMS_PROVIDER": "nexmo"}),
        ] {
            assert!(apply(bad.clone()).is_err(), "{bad}");
        }
    }
}
