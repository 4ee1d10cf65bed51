//! Configuration: exactly upstream's flags and env vars, with the same defaults.
//!
//! Every setting is a `--flag` (upstream's flag name) and an env var (upstream's name).
//! Flags win over env vars. Values use upstream's syntax: Go booleans (`true/1/t`), Go
//! durations (`1m`), comma lists. A bad value stops start-up with a message naming the
//! variable (clap reports the flag and its env var).

pub mod parse;

use clap::{ArgAction, Args, Parser, Subcommand};

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default when no subcommand is given).
    Serve(Config),
    /// Apply the database migrations and exit.
    Migrate(Config),
}

impl Cli {
    /// The selected command and its configuration (`serve` when none was named).
    pub fn into_parts(self) -> (CommandKind, Config) {
        match self.command {
            None => (CommandKind::Serve, self.config),
            Some(Command::Serve(c)) => (CommandKind::Serve, c),
            Some(Command::Migrate(c)) => (CommandKind::Migrate, c),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Serve,
    Migrate,
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

/// Every setting. Field docs become the `--help` text.
#[derive(Debug, Clone, Args)]
pub struct Config {
    // ---- server ----
    /// Prefix for every API route, e.g. /v1 (an un-prefixed /healthz is added too)
    #[arg(long = "api-prefix", env = "AUTH_API_PREFIX", default_value = "")]
    pub api_prefix: String,

    /// Port to listen on
    #[arg(long = "port", env = "AUTH_PORT", default_value = "4000")]
    pub port: String,

    /// Replace account-revealing errors by a generic invalid-request
    #[arg(long = "conceal-errors", env = "AUTH_CONCEAL_ERRORS", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub conceal_errors: bool,

    /// Public URL of this service, including the API prefix (base of emailed links)
    #[arg(long = "server-url", env = "AUTH_SERVER_URL", default_value = "")]
    pub server_url: String,

    /// Register POST /change-env (test-only runtime reconfiguration)
    #[arg(long = "enable-change-env", env = "AUTH_ENABLE_CHANGE_ENV", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enable_change_env: bool,

    // ---- general ----
    /// Debug logging
    #[arg(long = "debug", env = "AUTH_DEBUG", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub debug: bool,

    /// Human-readable text logs instead of JSON lines
    #[arg(long = "log-format-text", env = "AUTH_LOG_FORMAT_TEXT", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub log_format_text: bool,

    // ---- postgres ----
    /// PostgreSQL connection URL (env POSTGRES_CONNECTION, or HASURA_GRAPHQL_DATABASE_URL)
    /// [default: postgres://postgres:postgres@localhost:5432/local?sslmode=disable]
    #[arg(long = "postgres", env = "POSTGRES_CONNECTION", hide_env_values = true)]
    pub postgres: Option<String>,

    /// PostgreSQL URL used only to run migrations (needs rights to create extensions)
    #[arg(
        long = "postgres-migrations",
        env = "POSTGRES_MIGRATIONS_CONNECTION",
        hide_env_values = true
    )]
    pub postgres_migrations: Option<String>,

    // ---- jwt ----
    /// Refresh token lifetime in seconds
    #[arg(
        long = "refresh-token-expires-in",
        env = "AUTH_REFRESH_TOKEN_EXPIRES_IN",
        default_value = "2592000"
    )]
    pub refresh_token_expires_in: i64,

    /// Access token lifetime in seconds
    #[arg(
        long = "access-tokens-expires-in",
        env = "AUTH_ACCESS_TOKEN_EXPIRES_IN",
        default_value = "900"
    )]
    pub access_tokens_expires_in: i64,

    /// JWT key as Hasura expects it: {"type":"HS256","key":"..."} (HS256/384/512, RS256/384/512)
    #[arg(
        long = "hasura-graphql-jwt-secret",
        env = "HASURA_GRAPHQL_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,

    /// Custom claims: JSON object {"claim":"path.in.user"}
    #[arg(
        long = "custom-claims",
        env = "AUTH_JWT_CUSTOM_CLAIMS",
        default_value = ""
    )]
    pub custom_claims: String,

    /// Default values of custom claims: JSON object {"claim": value}
    #[arg(
        long = "custom-claims-defaults",
        env = "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS",
        default_value = ""
    )]
    pub custom_claims_defaults: String,

    /// Hasura GraphQL endpoint (…/v1/graphql)
    #[arg(
        long = "graphql-url",
        env = "HASURA_GRAPHQL_GRAPHQL_URL",
        default_value = ""
    )]
    pub graphql_url: String,

    /// Hasura admin secret
    #[arg(
        long = "hasura-admin-secret",
        env = "HASURA_GRAPHQL_ADMIN_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub hasura_admin_secret: String,

    // ---- signup ----
    /// Every path that would create a user answers 403 signup-disabled
    #[arg(long = "disable-signup", env = "AUTH_DISABLE_SIGNUP", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_signup: bool,

    /// Roles a user may get (comma list); the default role is added
    #[arg(
        long = "default-allowed-roles",
        env = "AUTH_USER_DEFAULT_ALLOWED_ROLES",
        default_value = "me",
        value_delimiter = ','
    )]
    pub default_allowed_roles: Vec<String>,

    /// Default role of new users
    #[arg(
        long = "default-role",
        env = "AUTH_USER_DEFAULT_ROLE",
        default_value = "user"
    )]
    pub default_role: String,

    /// Default locale (2 letters); also the template fallback locale
    #[arg(
        long = "default-locale",
        env = "AUTH_LOCALE_DEFAULT",
        default_value = "en"
    )]
    pub default_locale: String,

    /// Allowed locales (comma list); the default locale is added
    #[arg(
        long = "allowed-locales",
        env = "AUTH_LOCALE_ALLOWED_LOCALES",
        default_value = "en",
        value_delimiter = ','
    )]
    pub allowed_locales: Vec<String>,

    /// New users are created disabled
    #[arg(long = "disable-new-users", env = "AUTH_DISABLE_NEW_USERS", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub disable_new_users: bool,

    /// Set a Gravatar URL as avatar at sign-up
    #[arg(long = "gravatar-enabled", env = "AUTH_GRAVATAR_ENABLED", default_value = "true",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub gravatar_enabled: bool,

    /// Gravatar d= parameter
    #[arg(
        long = "gravatar-default",
        env = "AUTH_GRAVATAR_DEFAULT",
        default_value = "blank",
        value_enum
    )]
    pub gravatar_default: GravatarDefault,

    /// Gravatar r= parameter
    #[arg(
        long = "gravatar-rating",
        env = "AUTH_GRAVATAR_RATING",
        default_value = "g",
        value_enum
    )]
    pub gravatar_rating: GravatarRating,

    /// Users must verify their email before signing in
    #[arg(long = "email-verification-required", env = "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED", default_value = "true",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub email_verification_required: bool,

    /// Minimum password length
    #[arg(
        long = "password-min-length",
        env = "AUTH_PASSWORD_MIN_LENGTH",
        default_value = "3"
    )]
    pub password_min_length: usize,

    /// Reject passwords found in Have I Been Pwned
    #[arg(long = "password-hibp-enabled", env = "AUTH_PASSWORD_HIBP_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub password_hibp_enabled: bool,

    /// Blocked email domains (comma list, exact match)
    #[arg(
        long = "block-email-domains",
        env = "AUTH_ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
        value_delimiter = ','
    )]
    pub block_email_domains: Vec<String>,

    /// Blocked email addresses (comma list, exact match)
    #[arg(
        long = "block-emails",
        env = "AUTH_ACCESS_CONTROL_BLOCKED_EMAILS",
        value_delimiter = ','
    )]
    pub block_emails: Vec<String>,

    /// Allowed email domains (comma list); when set, other domains are rejected
    #[arg(
        long = "allowed-email-domains",
        env = "AUTH_ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
        value_delimiter = ','
    )]
    pub allowed_email_domains: Vec<String>,

    /// Allowed email addresses (comma list); when set, other addresses are rejected
    #[arg(
        long = "allowed-emails",
        env = "AUTH_ACCESS_CONTROL_ALLOWED_EMAILS",
        value_delimiter = ','
    )]
    pub allowed_emails: Vec<String>,

    /// Enable anonymous sign-in
    #[arg(long = "enable-anonymous-users", env = "AUTH_ANONYMOUS_USERS_ENABLED", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enable_anonymous_users: bool,

    // ---- application ----
    /// Front-end URL: default redirect target, always an allowed redirect base
    #[arg(long = "client-url", env = "AUTH_CLIENT_URL", default_value = "")]
    pub client_url: String,

    /// Extra allowed redirect URL patterns (comma list of globs)
    #[arg(
        long = "allow-redirect-urls",
        env = "AUTH_ACCESS_CONTROL_ALLOWED_REDIRECT_URLS",
        value_delimiter = ','
    )]
    pub allow_redirect_urls: Vec<String>,

    // ---- email ----
    /// Folder of custom email templates (<locale>/<template>/{subject.txt,body.html})
    #[arg(
        long = "templates-path",
        env = "AUTH_EMAIL_TEMPLATES_PATH",
        default_value = "/app/email-templates"
    )]
    pub templates_path: String,

    // ---- smtp ----
    /// SMTP host ("postmark" selects the Postmark API); empty prints emails to the log
    #[arg(long = "smtp-host", env = "AUTH_SMTP_HOST", default_value = "")]
    pub smtp_host: String,

    /// SMTP port
    #[arg(long = "smtp-port", env = "AUTH_SMTP_PORT", default_value = "587")]
    pub smtp_port: u16,

    /// Connect with implicit TLS (port 465 style); otherwise STARTTLS when offered
    #[arg(long = "smtp-secure", env = "AUTH_SMTP_SECURE", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub smtp_secure: bool,

    /// SMTP user
    #[arg(long = "smtp-user", env = "AUTH_SMTP_USER", default_value = "")]
    pub smtp_user: String,

    /// SMTP password (also the Postmark server token)
    #[arg(
        long = "smtp-password",
        env = "AUTH_SMTP_PASS",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub smtp_password: String,

    /// From: address of outgoing emails
    #[arg(long = "smtp-sender", env = "AUTH_SMTP_SENDER", default_value = "")]
    pub smtp_sender: String,

    /// Value of an X-SMTPAPI header added to every email
    #[arg(
        long = "smtp-api-header",
        env = "AUTH_SMTP_X_SMTPAPI_HEADER",
        default_value = ""
    )]
    pub smtp_api_header: String,

    /// SMTP authentication mechanism
    #[arg(
        long = "smtp-auth-method",
        env = "AUTH_SMTP_AUTH_METHOD",
        default_value = "PLAIN",
        value_enum
    )]
    pub smtp_auth_method: SmtpAuthMethod,
}

impl Config {
    /// Parses flags and env vars the way the binary does (for tests and embedding).
    pub fn from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(args)?;
        let (_, mut config) = cli.into_parts();
        config.apply_env_aliases();
        Ok(config)
    }

    /// Upstream accepts `HASURA_GRAPHQL_DATABASE_URL` when `POSTGRES_CONNECTION` is unset.
    pub fn apply_env_aliases(&mut self) {
        if self.postgres.is_none()
            && let Ok(url) = std::env::var("HASURA_GRAPHQL_DATABASE_URL")
            && !url.is_empty()
        {
            self.postgres = Some(url);
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
}
