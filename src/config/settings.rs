//! Every setting as `(flag name, value)`, for the start-up log line and for `Debug`.
//!
//! Secrets are masked by upstream's rule: a flag whose name contains `pass`, `token`,
//! `secret`, `key`, `license`, `postgres`, `client-id` or `client-secret` is shown as
//! `********`, whatever its value. `Debug` of [`Config`] and of the provider structs goes
//! through the same masking, so `{:?}` never prints a secret either.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use super::oauth::{OAuthExtras, OidcProvider, ProviderEndpoints};
use super::providers::{
    AppleProvider, AzureadProvider, BitbucketProvider, DiscordProvider, EntraidProvider,
    FacebookProvider, GithubProvider, GitlabProvider, GoogleProvider, LinkedinProvider,
    OAuthProviders, SpotifyProvider, StravaProvider, TwitchProvider, TwitterProvider,
    WindowsliveProvider, WorkosProvider,
};
use super::{
    Config, ElevatedClaimMode, GravatarDefault, GravatarRating, SmsProvider, SmtpAuthMethod,
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

impl SettingValue for Option<String> {
    fn to_setting(&self) -> Value {
        Value::String(self.clone().unwrap_or_default())
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
        o.push("api-prefix", self.api_prefix.to_setting());
        o.push("port", self.port.to_setting());
        o.push("conceal-errors", self.conceal_errors.to_setting());
        o.push("server-url", self.server_url.to_setting());
        o.push("enable-change-env", self.enable_change_env.to_setting());
        // general
        o.push("debug", self.debug.to_setting());
        o.push("log-format-text", self.log_format_text.to_setting());
        // postgres
        o.push("postgres", self.postgres.to_setting());
        o.push("postgres-migrations", self.postgres_migrations.to_setting());
        // jwt
        o.push(
            "refresh-token-expires-in",
            self.refresh_token_expires_in.to_setting(),
        );
        o.push(
            "access-tokens-expires-in",
            self.access_tokens_expires_in.to_setting(),
        );
        o.push("hasura-graphql-jwt-secret", self.jwt_secret.to_setting());
        o.push("custom-claims", self.custom_claims.to_setting());
        o.push(
            "custom-claims-defaults",
            self.custom_claims_defaults.to_setting(),
        );
        o.push("graphql-url", self.graphql_url.to_setting());
        o.push("hasura-admin-secret", self.hasura_admin_secret.to_setting());
        // signup
        o.push("disable-signup", self.disable_signup.to_setting());
        o.push(
            "default-allowed-roles",
            self.default_allowed_roles.to_setting(),
        );
        o.push("default-role", self.default_role.to_setting());
        o.push("default-locale", self.default_locale.to_setting());
        o.push("allowed-locales", self.allowed_locales.to_setting());
        o.push("disable-new-users", self.disable_new_users.to_setting());
        o.push("gravatar-enabled", self.gravatar_enabled.to_setting());
        o.push("gravatar-default", self.gravatar_default.to_setting());
        o.push("gravatar-rating", self.gravatar_rating.to_setting());
        o.push(
            "email-verification-required",
            self.email_verification_required.to_setting(),
        );
        o.push("password-min-length", self.password_min_length.to_setting());
        o.push(
            "password-hibp-enabled",
            self.password_hibp_enabled.to_setting(),
        );
        o.push("block-email-domains", self.block_email_domains.to_setting());
        o.push("block-emails", self.block_emails.to_setting());
        o.push(
            "allowed-email-domains",
            self.allowed_email_domains.to_setting(),
        );
        o.push("allowed-emails", self.allowed_emails.to_setting());
        o.push(
            "enable-anonymous-users",
            self.enable_anonymous_users.to_setting(),
        );
        // signin, otp
        o.push(
            "email-passwordless-enabled",
            self.email_passwordless_enabled.to_setting(),
        );
        o.push("otp-email-enabled", self.otp_email_enabled.to_setting());
        // sms
        o.push(
            "sms-passwordless-enabled",
            self.sms_passwordless_enabled.to_setting(),
        );
        o.push("sms-provider", self.sms_provider.to_setting());
        o.push(
            "sms-twilio-account-sid",
            self.sms_twilio_account_sid.to_setting(),
        );
        o.push(
            "sms-twilio-auth-token",
            self.sms_twilio_auth_token.to_setting(),
        );
        o.push(
            "sms-twilio-messaging-service-id",
            self.sms_twilio_messaging_service_id.to_setting(),
        );
        o.push("sms-modica-username", self.sms_modica_username.to_setting());
        o.push("sms-modica-password", self.sms_modica_password.to_setting());
        o.push("sms-twilio-api-url", self.sms_twilio_api_url.to_setting());
        o.push(
            "sms-twilio-verify-api-url",
            self.sms_twilio_verify_api_url.to_setting(),
        );
        o.push("sms-modica-api-url", self.sms_modica_api_url.to_setting());
        // mfa
        o.push("mfa-enabled", self.mfa_enabled.to_setting());
        o.push("mfa-totp-issuer", self.mfa_totp_issuer.to_setting());
        // webauthn
        o.push("webauthn-enabled", self.webauthn_enabled.to_setting());
        o.push("webauthn-rp-name", self.webauthn_rp_name.to_setting());
        o.push("webauthn-rp-id", self.webauthn_rp_id.to_setting());
        o.push("webauthn-rp-origins", self.webauthn_rp_origins.to_setting());
        o.push(
            "webauthn-attestation-timeout",
            self.webauthn_attestation_timeout.to_setting(),
        );
        // security
        o.push(
            "require-elevated-claim",
            self.require_elevated_claim.to_setting(),
        );
        // application
        o.push("client-url", self.client_url.to_setting());
        o.push("allow-redirect-urls", self.allow_redirect_urls.to_setting());
        // email, smtp
        o.push("templates-path", self.templates_path.to_setting());
        o.push("smtp-host", self.smtp_host.to_setting());
        o.push("smtp-port", self.smtp_port.to_setting());
        o.push("smtp-secure", self.smtp_secure.to_setting());
        o.push("smtp-user", self.smtp_user.to_setting());
        o.push("smtp-password", self.smtp_password.to_setting());
        o.push("smtp-sender", self.smtp_sender.to_setting());
        o.push("smtp-api-header", self.smtp_api_header.to_setting());
        o.push("smtp-auth-method", self.smtp_auth_method.to_setting());
        o.push(
            "smtp-postmark-api-url",
            self.smtp_postmark_api_url.to_setting(),
        );
        // rate limit
        o.push("rate-limit-enable", self.rate_limit_enable.to_setting());
        o.push(
            "rate-limit-global-burst",
            self.rate_limit_global_burst.to_setting(),
        );
        o.push(
            "rate-limit-global-interval",
            self.rate_limit_global_interval.to_setting(),
        );
        o.push(
            "rate-limit-email-burst",
            self.rate_limit_email_burst.to_setting(),
        );
        o.push(
            "rate-limit-email-interval",
            self.rate_limit_email_interval.to_setting(),
        );
        o.push(
            "rate-limit-email-is-global",
            self.rate_limit_email_is_global.to_setting(),
        );
        o.push(
            "rate-limit-sms-burst",
            self.rate_limit_sms_burst.to_setting(),
        );
        o.push(
            "rate-limit-sms-interval",
            self.rate_limit_sms_interval.to_setting(),
        );
        o.push(
            "rate-limit-brute-force-burst",
            self.rate_limit_brute_force_burst.to_setting(),
        );
        o.push(
            "rate-limit-brute-force-interval",
            self.rate_limit_brute_force_interval.to_setting(),
        );
        o.push(
            "rate-limit-signups-burst",
            self.rate_limit_signups_burst.to_setting(),
        );
        o.push(
            "rate-limit-signups-interval",
            self.rate_limit_signups_interval.to_setting(),
        );
        o.push(
            "rate-limit-memcache-server",
            self.rate_limit_memcache_server.to_setting(),
        );
        o.push(
            "rate-limit-memcache-prefix",
            self.rate_limit_memcache_prefix.to_setting(),
        );
        // turnstile, id tokens
        o.push("turnstile-secret", self.turnstile_secret.to_setting());
        o.push("apple-audience", self.apple_audience.to_setting());
        o.push("google-audience", self.google_audience.to_setting());
        // oauth providers
        self.providers.settings(o);
        // additions of this implementation
        o.push("metrics-address", self.metrics_address.to_setting());
        o.push(
            "hasura-metadata-sync",
            self.hasura_metadata_sync.to_setting(),
        );
        o.push(
            "hasura-metadata-sync-timeout",
            self.hasura_metadata_sync_timeout.to_setting(),
        );
        o.push(
            "custom-claims-timeout",
            self.custom_claims_timeout.to_setting(),
        );
        o.push("hibp-url", self.hibp_url.to_setting());
        o.push("turnstile-url", self.turnstile_url.to_setting());
        o.push("trusted-proxies", self.trusted_proxies.to_setting());
        // our additions
        self.oauth.settings(o);
        out
    }
}

fn debug_masked(f: &mut fmt::Formatter<'_>, name: &str, settings: Settings) -> fmt::Result {
    let masked = settings.masked();
    let mut s = f.debug_struct(name);
    for (key, value) in &masked {
        s.field(key, value);
    }
    s.finish()
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_masked(f, "Config", self.settings())
    }
}

macro_rules! masked_debug {
    ($($t:ident),* $(,)?) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut out = Settings::default();
                self.settings(&mut out);
                debug_masked(f, stringify!($t), out)
            }
        }
    )*};
}
masked_debug!(
    OAuthProviders,
    GithubProvider,
    GoogleProvider,
    AppleProvider,
    LinkedinProvider,
    DiscordProvider,
    SpotifyProvider,
    TwitchProvider,
    GitlabProvider,
    BitbucketProvider,
    WorkosProvider,
    AzureadProvider,
    EntraidProvider,
    FacebookProvider,
    WindowsliveProvider,
    StravaProvider,
    TwitterProvider,
    OAuthExtras,
    ProviderEndpoints,
    OidcProvider,
);
