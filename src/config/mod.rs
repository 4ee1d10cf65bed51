//! Configuration: exactly upstream's flags and env vars, with the same defaults.
//!
//! Every setting is a `--flag` (upstream's flag name) and an env var (upstream's name).
//! Flags win over env vars, env vars over defaults. Values use upstream's syntax: Go
//! booleans (`true/1/t`), Go durations (`1m`), comma lists. A bad value stops start-up with
//! a message naming the env var and the flag ([`parse_cli`]). See docs/configuration.md.
//!
//! Layout: [`Config`] is made of one struct per concern ([`sections`]: server, database,
//! JWT, sign-up, email, SMS, rate limits, …) and the OAuth provider settings
//! ([`providers`], [`oauth`]), each flattened into it; every field is one flag.
//! [`Config::flag_values`] lists every value by flag name (derived from the clap command);
//! [`FlagValues::masked`] is what may be logged.

pub mod cli;
pub mod commands;
pub mod flag_values;
pub mod oauth;
pub mod parse;
pub mod providers;
pub mod secret;
pub mod sections;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

pub use cli::{parse_cli, try_parse_cli_from};
pub use commands::OperatorCommand;
pub use flag_values::{FlagValues, MASK, is_sensitive};
pub use providers::ProviderSettings;
pub use secret::Secret;
pub use sections::{
    ClientAppConfig, DatabaseConfig, EmailConfig, HasuraConfig, IdTokenConfig, JwtConfig,
    LoggingConfig, MetricsConfig, MfaConfig, OAuth2ProviderConfig, PasswordlessConfig,
    RateLimitConfig, SecurityConfig, ServerConfig, SignupConfig, SmsConfig, TurnstileConfig,
    WebauthnConfig,
};

/// Upstream's default connection string, used when neither env var nor flag is given.
pub const DEFAULT_POSTGRES_URL: &str =
    "postgres://postgres:postgres@localhost:5432/local?sslmode=disable";

#[derive(Debug, Parser)]
#[command(
    name = "hasura-auth",
    version,
    about = "Authentication service for Hasura (drop-in replacement for nhost/hasura-auth)",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
    /// Parse and validate the configuration, print it as JSON (secrets masked) and exit
    #[arg(long = "check-config", hide = true)]
    pub check_config: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default when no subcommand is given).
    Serve(Config),
    /// Apply the database migrations and exit.
    Migrate(Config),
    /// Exit 0 when the server on AUTH_PORT answers GET /healthz (for container health checks).
    Healthcheck(Config),
    /// Manage users: create, invite, list, disable, verify, set passwords and roles, delete.
    Users(commands::UsersArgs),
    /// List and revoke a user's sessions.
    Sessions(commands::SessionsArgs),
    /// Generate a JWT secret, print the JWKS of the configured one.
    Keys(commands::KeysArgs),
    /// Manage the identity provider's OAuth2 clients: create, list, show, rotate a secret, delete.
    #[command(name = "oauth2-clients")]
    OAuth2Clients(commands::OAuth2ClientsArgs),
}

impl Cli {
    /// The selected command and its configuration (`serve` when none was named).
    pub fn into_parts(self) -> (CommandKind, Config) {
        match self.command {
            None => (CommandKind::Serve, self.config),
            Some(Command::Serve(c)) => (CommandKind::Serve, c),
            Some(Command::Migrate(c)) => (CommandKind::Migrate, c),
            Some(Command::Healthcheck(c)) => (CommandKind::Healthcheck, c),
            Some(Command::Users(a)) => (
                CommandKind::Operator {
                    command: Box::new(OperatorCommand::Users(a.action)),
                    json: a.output.json,
                },
                a.config,
            ),
            Some(Command::Sessions(a)) => (
                CommandKind::Operator {
                    command: Box::new(OperatorCommand::Sessions(a.action)),
                    json: a.output.json,
                },
                a.config,
            ),
            Some(Command::Keys(a)) => (
                CommandKind::Operator {
                    command: Box::new(OperatorCommand::Keys(a.action)),
                    json: a.output.json,
                },
                a.config,
            ),
            Some(Command::OAuth2Clients(a)) => (
                CommandKind::Operator {
                    command: Box::new(OperatorCommand::OAuth2Clients(a.action)),
                    json: a.output.json,
                },
                a.config,
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandKind {
    Serve,
    Migrate,
    Healthcheck,
    /// `users`, `sessions` or `keys` (docs/cli.md), with `--json`.
    Operator {
        command: Box<OperatorCommand>,
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GravatarDefault {
    Blank,
    Identicon,
    Monsterid,
    Wavatar,
    Retro,
    Robohash,
    Mp,
    #[value(name = "404")]
    NotFound,
}

impl GravatarDefault {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blank => "blank",
            Self::Identicon => "identicon",
            Self::Monsterid => "monsterid",
            Self::Wavatar => "wavatar",
            Self::Retro => "retro",
            Self::Robohash => "robohash",
            Self::Mp => "mp",
            Self::NotFound => "404",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GravatarRating {
    G,
    Pg,
    R,
    X,
}

impl GravatarRating {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::G => "g",
            Self::Pg => "pg",
            Self::R => "r",
            Self::X => "x",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpAuthMethod {
    #[value(name = "PLAIN")]
    Plain,
    #[value(name = "LOGIN")]
    Login,
    #[value(name = "CRAM-MD5")]
    CramMd5,
}

impl SmtpAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::Login => "LOGIN",
            Self::CramMd5 => "CRAM-MD5",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsProvider {
    Twilio,
    Modica,
    Generic,
    Dev,
}

impl SmsProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Modica => "modica",
            Self::Generic => "generic",
            Self::Dev => "dev",
        }
    }
}

/// When the `x-hasura-auth-elevated` claim is demanded on elevated endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ElevatedClaimMode {
    Disabled,
    Recommended,
    Required,
}

impl ElevatedClaimMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Recommended => "recommended",
            Self::Required => "required",
        }
    }
}

/// The settings' enums serialize as their flag value (for [`Config::flag_values`]).
macro_rules! serialize_as_str {
    ($($t:ty),* $(,)?) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    )*};
}
serialize_as_str!(
    GravatarDefault,
    GravatarRating,
    SmtpAuthMethod,
    SmsProvider,
    ElevatedClaimMode
);

// The groups are flattened in an order that keeps upstream's `--help` sections in place: a
// section is listed where its first flag is declared. (A doc comment of more than one
// paragraph on an `Args` struct would become the command's long help: keep them short.)
/// Every setting, one struct per concern; field docs become the `--help` text.
#[derive(Clone, Debug, Args, Serialize)]
pub struct Config {
    #[command(flatten)]
    #[serde(flatten)]
    pub server: ServerConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub logging: LoggingConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub jwt: JwtConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub signup: SignupConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub passwordless: PasswordlessConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub sms: SmsConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub mfa: MfaConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub webauthn: WebauthnConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub security: SecurityConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub client: ClientAppConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub email: EmailConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub rate_limit: RateLimitConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub turnstile: TurnstileConfig,
    #[command(flatten)]
    #[serde(flatten)]
    pub id_tokens: IdTokenConfig,
    /// Upstream's OAuth providers ([`providers`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub providers: ProviderSettings,
    #[command(flatten)]
    #[serde(flatten)]
    pub metrics: MetricsConfig,
    /// Also `--graphql-url` and `--hasura-admin-secret`, the last flags of the JWT section.
    #[command(flatten)]
    #[serde(flatten)]
    pub hasura: HasuraConfig,
    /// The OAuth2/OIDC identity provider (Nhost Auth 0.46+).
    #[command(flatten)]
    #[serde(flatten)]
    pub oauth2_provider: OAuth2ProviderConfig,
    /// Our OAuth additions: provider endpoints, generic OpenID Connect ([`oauth`]).
    #[command(flatten)]
    #[serde(flatten)]
    pub oauth: oauth::OAuthExtras,
}

/// Flags this implementation adds to upstream's 150 (documented in docs/configuration.md).
pub const ADDED_FLAGS: &[&str] = &[
    "host",
    "metrics-address",
    "sms-twilio-api-url",
    "sms-twilio-verify-api-url",
    "sms-modica-api-url",
    "hasura-metadata-sync",
    "hasura-metadata-sync-timeout",
    "custom-claims-timeout",
    "hibp-url",
    "turnstile-url",
    "trusted-proxies",
    "rate-limit-redis-url",
    "rate-limit-redis-prefix",
    "smtp-postmark-api-url",
    "http-header-read-timeout",
    "http-body-read-timeout",
    "http-idle-timeout",
    "http-request-timeout",
    "http-max-connections",
    "shutdown-timeout",
    "postgres-pool-timeout",
    "postgres-statement-timeout",
    "postgres-transaction-pooler",
    "expired-session-cleanup-one-in",
    "migrate-to-latest",
    "refresh-reuse-detection",
    "refresh-reuse-interval",
    // Nhost Auth 0.50's, not v0.42's: counted with ours.
    "disable-auto-signup",
    "hasura-graphql-jwt-secrets",
    // Nhost Auth 0.43's, not v0.42's.
    "encryption-key",
    "upstream-generation",
    "audit-enabled",
    "audit-retention",
    "audit-webhook-url",
    "audit-webhook-secret",
    "lockout-max-failures",
    "lockout-duration",
    "lockout-max-duration",
    "lockout-reveal",
    "security-notifications",
    // Nhost Auth 0.52's, not v0.42's.
    "sms-generic-url",
    "sms-generic-content-type",
    "sms-generic-headers",
    "sms-generic-timeout",
    "sms-generic-body-template",
    "sms-dev-output-dir",
    // Nhost Auth 0.46's OAuth2/OIDC identity provider, not v0.42's.
    "oauth2-provider-enabled",
    "oauth2-provider-login-url",
    "oauth2-provider-access-token-ttl",
    "oauth2-provider-refresh-token-ttl",
    "oauth2-provider-cimd-enabled",
    "oauth2-provider-cimd-allow-insecure-transport",
    // Nhost's unreleased branch (reference §2.8): the device flow.
    "oauth2-provider-device-verify-url",
    "rate-limit-oauth2-server-burst",
    "rate-limit-oauth2-server-interval",
    // Ours: the built-in sign-in and consent page (docs/oidc-provider.md).
    "oauth2-provider-builtin-login-page",
];

impl Config {
    /// Parses flags and env vars the way the binary does (for tests and embedding): the same
    /// empty-env rules, error messages naming the env var, and env aliases as [`parse_cli`].
    pub fn from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = try_parse_cli_from(args)?;
        let (_, config) = cli.into_parts();
        Ok(config)
    }

    /// Upstream accepts `HASURA_GRAPHQL_DATABASE_URL` when `POSTGRES_CONNECTION` is unset
    /// (an empty `POSTGRES_CONNECTION` counts as unset). Idempotent.
    pub fn apply_env_aliases(&mut self) {
        let alias = std::env::var("HASURA_GRAPHQL_DATABASE_URL").ok();
        self.apply_database_url_alias(alias.as_deref());
    }

    /// Uses `alias` (the value of `HASURA_GRAPHQL_DATABASE_URL`) as the database URL when
    /// neither `--postgres` nor `POSTGRES_CONNECTION` gave a non-empty one.
    pub fn apply_database_url_alias(&mut self, alias: Option<&str>) {
        if self.database.postgres.as_ref().is_none_or(Secret::is_empty)
            && let Some(url) = alias.filter(|u| !u.is_empty())
        {
            self.database.postgres = Some(url.into());
        }
    }

    /// Whether a database URL was given explicitly (flag or either env var).
    pub fn database_url_is_explicit(&self) -> bool {
        self.database
            .postgres
            .as_ref()
            .is_some_and(|u| !u.is_empty())
    }

    /// The database URL (exposed: it may carry a password).
    pub fn database_url(&self) -> &str {
        self.database
            .postgres
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_POSTGRES_URL)
    }

    /// The migrations database URL (exposed), else [`Config::database_url`].
    pub fn migrations_database_url(&self) -> &str {
        self.database
            .postgres_migrations
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| self.database_url())
    }

    /// Allowed roles with empty items dropped and the default role appended.
    pub fn allowed_roles(&self) -> Vec<String> {
        let mut roles = parse::non_empty(&self.signup.default_allowed_roles);
        if !roles.contains(&self.signup.default_role) {
            roles.push(self.signup.default_role.clone());
        }
        roles
    }

    /// Allowed locales with empty items dropped and the default locale appended.
    pub fn allowed_locales(&self) -> Vec<String> {
        let mut locales = parse::non_empty(&self.signup.allowed_locales);
        if !locales.contains(&self.signup.default_locale) {
            locales.push(self.signup.default_locale.clone());
        }
        locales
    }

    /// Allowed email domains with empty items dropped.
    pub fn allowed_email_domains(&self) -> Vec<String> {
        parse::non_empty(&self.signup.allowed_email_domains)
    }

    /// Allowed email addresses with empty items dropped.
    pub fn allowed_emails(&self) -> Vec<String> {
        parse::non_empty(&self.signup.allowed_emails)
    }

    /// Blocked email domains with empty items dropped.
    pub fn block_email_domains(&self) -> Vec<String> {
        parse::non_empty(&self.signup.block_email_domains)
    }

    /// Blocked email addresses with empty items dropped.
    pub fn block_emails(&self) -> Vec<String> {
        parse::non_empty(&self.signup.block_emails)
    }

    /// Extra allowed redirect URL patterns with empty items dropped.
    pub fn allow_redirect_urls(&self) -> Vec<String> {
        parse::non_empty(&self.client.allow_redirect_urls)
    }

    /// `AUTH_JWT_CUSTOM_CLAIMS` as a JSON object (`None` when empty; validated at parse time).
    pub fn custom_claims_map(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        json_object_or_none(&self.jwt.custom_claims)
    }

    /// `AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS` as a JSON object (`None` when empty).
    pub fn custom_claims_defaults_map(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        json_object_or_none(&self.jwt.custom_claims_defaults)
    }

    /// WebAuthn relying party ID: the configured one, else the host name of the client URL.
    pub fn webauthn_rp_id(&self) -> String {
        if !self.webauthn.webauthn_rp_id.is_empty() {
            return self.webauthn.webauthn_rp_id.clone();
        }
        url::Url::parse(&self.client.client_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// WebAuthn relying party name: the configured one, else the relying party ID.
    pub fn webauthn_rp_name(&self) -> String {
        if self.webauthn.webauthn_rp_name.is_empty() {
            self.webauthn_rp_id()
        } else {
            self.webauthn.webauthn_rp_name.clone()
        }
    }

    /// WebAuthn origins with empty items dropped and the client URL appended if missing.
    pub fn webauthn_rp_origins(&self) -> Vec<String> {
        let mut origins = parse::non_empty(&self.webauthn.webauthn_rp_origins);
        if !self.client.client_url.is_empty() && !origins.contains(&self.client.client_url) {
            origins.push(self.client.client_url.clone());
        }
        origins
    }
}

fn json_object_or_none(text: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
