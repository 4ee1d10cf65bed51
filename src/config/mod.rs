//! Configuration: exactly upstream's flags and env vars, with the same defaults.
//!
//! Every setting is a `--flag` (upstream's flag name) and an env var (upstream's name).
//! Flags win over env vars, env vars over defaults. Values use upstream's syntax: Go
//! booleans (`true/1/t`), Go durations (`1m`), comma lists. A bad value stops start-up with
//! a message naming the env var and the flag ([`parse_cli`]). See docs/configuration.md.
//!
//! Layout: [`Config`] holds the core settings (one field per upstream flag) and
//! [`Config::providers`] the OAuth provider settings ([`providers`]). [`Config::settings`]
//! lists every value by flag name; [`settings::Settings::masked`] is what may be logged.

pub mod cli;
pub mod oauth;
pub mod parse;
pub mod providers;
pub mod settings;

use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};

pub use cli::{parse_cli, try_parse_cli_from};
pub use providers::OAuthProviders;
pub use settings::{MASK, Settings, is_sensitive};

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
}

impl Cli {
    /// The selected command and its configuration (`serve` when none was named).
    pub fn into_parts(self) -> (CommandKind, Config) {
        match self.command {
            None => (CommandKind::Serve, self.config),
            Some(Command::Serve(c)) => (CommandKind::Serve, c),
            Some(Command::Migrate(c)) => (CommandKind::Migrate, c),
            Some(Command::Healthcheck(c)) => (CommandKind::Healthcheck, c),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Serve,
    Migrate,
    Healthcheck,
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
    Dev,
}

impl SmsProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Twilio => "twilio",
            Self::Modica => "modica",
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

// Every setting; field docs become the `--help` text. `Debug` is implemented in
// `settings.rs` and masks secrets.
#[derive(Clone, Args)]
pub struct Config {
    // ---- server ----
    /// Prefix for every API route, e.g. /v1 (an un-prefixed /healthz is added too)
    #[arg(
        help_heading = "Server",
        long = "api-prefix",
        env = "AUTH_API_PREFIX",
        default_value = ""
    )]
    pub api_prefix: String,

    /// Port to listen on
    #[arg(
        help_heading = "Server",
        long = "port",
        env = "AUTH_PORT",
        default_value = "4000"
    )]
    pub port: String,

    /// Replace account-revealing errors by a generic invalid-request
    #[arg(help_heading = "Server", long = "conceal-errors", env = "AUTH_CONCEAL_ERRORS", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub conceal_errors: bool,

    /// Public URL of this service, including the API prefix (base of emailed links)
    #[arg(
        help_heading = "Server",
        long = "server-url",
        env = "AUTH_SERVER_URL",
        default_value = ""
    )]
    pub server_url: String,

    /// Register POST /change-env (test-only runtime reconfiguration)
    #[arg(help_heading = "Server", long = "enable-change-env", env = "AUTH_ENABLE_CHANGE_ENV", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enable_change_env: bool,

    // ---- general ----
    /// Debug logging
    #[arg(help_heading = "General", long = "debug", env = "AUTH_DEBUG", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub debug: bool,

    /// Human-readable text logs instead of JSON lines
    #[arg(help_heading = "General", long = "log-format-text", env = "AUTH_LOG_FORMAT_TEXT", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub log_format_text: bool,

    // ---- postgres ----
    /// PostgreSQL connection URL (env POSTGRES_CONNECTION, else HASURA_GRAPHQL_DATABASE_URL;
    /// default: postgres://postgres:postgres@localhost:5432/local?sslmode=disable)
    #[arg(
        help_heading = "Postgres",
        long = "postgres",
        env = "POSTGRES_CONNECTION",
        hide_env_values = true
    )]
    pub postgres: Option<String>,

    /// PostgreSQL URL used only to run migrations (needs rights to create extensions)
    #[arg(
        help_heading = "Postgres",
        long = "postgres-migrations",
        env = "POSTGRES_MIGRATIONS_CONNECTION",
        hide_env_values = true
    )]
    pub postgres_migrations: Option<String>,

    // ---- jwt ----
    /// Refresh token lifetime in seconds
    #[arg(
        help_heading = "JWT",
        long = "refresh-token-expires-in",
        env = "AUTH_REFRESH_TOKEN_EXPIRES_IN",
        default_value = "2592000",
        hide_env_values = true
    )]
    pub refresh_token_expires_in: i64,

    /// Access token lifetime in seconds
    #[arg(
        help_heading = "JWT",
        long = "access-tokens-expires-in",
        env = "AUTH_ACCESS_TOKEN_EXPIRES_IN",
        default_value = "900",
        hide_env_values = true
    )]
    pub access_tokens_expires_in: i64,

    /// JWT key as Hasura expects it: {"type":"HS256","key":"..."} (HS256/384/512, RS256/384/512)
    #[arg(
        help_heading = "JWT",
        long = "hasura-graphql-jwt-secret",
        env = "HASURA_GRAPHQL_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// Custom claims: JSON object {"claim":"path.in.user"}
    #[arg(help_heading = "JWT", long = "custom-claims", env = "AUTH_JWT_CUSTOM_CLAIMS", default_value = "",
          value_parser = parse::json_object)]
    pub custom_claims: String,

    /// Default values of custom claims: JSON object {"claim": value}
    #[arg(help_heading = "JWT", long = "custom-claims-defaults", env = "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS", default_value = "",
          value_parser = parse::json_object)]
    pub custom_claims_defaults: String,

    /// Hasura GraphQL endpoint (…/v1/graphql)
    #[arg(
        help_heading = "JWT",
        long = "graphql-url",
        env = "HASURA_GRAPHQL_GRAPHQL_URL",
        default_value = ""
    )]
    pub graphql_url: String,

    /// Hasura admin secret
    #[arg(
        help_heading = "JWT",
        long = "hasura-admin-secret",
        env = "HASURA_GRAPHQL_ADMIN_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub hasura_admin_secret: String,

    // ---- signup ----
    /// Every path that would create a user answers 403 signup-disabled
    #[arg(help_heading = "Sign-up", long = "disable-signup", env = "AUTH_DISABLE_SIGNUP", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_signup: bool,

    /// Roles a user may get (comma list); the default role is added
    #[arg(
        help_heading = "Sign-up",
        long = "default-allowed-roles",
        env = "AUTH_USER_DEFAULT_ALLOWED_ROLES",
        default_value = "me",
        value_delimiter = ','
    )]
    pub default_allowed_roles: Vec<String>,

    /// Default role of new users
    #[arg(
        help_heading = "Sign-up",
        long = "default-role",
        env = "AUTH_USER_DEFAULT_ROLE",
        default_value = "user"
    )]
    pub default_role: String,

    /// Default locale (2 letters); also the template fallback locale
    #[arg(
        help_heading = "Sign-up",
        long = "default-locale",
        env = "AUTH_LOCALE_DEFAULT",
        default_value = "en"
    )]
    pub default_locale: String,

    /// Allowed locales (comma list); the default locale is added
    #[arg(
        help_heading = "Sign-up",
        long = "allowed-locales",
        env = "AUTH_LOCALE_ALLOWED_LOCALES",
        default_value = "en",
        value_delimiter = ','
    )]
    pub allowed_locales: Vec<String>,

    /// New users are created disabled
    #[arg(help_heading = "Sign-up", long = "disable-new-users", env = "AUTH_DISABLE_NEW_USERS", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_new_users: bool,

    /// Set a Gravatar URL as avatar at sign-up
    #[arg(help_heading = "Sign-up", long = "gravatar-enabled", env = "AUTH_GRAVATAR_ENABLED", default_value = "true",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub gravatar_enabled: bool,

    /// Gravatar d= parameter
    #[arg(
        help_heading = "Sign-up",
        long = "gravatar-default",
        env = "AUTH_GRAVATAR_DEFAULT",
        default_value = "blank",
        value_enum
    )]
    pub gravatar_default: GravatarDefault,

    /// Gravatar r= parameter
    #[arg(
        help_heading = "Sign-up",
        long = "gravatar-rating",
        env = "AUTH_GRAVATAR_RATING",
        default_value = "g",
        value_enum
    )]
    pub gravatar_rating: GravatarRating,

    /// Users must verify their email before signing in
    #[arg(help_heading = "Sign-up", long = "email-verification-required", env = "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", default_value = "true",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub email_verification_required: bool,

    /// Minimum password length
    #[arg(
        help_heading = "Sign-up",
        long = "password-min-length",
        env = "AUTH_PASSWORD_MIN_LENGTH",
        default_value = "3",
        hide_env_values = true
    )]
    pub password_min_length: usize,

    /// Reject passwords found in Have I Been Pwned
    #[arg(help_heading = "Sign-up", long = "password-hibp-enabled", env = "AUTH_PASSWORD_HIBP_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set, hide_env_values = true)]
    pub password_hibp_enabled: bool,

    /// Blocked email domains (comma list, exact match)
    #[arg(
        help_heading = "Sign-up",
        long = "block-email-domains",
        env = "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
        value_delimiter = ','
    )]
    pub block_email_domains: Vec<String>,

    /// Blocked email addresses (comma list, exact match)
    #[arg(
        help_heading = "Sign-up",
        long = "block-emails",
        env = "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS",
        value_delimiter = ','
    )]
    pub block_emails: Vec<String>,

    /// Allowed email domains (comma list); when set, other domains are rejected
    #[arg(
        help_heading = "Sign-up",
        long = "allowed-email-domains",
        env = "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
        value_delimiter = ','
    )]
    pub allowed_email_domains: Vec<String>,

    /// Allowed email addresses (comma list); when set, other addresses are rejected
    #[arg(
        help_heading = "Sign-up",
        long = "allowed-emails",
        env = "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS",
        value_delimiter = ','
    )]
    pub allowed_emails: Vec<String>,

    /// Enable anonymous sign-in
    #[arg(help_heading = "Sign-up", long = "enable-anonymous-users", env = "AUTH_ANONYMOUS_USERS_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enable_anonymous_users: bool,

    // ---- signin ----
    /// Enable passwordless sign-in with email magic links
    #[arg(help_heading = "Sign-in", long = "email-passwordless-enabled", env = "AUTH_EMAIL_PASSWORDLESS_ENABLED",
          default_value = "false", hide_env_values = true,
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub email_passwordless_enabled: bool,

    // ---- otp ----
    /// Enable sign-in with one-time codes sent by email
    #[arg(help_heading = "OTP", long = "otp-email-enabled", env = "AUTH_OTP_EMAIL_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub otp_email_enabled: bool,

    // ---- sms ----
    /// Enable passwordless sign-in with codes sent by SMS
    #[arg(help_heading = "SMS", long = "sms-passwordless-enabled", env = "AUTH_SMS_PASSWORDLESS_ENABLED",
          default_value = "false", hide_env_values = true,
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub sms_passwordless_enabled: bool,

    /// SMS provider: twilio, modica or dev (case-insensitive; empty means twilio)
    #[arg(help_heading = "SMS", long = "sms-provider", env = "AUTH_SMS_PROVIDER", default_value = "twilio",
          value_parser = parse::sms_provider)]
    pub sms_provider: SmsProvider,

    /// Twilio account SID (an SID starting with VA selects the Twilio Verify API)
    #[arg(
        help_heading = "SMS",
        long = "sms-twilio-account-sid",
        env = "AUTH_SMS_TWILIO_ACCOUNT_SID",
        default_value = ""
    )]
    pub sms_twilio_account_sid: String,

    /// Twilio auth token
    #[arg(
        help_heading = "SMS",
        long = "sms-twilio-auth-token",
        env = "AUTH_SMS_TWILIO_AUTH_TOKEN",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub sms_twilio_auth_token: String,

    /// Twilio messaging service ID (sender), or the Verify service SID in Verify mode
    #[arg(
        help_heading = "SMS",
        long = "sms-twilio-messaging-service-id",
        env = "AUTH_SMS_TWILIO_MESSAGING_SERVICE_ID",
        default_value = ""
    )]
    pub sms_twilio_messaging_service_id: String,

    /// Modica username
    #[arg(
        help_heading = "SMS",
        long = "sms-modica-username",
        env = "AUTH_SMS_MODICA_USERNAME",
        default_value = ""
    )]
    pub sms_modica_username: String,

    /// Modica password
    #[arg(
        help_heading = "SMS",
        long = "sms-modica-password",
        env = "AUTH_SMS_MODICA_PASSWORD",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub sms_modica_password: String,

    // Our additions (not upstream's): where the SMS providers' HTTP APIs live, so a
    // proxy or a test server can stand in for them. Listed in ADDED_FLAGS.
    /// Base URL of the Twilio Messages API (our addition)
    #[arg(
        help_heading = "SMS",
        long = "sms-twilio-api-url",
        env = "AUTH_SMS_TWILIO_API_URL",
        default_value = "https://api.twilio.com"
    )]
    pub sms_twilio_api_url: String,

    /// Base URL of the Twilio Verify API (our addition)
    #[arg(
        help_heading = "SMS",
        long = "sms-twilio-verify-api-url",
        env = "AUTH_SMS_TWILIO_VERIFY_API_URL",
        default_value = "https://verify.twilio.com"
    )]
    pub sms_twilio_verify_api_url: String,

    /// Base URL of the Modica SMS API (our addition)
    #[arg(
        help_heading = "SMS",
        long = "sms-modica-api-url",
        env = "AUTH_SMS_MODICA_API_URL",
        default_value = "https://api.modicagroup.com"
    )]
    pub sms_modica_api_url: String,

    // ---- mfa ----
    /// Enable TOTP multi-factor authentication endpoints
    #[arg(help_heading = "MFA", long = "mfa-enabled", env = "AUTH_MFA_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub mfa_enabled: bool,

    /// Issuer name shown in authenticator apps
    #[arg(
        help_heading = "MFA",
        long = "mfa-totp-issuer",
        env = "AUTH_MFA_TOTP_ISSUER",
        default_value = "auth"
    )]
    pub mfa_totp_issuer: String,

    // ---- webauthn ----
    /// Enable WebAuthn (security keys, passkeys) sign-up, sign-in and elevation
    #[arg(help_heading = "WebAuthn", long = "webauthn-enabled", env = "AUTH_WEBAUTHN_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub webauthn_enabled: bool,

    /// Relying party display name (default: the relying party ID)
    #[arg(
        help_heading = "WebAuthn",
        long = "webauthn-rp-name",
        env = "AUTH_WEBAUTHN_RP_NAME",
        default_value = ""
    )]
    pub webauthn_rp_name: String,

    /// Relying party ID (default: host name of the client URL)
    #[arg(
        help_heading = "WebAuthn",
        long = "webauthn-rp-id",
        env = "AUTH_WEBAUTHN_RP_ID",
        default_value = ""
    )]
    pub webauthn_rp_id: String,

    /// Allowed origins (comma list); the client URL is always added
    #[arg(
        help_heading = "WebAuthn",
        long = "webauthn-rp-origins",
        env = "AUTH_WEBAUTHN_RP_ORIGINS",
        value_delimiter = ','
    )]
    pub webauthn_rp_origins: Vec<String>,

    /// Ceremony timeout in milliseconds
    #[arg(
        help_heading = "WebAuthn",
        long = "webauthn-attestation-timeout",
        env = "AUTH_WEBAUTHN_ATTESTATION_TIMEOUT",
        default_value = "60000"
    )]
    pub webauthn_attestation_timeout: u64,

    // ---- security ----
    /// When elevated endpoints demand the x-hasura-auth-elevated claim
    #[arg(
        help_heading = "Security",
        long = "require-elevated-claim",
        env = "AUTH_REQUIRE_ELEVATED_CLAIM",
        default_value = "disabled",
        value_enum
    )]
    pub require_elevated_claim: ElevatedClaimMode,

    // ---- application ----
    /// Front-end URL: default redirect target, always an allowed redirect base
    #[arg(
        help_heading = "Application",
        long = "client-url",
        env = "AUTH_CLIENT_URL",
        default_value = ""
    )]
    pub client_url: String,

    /// Extra allowed redirect URL patterns (comma list of globs)
    #[arg(
        help_heading = "Application",
        long = "allow-redirect-urls",
        env = "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
        value_delimiter = ','
    )]
    pub allow_redirect_urls: Vec<String>,

    // ---- email ----
    /// Folder of custom email templates: LOCALE/TEMPLATE/subject.txt and body.html
    #[arg(
        help_heading = "Email",
        long = "templates-path",
        env = "AUTH_EMAIL_TEMPLATES_PATH",
        default_value = "/app/email-templates"
    )]
    pub templates_path: String,

    // ---- smtp ----
    /// SMTP host ("postmark" selects the Postmark API); empty prints emails to the log
    #[arg(
        help_heading = "SMTP",
        long = "smtp-host",
        env = "AUTH_SMTP_HOST",
        default_value = ""
    )]
    pub smtp_host: String,

    /// SMTP port
    #[arg(
        help_heading = "SMTP",
        long = "smtp-port",
        env = "AUTH_SMTP_PORT",
        default_value = "587"
    )]
    pub smtp_port: u16,

    /// Connect with implicit TLS (port 465 style); otherwise STARTTLS when offered
    #[arg(help_heading = "SMTP", long = "smtp-secure", env = "AUTH_SMTP_SECURE", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub smtp_secure: bool,

    /// SMTP user
    #[arg(
        help_heading = "SMTP",
        long = "smtp-user",
        env = "AUTH_SMTP_USER",
        default_value = ""
    )]
    pub smtp_user: String,

    /// SMTP password (also the Postmark server token)
    #[arg(
        help_heading = "SMTP",
        long = "smtp-password",
        env = "AUTH_SMTP_PASS",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub smtp_password: String,

    /// From: address of outgoing emails
    #[arg(
        help_heading = "SMTP",
        long = "smtp-sender",
        env = "AUTH_SMTP_SENDER",
        default_value = ""
    )]
    pub smtp_sender: String,

    /// Value of an X-SMTPAPI header added to every email
    #[arg(
        help_heading = "SMTP",
        long = "smtp-api-header",
        env = "AUTH_SMTP_X_SMTPAPI_HEADER",
        default_value = ""
    )]
    pub smtp_api_header: String,

    /// SMTP authentication mechanism
    #[arg(
        help_heading = "SMTP",
        long = "smtp-auth-method",
        env = "AUTH_SMTP_AUTH_METHOD",
        default_value = "PLAIN",
        value_enum
    )]
    pub smtp_auth_method: SmtpAuthMethod,

    /// Base URL of the Postmark API used when the SMTP host is "postmark" (our addition,
    /// for tests and proxies)
    #[arg(
        help_heading = "SMTP",
        long = "smtp-postmark-api-url",
        env = "AUTH_SMTP_POSTMARK_API_URL",
        default_value = "https://api.postmarkapp.com"
    )]
    pub smtp_postmark_api_url: String,

    // ---- rate-limit ----
    /// Enable rate limiting
    #[arg(help_heading = "Rate limiting", long = "rate-limit-enable", env = "AUTH_RATE_LIMIT_ENABLE", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub rate_limit_enable: bool,

    /// Requests allowed per client per global interval
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-global-burst",
        env = "AUTH_RATE_LIMIT_GLOBAL_BURST",
        default_value = "100"
    )]
    pub rate_limit_global_burst: u32,

    /// Window of the global limit
    #[arg(help_heading = "Rate limiting", long = "rate-limit-global-interval", env = "AUTH_RATE_LIMIT_GLOBAL_INTERVAL", default_value = "1m",
          value_parser = parse::go_duration)]
    pub rate_limit_global_interval: Duration,

    /// Emails allowed per email interval
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-email-burst",
        env = "AUTH_RATE_LIMIT_EMAIL_BURST",
        default_value = "10"
    )]
    pub rate_limit_email_burst: u32,

    /// Window of the email limit
    #[arg(help_heading = "Rate limiting", long = "rate-limit-email-interval", env = "AUTH_RATE_LIMIT_EMAIL_INTERVAL", default_value = "1h",
          value_parser = parse::go_duration)]
    pub rate_limit_email_interval: Duration,

    /// Count emails for the whole service instead of per client
    #[arg(help_heading = "Rate limiting", long = "rate-limit-email-is-global", env = "AUTH_RATE_LIMIT_EMAIL_IS_GLOBAL",
          default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub rate_limit_email_is_global: bool,

    /// SMS allowed per client per SMS interval
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-sms-burst",
        env = "AUTH_RATE_LIMIT_SMS_BURST",
        default_value = "10"
    )]
    pub rate_limit_sms_burst: u32,

    /// Window of the SMS limit
    #[arg(help_heading = "Rate limiting", long = "rate-limit-sms-interval", env = "AUTH_RATE_LIMIT_SMS_INTERVAL", default_value = "1h",
          value_parser = parse::go_duration)]
    pub rate_limit_sms_interval: Duration,

    /// Code/ticket verification attempts allowed per client per interval
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-brute-force-burst",
        env = "AUTH_RATE_LIMIT_BRUTE_FORCE_BURST",
        default_value = "10"
    )]
    pub rate_limit_brute_force_burst: u32,

    /// Window of the brute-force limit
    #[arg(help_heading = "Rate limiting", long = "rate-limit-brute-force-interval", env = "AUTH_RATE_LIMIT_BRUTE_FORCE_INTERVAL", default_value = "5m",
          value_parser = parse::go_duration)]
    pub rate_limit_brute_force_interval: Duration,

    /// Sign-ups allowed per client per sign-up interval
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-signups-burst",
        env = "AUTH_RATE_LIMIT_SIGNUPS_BURST",
        default_value = "10"
    )]
    pub rate_limit_signups_burst: u32,

    /// Window of the sign-up limit
    #[arg(help_heading = "Rate limiting", long = "rate-limit-signups-interval", env = "AUTH_RATE_LIMIT_SIGNUPS_INTERVAL", default_value = "5m",
          value_parser = parse::go_duration)]
    pub rate_limit_signups_interval: Duration,

    /// Memcached server (host:port) holding the counters; empty keeps them in memory
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-memcache-server",
        env = "AUTH_RATE_LIMIT_MEMCACHE_SERVER",
        default_value = ""
    )]
    pub rate_limit_memcache_server: String,

    /// Key prefix of the counters in memcached
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-memcache-prefix",
        env = "AUTH_RATE_LIMIT_MEMCACHE_PREFIX",
        default_value = ""
    )]
    pub rate_limit_memcache_prefix: String,

    // ---- turnstile ----
    /// Cloudflare Turnstile secret; when set, sign-up requests need a Turnstile response
    #[arg(
        help_heading = "Turnstile",
        long = "turnstile-secret",
        env = "AUTH_TURNSTILE_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub turnstile_secret: String,

    // ---- apple / google (id tokens) ----
    /// Expected audience of Apple id tokens; enables provider=apple for id-token sign-in
    #[arg(
        help_heading = "ID tokens",
        long = "apple-audience",
        env = "AUTH_PROVIDER_APPLE_AUDIENCE",
        default_value = ""
    )]
    pub apple_audience: String,

    /// Expected audience of Google id tokens; enables provider=google for id-token sign-in
    #[arg(
        help_heading = "ID tokens",
        long = "google-audience",
        env = "AUTH_PROVIDER_GOOGLE_AUDIENCE",
        default_value = ""
    )]
    pub google_audience: String,

    // ---- oauth providers ----
    #[command(flatten)]
    pub providers: OAuthProviders,

    // ---- additions of this implementation (not in upstream; listed in ADDED_FLAGS) ----
    /// Address (host:port) of a separate listener serving Prometheus metrics at /metrics;
    /// empty disables it. Bind it to loopback or a private network: it has no authentication
    #[arg(
        help_heading = "Observability",
        long = "metrics-address",
        env = "AUTH_METRICS_ADDRESS",
        default_value = ""
    )]
    pub metrics_address: String,

    /// Track the auth tables in Hasura at start-up (needs --graphql-url); false skips it
    #[arg(help_heading = "Hasura", long = "hasura-metadata-sync", env = "AUTH_HASURA_METADATA_SYNC", default_value = "true",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub hasura_metadata_sync: bool,

    /// How long start-up keeps retrying the metadata sync while Hasura is unreachable
    #[arg(help_heading = "Hasura", long = "hasura-metadata-sync-timeout", env = "AUTH_HASURA_METADATA_SYNC_TIMEOUT",
          default_value = "1m", value_parser = parse::go_duration)]
    pub hasura_metadata_sync_timeout: Duration,

    /// Time limit of the custom-claims GraphQL request; on failure the defaults are used
    #[arg(help_heading = "Hasura", long = "custom-claims-timeout", env = "AUTH_JWT_CUSTOM_CLAIMS_TIMEOUT",
          default_value = "5s", value_parser = parse::go_duration)]
    pub custom_claims_timeout: Duration,

    /// Base URL of the Have I Been Pwned range API
    #[arg(
        help_heading = "Sign-up",
        long = "hibp-url",
        env = "AUTH_HIBP_URL",
        default_value = "https://api.pwnedpasswords.com"
    )]
    pub hibp_url: String,

    /// Cloudflare Turnstile verification endpoint
    #[arg(
        help_heading = "Turnstile",
        long = "turnstile-url",
        env = "AUTH_TURNSTILE_URL",
        default_value = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    )]
    pub turnstile_url: String,

    /// Proxies (IPs or CIDRs, comma list) whose X-Forwarded-For is trusted; empty trusts none
    #[arg(
        help_heading = "Rate limiting",
        long = "trusted-proxies",
        env = "AUTH_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,

    // ---- our additions: provider endpoints, generic OpenID Connect (config/oauth.rs) ----
    #[command(flatten)]
    pub oauth: oauth::OAuthExtras,
}

/// Flags this implementation adds to upstream's 150 (documented in docs/configuration.md).
pub const ADDED_FLAGS: &[&str] = &[
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
    "smtp-postmark-api-url",
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
        if self.postgres.as_deref().is_none_or(str::is_empty)
            && let Some(url) = alias.filter(|u| !u.is_empty())
        {
            self.postgres = Some(url.to_owned());
        }
    }

    /// Whether a database URL was given explicitly (flag or either env var).
    pub fn database_url_is_explicit(&self) -> bool {
        self.postgres.as_deref().is_some_and(|u| !u.is_empty())
    }

    pub fn database_url(&self) -> &str {
        self.postgres
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(DEFAULT_POSTGRES_URL)
    }

    pub fn migrations_database_url(&self) -> &str {
        self.postgres_migrations
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| self.database_url())
    }

    /// Allowed roles with empty items dropped and the default role appended.
    pub fn allowed_roles(&self) -> Vec<String> {
        let mut roles = parse::non_empty(&self.default_allowed_roles);
        if !roles.contains(&self.default_role) {
            roles.push(self.default_role.clone());
        }
        roles
    }

    /// Allowed locales with empty items dropped and the default locale appended.
    pub fn allowed_locales(&self) -> Vec<String> {
        let mut locales = parse::non_empty(&self.allowed_locales);
        if !locales.contains(&self.default_locale) {
            locales.push(self.default_locale.clone());
        }
        locales
    }

    /// Allowed email domains with empty items dropped.
    pub fn allowed_email_domains(&self) -> Vec<String> {
        parse::non_empty(&self.allowed_email_domains)
    }

    /// Allowed email addresses with empty items dropped.
    pub fn allowed_emails(&self) -> Vec<String> {
        parse::non_empty(&self.allowed_emails)
    }

    /// Blocked email domains with empty items dropped.
    pub fn block_email_domains(&self) -> Vec<String> {
        parse::non_empty(&self.block_email_domains)
    }

    /// Blocked email addresses with empty items dropped.
    pub fn block_emails(&self) -> Vec<String> {
        parse::non_empty(&self.block_emails)
    }

    /// Extra allowed redirect URL patterns with empty items dropped.
    pub fn allow_redirect_urls(&self) -> Vec<String> {
        parse::non_empty(&self.allow_redirect_urls)
    }

    /// `AUTH_JWT_CUSTOM_CLAIMS` as a JSON object (`None` when empty; validated at parse time).
    pub fn custom_claims_map(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        json_object_or_none(&self.custom_claims)
    }

    /// `AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS` as a JSON object (`None` when empty).
    pub fn custom_claims_defaults_map(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        json_object_or_none(&self.custom_claims_defaults)
    }

    /// WebAuthn relying party ID: the configured one, else the host name of the client URL.
    pub fn webauthn_rp_id(&self) -> String {
        if !self.webauthn_rp_id.is_empty() {
            return self.webauthn_rp_id.clone();
        }
        url::Url::parse(&self.client_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// WebAuthn relying party name: the configured one, else the relying party ID.
    pub fn webauthn_rp_name(&self) -> String {
        if self.webauthn_rp_name.is_empty() {
            self.webauthn_rp_id()
        } else {
            self.webauthn_rp_name.clone()
        }
    }

    /// WebAuthn origins with empty items dropped and the client URL appended if missing.
    pub fn webauthn_rp_origins(&self) -> Vec<String> {
        let mut origins = parse::non_empty(&self.webauthn_rp_origins);
        if !self.client_url.is_empty() && !origins.contains(&self.client_url) {
            origins.push(self.client_url.clone());
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
