//! Every setting as `(flag name, value)`, for the start-up log line and for `Debug`.
//!
//! Secrets are masked by upstream's rule: a flag whose name contains `pass`, `token`,
//! `secret`, `key`, `license`, `postgres`, `client-id` or `client-secret` is shown as
//! `********`, whatever its value. Secret values ([`Secret`]) are never listed at all.

use std::time::Duration;

use serde_json::{Map, Value};

use super::{
    Config, ElevatedClaimMode, GravatarDefault, GravatarRating, Secret, SmsProvider, SmtpAuthMethod,
};

/// What a masked value looks like.
pub const MASK: &str = "********";

/// Parts of a flag name that mark its value as secret (upstream's rule).
const SENSITIVE_PARTS: [&str; 8] = [
    "pass",
    "token",
    "secret",
    "key",
    "license",
    "postgres",
    "client-id",
    "client-secret",
];

/// Whether the value of the flag `name` (without `--`) must never be shown.
pub fn is_sensitive(name: &str) -> bool {
    SENSITIVE_PARTS.iter().any(|part| name.contains(part))
}

/// Settings in declaration order, keyed by flag name.
#[derive(Default)]
pub struct Settings(Vec<(&'static str, Value)>);

impl Settings {
    pub(crate) fn push(&mut self, name: &'static str, value: Value) {
        self.0.push((name, value));
    }

    /// Flag names in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(name, _)| *name)
    }

    /// Every value with secrets replaced by [`MASK`]. This is the only form to log.
    pub fn masked(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(name, value)| {
                let shown = if is_sensitive(name) {
                    Value::String(MASK.to_owned())
                } else {
                    value.clone()
                };
                ((*name).to_owned(), shown)
            })
            .collect()
    }
}

/// Converts a setting's value into the JSON shown in logs.
pub(crate) trait SettingValue {
    fn to_setting(&self) -> Value;
}

impl SettingValue for String {
    fn to_setting(&self) -> Value {
        Value::String(self.clone())
    }
}

/// A secret is listed as [`MASK`] whatever the flag name says: the listing never holds one.
impl SettingValue for Secret {
    fn to_setting(&self) -> Value {
        Value::String(MASK.to_owned())
    }
}

impl SettingValue for Option<Secret> {
    fn to_setting(&self) -> Value {
        Value::String(MASK.to_owned())
    }
}

impl SettingValue for bool {
    fn to_setting(&self) -> Value {
        Value::Bool(*self)
    }
}

impl SettingValue for Vec<String> {
    fn to_setting(&self) -> Value {
        Value::Array(self.iter().cloned().map(Value::String).collect())
    }
}

impl SettingValue for Duration {
    fn to_setting(&self) -> Value {
        Value::String(super::parse::format_go_duration(*self))
    }
}

macro_rules! number_setting {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            fn to_setting(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
number_setting!(i64, u16, u32, u64, usize);

macro_rules! enum_setting {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            fn to_setting(&self) -> Value {
                Value::String(self.as_str().to_owned())
            }
        }
    )*};
}
enum_setting!(
    GravatarDefault,
    GravatarRating,
    SmtpAuthMethod,
    SmsProvider,
    ElevatedClaimMode
);

impl Config {
    /// Every setting (all upstream flags), keyed by flag name, in `--help` order.
    /// Values are NOT masked: use [`Settings::masked`] for anything printed or logged.
    pub fn settings(&self) -> Settings {
        let mut out = Settings::default();
        let o = &mut out;
        // server
        o.push("api-prefix", self.server.api_prefix.to_setting());
        o.push("port", self.server.port.to_setting());
        o.push("conceal-errors", self.server.conceal_errors.to_setting());
        o.push("server-url", self.server.server_url.to_setting());
        o.push(
            "enable-change-env",
            self.server.enable_change_env.to_setting(),
        );
        // general
        o.push("debug", self.logging.debug.to_setting());
        o.push("log-format-text", self.logging.log_format_text.to_setting());
        // postgres
        o.push("postgres", self.database.postgres.to_setting());
        o.push(
            "postgres-migrations",
            self.database.postgres_migrations.to_setting(),
        );
        // jwt
        o.push(
            "refresh-token-expires-in",
            self.jwt.refresh_token_expires_in.to_setting(),
        );
        o.push(
            "access-tokens-expires-in",
            self.jwt.access_tokens_expires_in.to_setting(),
        );
        o.push(
            "hasura-graphql-jwt-secret",
            self.jwt.jwt_secret.to_setting(),
        );
        o.push("custom-claims", self.jwt.custom_claims.to_setting());
        o.push(
            "custom-claims-defaults",
            self.jwt.custom_claims_defaults.to_setting(),
        );
        o.push("graphql-url", self.hasura.graphql_url.to_setting());
        o.push(
            "hasura-admin-secret",
            self.hasura.hasura_admin_secret.to_setting(),
        );
        // signup
        o.push("disable-signup", self.signup.disable_signup.to_setting());
        o.push(
            "default-allowed-roles",
            self.signup.default_allowed_roles.to_setting(),
        );
        o.push("default-role", self.signup.default_role.to_setting());
        o.push("default-locale", self.signup.default_locale.to_setting());
        o.push("allowed-locales", self.signup.allowed_locales.to_setting());
        o.push(
            "disable-new-users",
            self.signup.disable_new_users.to_setting(),
        );
        o.push(
            "gravatar-enabled",
            self.signup.gravatar_enabled.to_setting(),
        );
        o.push(
            "gravatar-default",
            self.signup.gravatar_default.to_setting(),
        );
        o.push("gravatar-rating", self.signup.gravatar_rating.to_setting());
        o.push(
            "email-verification-required",
            self.signup.email_verification_required.to_setting(),
        );
        o.push(
            "password-min-length",
            self.signup.password_min_length.to_setting(),
        );
        o.push(
            "password-hibp-enabled",
            self.signup.password_hibp_enabled.to_setting(),
        );
        o.push(
            "block-email-domains",
            self.signup.block_email_domains.to_setting(),
        );
        o.push("block-emails", self.signup.block_emails.to_setting());
        o.push(
            "allowed-email-domains",
            self.signup.allowed_email_domains.to_setting(),
        );
        o.push("allowed-emails", self.signup.allowed_emails.to_setting());
        o.push(
            "enable-anonymous-users",
            self.signup.enable_anonymous_users.to_setting(),
        );
        // signin, otp
        o.push(
            "email-passwordless-enabled",
            self.passwordless.email_passwordless_enabled.to_setting(),
        );
        o.push(
            "otp-email-enabled",
            self.passwordless.otp_email_enabled.to_setting(),
        );
        // sms
        o.push(
            "sms-passwordless-enabled",
            self.sms.sms_passwordless_enabled.to_setting(),
        );
        o.push("sms-provider", self.sms.sms_provider.to_setting());
        o.push(
            "sms-twilio-account-sid",
            self.sms.sms_twilio_account_sid.to_setting(),
        );
        o.push(
            "sms-twilio-auth-token",
            self.sms.sms_twilio_auth_token.to_setting(),
        );
        o.push(
            "sms-twilio-messaging-service-id",
            self.sms.sms_twilio_messaging_service_id.to_setting(),
        );
        o.push(
            "sms-modica-username",
            self.sms.sms_modica_username.to_setting(),
        );
        o.push(
            "sms-modica-password",
            self.sms.sms_modica_password.to_setting(),
        );
        o.push(
            "sms-twilio-api-url",
            self.sms.sms_twilio_api_url.to_setting(),
        );
        o.push(
            "sms-twilio-verify-api-url",
            self.sms.sms_twilio_verify_api_url.to_setting(),
        );
        o.push(
            "sms-modica-api-url",
            self.sms.sms_modica_api_url.to_setting(),
        );
        // mfa
        o.push("mfa-enabled", self.mfa.mfa_enabled.to_setting());
        o.push("mfa-totp-issuer", self.mfa.mfa_totp_issuer.to_setting());
        // webauthn
        o.push(
            "webauthn-enabled",
            self.webauthn.webauthn_enabled.to_setting(),
        );
        o.push(
            "webauthn-rp-name",
            self.webauthn.webauthn_rp_name.to_setting(),
        );
        o.push("webauthn-rp-id", self.webauthn.webauthn_rp_id.to_setting());
        o.push(
            "webauthn-rp-origins",
            self.webauthn.webauthn_rp_origins.to_setting(),
        );
        o.push(
            "webauthn-attestation-timeout",
            self.webauthn.webauthn_attestation_timeout.to_setting(),
        );
        // security
        o.push(
            "require-elevated-claim",
            self.security.require_elevated_claim.to_setting(),
        );
        // application
        o.push("client-url", self.client.client_url.to_setting());
        o.push(
            "allow-redirect-urls",
            self.client.allow_redirect_urls.to_setting(),
        );
        // email, smtp
        o.push("templates-path", self.email.templates_path.to_setting());
        o.push("smtp-host", self.email.smtp_host.to_setting());
        o.push("smtp-port", self.email.smtp_port.to_setting());
        o.push("smtp-secure", self.email.smtp_secure.to_setting());
        o.push("smtp-user", self.email.smtp_user.to_setting());
        o.push("smtp-password", self.email.smtp_password.to_setting());
        o.push("smtp-sender", self.email.smtp_sender.to_setting());
        o.push("smtp-api-header", self.email.smtp_api_header.to_setting());
        o.push("smtp-auth-method", self.email.smtp_auth_method.to_setting());
        o.push(
            "smtp-postmark-api-url",
            self.email.smtp_postmark_api_url.to_setting(),
        );
        // rate limit
        o.push(
            "rate-limit-enable",
            self.rate_limit.rate_limit_enable.to_setting(),
        );
        o.push(
            "rate-limit-global-burst",
            self.rate_limit.rate_limit_global_burst.to_setting(),
        );
        o.push(
            "rate-limit-global-interval",
            self.rate_limit.rate_limit_global_interval.to_setting(),
        );
        o.push(
            "rate-limit-email-burst",
            self.rate_limit.rate_limit_email_burst.to_setting(),
        );
        o.push(
            "rate-limit-email-interval",
            self.rate_limit.rate_limit_email_interval.to_setting(),
        );
        o.push(
            "rate-limit-email-is-global",
            self.rate_limit.rate_limit_email_is_global.to_setting(),
        );
        o.push(
            "rate-limit-sms-burst",
            self.rate_limit.rate_limit_sms_burst.to_setting(),
        );
        o.push(
            "rate-limit-sms-interval",
            self.rate_limit.rate_limit_sms_interval.to_setting(),
        );
        o.push(
            "rate-limit-brute-force-burst",
            self.rate_limit.rate_limit_brute_force_burst.to_setting(),
        );
        o.push(
            "rate-limit-brute-force-interval",
            self.rate_limit.rate_limit_brute_force_interval.to_setting(),
        );
        o.push(
            "rate-limit-signups-burst",
            self.rate_limit.rate_limit_signups_burst.to_setting(),
        );
        o.push(
            "rate-limit-signups-interval",
            self.rate_limit.rate_limit_signups_interval.to_setting(),
        );
        o.push(
            "rate-limit-memcache-server",
            self.rate_limit.rate_limit_memcache_server.to_setting(),
        );
        o.push(
            "rate-limit-memcache-prefix",
            self.rate_limit.rate_limit_memcache_prefix.to_setting(),
        );
        // turnstile, id tokens
        o.push(
            "turnstile-secret",
            self.turnstile.turnstile_secret.to_setting(),
        );
        o.push("apple-audience", self.id_tokens.apple_audience.to_setting());
        o.push(
            "google-audience",
            self.id_tokens.google_audience.to_setting(),
        );
        // oauth providers
        self.providers.settings(o);
        // additions of this implementation
        o.push("metrics-address", self.metrics.metrics_address.to_setting());
        o.push(
            "hasura-metadata-sync",
            self.hasura.hasura_metadata_sync.to_setting(),
        );
        o.push(
            "hasura-metadata-sync-timeout",
            self.hasura.hasura_metadata_sync_timeout.to_setting(),
        );
        o.push(
            "custom-claims-timeout",
            self.hasura.custom_claims_timeout.to_setting(),
        );
        o.push("hibp-url", self.signup.hibp_url.to_setting());
        o.push("turnstile-url", self.turnstile.turnstile_url.to_setting());
        o.push(
            "trusted-proxies",
            self.rate_limit.trusted_proxies.to_setting(),
        );
        // our additions
        self.oauth.settings(o);
        out
    }
}
