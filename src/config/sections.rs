//! The settings of [`Config`], one struct per concern, each flattened into it.
//!
//! Every field is one upstream flag: its `--flag`, env var, default and `--help` text are
//! written here and nowhere else. Booleans use Go's syntax through [`GoBoolArg::go_bool`], whose argument is
//! the default. A struct may hold flags of two `--help` sections, and an addition of ours
//! sits at the end of its section: `--help` lists sections in the order of their first flag.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Secret;
use super::flag_values::go_duration;
use super::parse::{self, GoBoolArg};
use super::{ElevatedClaimMode, GravatarDefault, GravatarRating, SmsProvider, SmtpAuthMethod};

/// Server: where and how the API is served.
#[derive(Clone, Debug, Args, Serialize)]
pub struct ServerConfig {
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

    /// Address to listen on, e.g. 127.0.0.1 or :: (our addition); empty: every interface
    /// (upstream's), or 127.0.0.1 in development mode
    #[arg(
        help_heading = "Server",
        long = "host",
        env = "AUTH_HOST",
        default_value = ""
    )]
    pub host: String,

    /// Replace account-revealing errors by a generic invalid-request
    #[arg(
        help_heading = "Server",
        long = "conceal-errors",
        env = "AUTH_CONCEAL_ERRORS",
        go_bool = "false"
    )]
    pub conceal_errors: bool,

    /// Upstream contract to serve: auto (the generation of the database found at start-up: v0.42 for a schema at 1-18, 0.52 for 19 or later and for an empty database), 0.42 or 0.52
    #[arg(help_heading = "Server", long = "upstream-generation", env = "AUTH_UPSTREAM_GENERATION",
          default_value = "auto", value_parser = crate::contract::UpstreamGeneration::parse)]
    #[serde(serialize_with = "generation_str")]
    pub upstream_generation: crate::contract::UpstreamGeneration,

    /// Public URL of this service, including the API prefix (base of emailed links)
    #[arg(
        help_heading = "Server",
        long = "server-url",
        env = "AUTH_SERVER_URL",
        default_value = ""
    )]
    pub server_url: String,

    /// Register POST /change-env (test-only runtime reconfiguration)
    #[arg(
        help_heading = "Server",
        long = "enable-change-env",
        env = "AUTH_ENABLE_CHANGE_ENV",
        go_bool = "false"
    )]
    pub enable_change_env: bool,

    /// Time a client has to send a request's headers once their first byte arrived
    #[arg(help_heading = "Server", long = "http-header-read-timeout", env = "AUTH_HTTP_HEADER_READ_TIMEOUT",
          default_value = "10s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub http_header_read_timeout: Duration,

    /// Time a client has to send a request's whole body once its headers arrived
    #[arg(help_heading = "Server", long = "http-body-read-timeout", env = "AUTH_HTTP_BODY_READ_TIMEOUT",
          default_value = "10s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub http_body_read_timeout: Duration,

    /// How long a connection may wait for its next request (after connecting, or after the
    /// previous response) before it is closed
    #[arg(help_heading = "Server", long = "http-idle-timeout", env = "AUTH_HTTP_IDLE_TIMEOUT",
          default_value = "75s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub http_idle_timeout: Duration,

    /// Time limit of one request, from its headers to its response; beyond it the answer is
    /// 503 service-unavailable
    #[arg(help_heading = "Server", long = "http-request-timeout", env = "AUTH_HTTP_REQUEST_TIMEOUT",
          default_value = "30s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub http_request_timeout: Duration,

    /// Open client connections at most; beyond it new connections wait in the listen queue
    #[arg(
        help_heading = "Server",
        long = "http-max-connections",
        env = "AUTH_HTTP_MAX_CONNECTIONS",
        default_value = "10000",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub http_max_connections: u32,

    /// After SIGTERM, how long in-flight requests may take to finish before the process exits
    #[arg(help_heading = "Server", long = "shutdown-timeout", env = "AUTH_SHUTDOWN_TIMEOUT",
          default_value = "25s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub shutdown_timeout: Duration,
}

/// Logging.
#[derive(Clone, Debug, Args, Serialize)]
pub struct LoggingConfig {
    /// Debug logging
    #[arg(
        help_heading = "General",
        long = "debug",
        env = "AUTH_DEBUG",
        go_bool = "false"
    )]
    pub debug: bool,

    /// Human-readable text logs instead of JSON lines (unset: JSON, except text in
    /// development mode)
    #[arg(
        help_heading = "General",
        long = "log-format-text",
        env = "AUTH_LOG_FORMAT_TEXT",
        value_parser = parse::go_bool,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    // Unset is listed as upstream's `false` (settings log, `--check-config`): the flag
    // listing stays plain values; development mode's own default is documented.
    #[serde(serialize_with = "unset_is_false")]
    pub log_format_text: Option<bool>,
}

fn generation_str<S: serde::Serializer>(
    value: &crate::contract::UpstreamGeneration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(value.as_str())
}

fn unset_is_false<S: serde::Serializer>(value: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(value.unwrap_or(false))
}

/// PostgreSQL connections.
#[derive(Clone, Debug, Args, Serialize)]
pub struct DatabaseConfig {
    /// PostgreSQL connection URL (env POSTGRES_CONNECTION, else HASURA_GRAPHQL_DATABASE_URL;
    /// default: postgres://postgres:postgres@localhost:5432/local?sslmode=disable)
    #[arg(
        help_heading = "Postgres",
        long = "postgres",
        env = "POSTGRES_CONNECTION",
        hide_env_values = true
    )]
    pub postgres: Option<Secret>,

    /// PostgreSQL URL used only to run migrations (needs rights to create extensions)
    #[arg(
        help_heading = "Postgres",
        long = "postgres-migrations",
        env = "POSTGRES_MIGRATIONS_CONNECTION",
        hide_env_values = true
    )]
    pub postgres_migrations: Option<Secret>,

    /// Migrate the auth schema to the latest version even when it was found at an older
    /// one (a database found at 1-18 otherwise stays at 18, one found at 19-26 where it is)
    #[arg(
        help_heading = "Postgres",
        long = "migrate-to-latest",
        env = "AUTH_MIGRATE_TO_LATEST",
        go_bool = "false"
    )]
    pub migrate_to_latest: bool,

    /// How long a request waits for a database connection (from the pool, or a new one)
    /// before it is answered 503
    #[arg(help_heading = "Postgres", long = "postgres-pool-timeout", env = "AUTH_POSTGRES_POOL_TIMEOUT",
          default_value = "5s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub postgres_pool_timeout: Duration,

    /// PostgreSQL's statement_timeout for the service's connections; 0 means none
    #[arg(help_heading = "Postgres", long = "postgres-statement-timeout", env = "AUTH_POSTGRES_STATEMENT_TIMEOUT",
          default_value = "10s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub postgres_statement_timeout: Duration,

    /// A transaction pooler (PgBouncer, pool_mode=transaction) is in front of PostgreSQL:
    /// statements run unnamed instead of prepared; needs POSTGRES_MIGRATIONS_CONNECTION
    #[arg(
        help_heading = "Postgres",
        long = "postgres-transaction-pooler",
        env = "AUTH_POSTGRES_TRANSACTION_POOLER",
        go_bool = "false"
    )]
    pub postgres_transaction_pooler: bool,
}

/// Tokens: lifetimes, signing key, custom claims.
#[derive(Clone, Debug, Args, Serialize)]
pub struct JwtConfig {
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

    /// JWT key as Hasura expects it: {"type":"HS256","key":"..."} (HS256/384/512, RS256/384/512, ES256/384, Ed25519)
    #[arg(
        help_heading = "JWT",
        long = "hasura-graphql-jwt-secret",
        env = "HASURA_GRAPHQL_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<Secret>,

    /// Several JWT keys, a JSON array of HASURA_GRAPHQL_JWT_SECRET objects: the first signs, all verify, all public keys are published (rotation, docs/keys.md); when set, HASURA_GRAPHQL_JWT_SECRET is ignored
    #[arg(
        help_heading = "JWT",
        long = "hasura-graphql-jwt-secrets",
        env = "HASURA_GRAPHQL_JWT_SECRETS",
        hide_env_values = true
    )]
    pub jwt_secrets: Option<Secret>,

    /// Custom claims: JSON object {"claim":"path.in.user"}
    #[arg(help_heading = "JWT", long = "custom-claims", env = "AUTH_JWT_CUSTOM_CLAIMS", default_value = "",
          value_parser = parse::json_object)]
    pub custom_claims: String,

    /// Default values of custom claims: JSON object {"claim": value}
    #[arg(help_heading = "JWT", long = "custom-claims-defaults", env = "AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS", default_value = "",
          value_parser = parse::json_object)]
    pub custom_claims_defaults: String,

    // Named without "token", which upstream's masking rule would hide as a secret.
    /// Delete expired refresh tokens (sessions, personal access tokens) on about one in N sign-ins and refreshes (in the background, at most 1000 rows each time); 0 never
    #[arg(
        help_heading = "JWT",
        long = "expired-session-cleanup-one-in",
        env = "AUTH_EXPIRED_SESSION_CLEANUP_ONE_IN",
        default_value = "1000"
    )]
    pub expired_session_cleanup_one_in: u32,

    // The flags are named without "token" (the masking rule would hide them as secrets);
    // the env vars keep the names issue 14 gives them.
    /// Refresh-token reuse detection: a rotated refresh token presented again within the reuse interval gets the chain's current session; after it, the whole chain is revoked as stolen
    #[arg(
        help_heading = "JWT",
        long = "refresh-reuse-detection",
        env = "AUTH_REFRESH_TOKEN_REUSE_DETECTION",
        go_bool = "true"
    )]
    pub refresh_reuse_detection: bool,

    /// Grace window after a refresh token's rotation during which presenting it again is a benign race (two tabs refreshing at once), not theft
    #[arg(help_heading = "JWT", long = "refresh-reuse-interval", env = "AUTH_REFRESH_TOKEN_REUSE_INTERVAL",
          default_value = "10s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub refresh_reuse_interval: Duration,
}

/// Who may sign up and what a new user gets.
#[derive(Clone, Debug, Args, Serialize)]
pub struct SignupConfig {
    /// Every path that would create a user answers 403 signup-disabled
    #[arg(
        help_heading = "Sign-up",
        long = "disable-signup",
        env = "AUTH_DISABLE_SIGNUP",
        go_bool = "false"
    )]
    pub disable_signup: bool,

    /// Sign-in routes stop creating users; only the /signup routes do (Nhost Auth 0.50)
    #[arg(
        help_heading = "Sign-up",
        long = "disable-auto-signup",
        env = "AUTH_DISABLE_AUTO_SIGNUP",
        go_bool = "false"
    )]
    pub disable_auto_signup: bool,

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
    #[arg(
        help_heading = "Sign-up",
        long = "disable-new-users",
        env = "AUTH_DISABLE_NEW_USERS",
        go_bool = "false"
    )]
    pub disable_new_users: bool,

    /// Set a Gravatar URL as avatar at sign-up
    #[arg(
        help_heading = "Sign-up",
        long = "gravatar-enabled",
        env = "AUTH_GRAVATAR_ENABLED",
        go_bool = "true"
    )]
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
    #[arg(
        help_heading = "Sign-up",
        long = "email-verification-required",
        env = "AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED",
        go_bool = "true"
    )]
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
    #[arg(
        help_heading = "Sign-up",
        long = "password-hibp-enabled",
        env = "AUTH_PASSWORD_HIBP_ENABLED",
        go_bool = "false",
        hide_env_values = true
    )]
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
    #[arg(
        help_heading = "Sign-up",
        long = "enable-anonymous-users",
        env = "AUTH_ANONYMOUS_USERS_ENABLED",
        go_bool = "false"
    )]
    pub enable_anonymous_users: bool,

    /// Base URL of the Have I Been Pwned range API
    #[arg(
        help_heading = "Sign-up",
        long = "hibp-url",
        env = "AUTH_HIBP_URL",
        default_value = "https://api.pwnedpasswords.com"
    )]
    pub hibp_url: String,
}

/// Passwordless sign-in by email (magic links, one-time codes).
#[derive(Clone, Debug, Args, Serialize)]
pub struct PasswordlessConfig {
    /// Enable passwordless sign-in with email magic links
    #[arg(
        help_heading = "Sign-in",
        long = "email-passwordless-enabled",
        env = "AUTH_EMAIL_PASSWORDLESS_ENABLED",
        hide_env_values = true,
        go_bool = "false"
    )]
    pub email_passwordless_enabled: bool,

    /// Enable sign-in with one-time codes sent by email
    #[arg(
        help_heading = "OTP",
        long = "otp-email-enabled",
        env = "AUTH_OTP_EMAIL_ENABLED",
        go_bool = "false"
    )]
    pub otp_email_enabled: bool,
}

/// Passwordless sign-in by SMS and the SMS provider.
#[derive(Clone, Debug, Args, Serialize)]
pub struct SmsConfig {
    /// Enable passwordless sign-in with codes sent by SMS
    #[arg(
        help_heading = "SMS",
        long = "sms-passwordless-enabled",
        env = "AUTH_SMS_PASSWORDLESS_ENABLED",
        hide_env_values = true,
        go_bool = "false"
    )]
    pub sms_passwordless_enabled: bool,

    /// SMS provider: twilio, modica, generic or dev (case-insensitive; empty means twilio)
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
    pub sms_twilio_auth_token: Secret,

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
    pub sms_modica_password: Secret,

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

    /// URL the generic SMS provider POSTs each message to (Nhost Auth 0.52's)
    #[arg(
        help_heading = "SMS",
        long = "sms-generic-url",
        env = "AUTH_SMS_GENERIC_URL",
        default_value = ""
    )]
    pub sms_generic_url: String,

    /// Content type of the generic SMS provider's request: application/json, application/x-www-form-urlencoded (the rendered template must then be a JSON object), or any other type (sent as rendered)
    #[arg(
        help_heading = "SMS",
        long = "sms-generic-content-type",
        env = "AUTH_SMS_GENERIC_CONTENT_TYPE",
        default_value = "application/json"
    )]
    pub sms_generic_content_type: String,

    /// Extra request headers of the generic SMS provider, as a JSON object of strings (may hold an API key: masked)
    #[arg(
        help_heading = "SMS",
        long = "sms-generic-headers",
        env = "AUTH_SMS_GENERIC_HEADERS",
        default_value = "{}",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub sms_generic_headers: Secret,

    /// Time limit of one request of the generic SMS provider
    #[arg(help_heading = "SMS", long = "sms-generic-timeout", env = "AUTH_SMS_GENERIC_TIMEOUT",
          default_value = "10s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub sms_generic_timeout: Duration,

    /// Body template of the generic SMS provider: ${to} and ${body} are replaced (JSON-escaped for JSON and form content types); any other variable is a start-up error
    #[arg(
        help_heading = "SMS",
        long = "sms-generic-body-template",
        env = "AUTH_SMS_GENERIC_BODY_TEMPLATE",
        default_value = ""
    )]
    pub sms_generic_body_template: String,

    /// With the dev SMS provider, each message body is also written to <dir>/<phone>.txt (empty: only logged)
    #[arg(
        help_heading = "SMS",
        long = "sms-dev-output-dir",
        env = "AUTH_SMS_DEV_OUTPUT_DIR",
        default_value = ""
    )]
    pub sms_dev_output_dir: String,
}

/// TOTP multi-factor authentication.
#[derive(Clone, Debug, Args, Serialize)]
pub struct MfaConfig {
    /// Enable TOTP multi-factor authentication endpoints
    #[arg(
        help_heading = "MFA",
        long = "mfa-enabled",
        env = "AUTH_MFA_ENABLED",
        go_bool = "false"
    )]
    pub mfa_enabled: bool,

    /// Issuer name shown in authenticator apps
    #[arg(
        help_heading = "MFA",
        long = "mfa-totp-issuer",
        env = "AUTH_MFA_TOTP_ISSUER",
        default_value = "auth"
    )]
    pub mfa_totp_issuer: String,

    /// Hex key (16, 24 or 32 bytes; 32 advised) that encrypts TOTP secrets at rest (AES-GCM, as Nhost Auth 0.52 stores them); plain secrets are encrypted at start-up. Required once the database holds encrypted secrets
    #[arg(
        help_heading = "MFA",
        long = "encryption-key",
        env = "AUTH_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub encryption_key: Option<Secret>,
}

/// WebAuthn (security keys, passkeys).
#[derive(Clone, Debug, Args, Serialize)]
pub struct WebauthnConfig {
    /// Enable WebAuthn (security keys, passkeys) sign-up, sign-in and elevation
    #[arg(
        help_heading = "WebAuthn",
        long = "webauthn-enabled",
        env = "AUTH_WEBAUTHN_ENABLED",
        go_bool = "false"
    )]
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
}

/// Elevated endpoints.
#[derive(Clone, Debug, Args, Serialize)]
pub struct SecurityConfig {
    /// When elevated endpoints demand the x-hasura-auth-elevated claim
    #[arg(
        help_heading = "Security",
        long = "require-elevated-claim",
        env = "AUTH_REQUIRE_ELEVATED_CLAIM",
        default_value = "disabled",
        value_enum
    )]
    pub require_elevated_claim: ElevatedClaimMode,

    /// Audit trail: write security events (sign-ins, sign-outs, password and email changes, MFA, locks) to hasura_auth.audit_events
    #[arg(
        help_heading = "Security",
        long = "audit-enabled",
        env = "AUTH_AUDIT_ENABLED",
        go_bool = "true"
    )]
    pub audit_enabled: bool,

    /// How long audit events are kept (a background purge deletes older ones); 0 keeps them for ever
    #[arg(help_heading = "Security", long = "audit-retention", env = "AUTH_AUDIT_RETENTION",
          default_value = "2160h", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub audit_retention: Duration,

    /// URL that receives every audit event as a JSON POST (in the background, with retries); empty disables it
    #[arg(
        help_heading = "Security",
        long = "audit-webhook-url",
        env = "AUTH_AUDIT_WEBHOOK_URL",
        default_value = ""
    )]
    pub audit_webhook_url: String,

    /// Key of the HMAC-SHA256 signature of each webhook body (X-Hasura-Auth-Signature: sha256=<hex>); empty sends no signature
    #[arg(
        help_heading = "Security",
        long = "audit-webhook-secret",
        env = "AUTH_AUDIT_WEBHOOK_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub audit_webhook_secret: Secret,

    /// Failed password, TOTP or OTP attempts on one account that lock it for a while; 0 disables account locking
    #[arg(
        help_heading = "Security",
        long = "lockout-max-failures",
        env = "AUTH_LOCKOUT_MAX_FAILURES",
        default_value = "0"
    )]
    pub lockout_max_failures: u32,

    /// How long the first lock lasts; each further lock in a row lasts twice as long, up to the maximum
    #[arg(help_heading = "Security", long = "lockout-duration", env = "AUTH_LOCKOUT_DURATION",
          default_value = "1m", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub lockout_duration: Duration,

    /// The longest a lock lasts; failures and locks older than this are forgotten
    #[arg(help_heading = "Security", long = "lockout-max-duration", env = "AUTH_LOCKOUT_MAX_DURATION",
          default_value = "15m", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub lockout_max_duration: Duration,

    /// Answer attempts on a locked account with 429 and a message saying so, instead of the wrong-credentials answer (which does not reveal the lock)
    #[arg(
        help_heading = "Security",
        long = "lockout-reveal",
        env = "AUTH_LOCKOUT_REVEAL",
        go_bool = "false"
    )]
    pub lockout_reveal: bool,

    /// Security notification emails (comma list): password-changed, email-change (to the old address), new-signin (from a user agent and IP not seen in the user's sessions); empty sends none
    #[arg(
        help_heading = "Security",
        long = "security-notifications",
        env = "AUTH_SECURITY_NOTIFICATIONS",
        value_delimiter = ',',
        value_parser = parse::security_notification
    )]
    pub security_notifications: Vec<String>,
}

/// The front-end application: redirect targets.
#[derive(Clone, Debug, Args, Serialize)]
pub struct ClientAppConfig {
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
}

/// Outgoing email: templates, SMTP or Postmark.
#[derive(Clone, Debug, Args, Serialize)]
pub struct EmailConfig {
    /// Folder of custom email templates: LOCALE/TEMPLATE/subject.txt and body.html
    #[arg(
        help_heading = "Email",
        long = "templates-path",
        env = "AUTH_EMAIL_TEMPLATES_PATH",
        default_value = "/app/email-templates"
    )]
    pub templates_path: String,

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
    #[arg(
        help_heading = "SMTP",
        long = "smtp-secure",
        env = "AUTH_SMTP_SECURE",
        go_bool = "false"
    )]
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
    pub smtp_password: Secret,

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
}

/// Rate limits and the proxies trusted to name the client.
#[derive(Clone, Debug, Args, Serialize)]
pub struct RateLimitConfig {
    /// Enable rate limiting
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-enable",
        env = "AUTH_RATE_LIMIT_ENABLE",
        go_bool = "false"
    )]
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
    #[serde(serialize_with = "go_duration")]
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
    #[serde(serialize_with = "go_duration")]
    pub rate_limit_email_interval: Duration,

    /// Count emails for the whole service instead of per client
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-email-is-global",
        env = "AUTH_RATE_LIMIT_EMAIL_IS_GLOBAL",
        go_bool = "false"
    )]
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
    #[serde(serialize_with = "go_duration")]
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
    #[serde(serialize_with = "go_duration")]
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
    #[serde(serialize_with = "go_duration")]
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

    /// Redis URL (redis://[:password@]host:port[/db]) holding the counters instead of
    /// memcached; empty keeps them in memory (or in memcached when that is set)
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-redis-url",
        env = "AUTH_RATE_LIMIT_REDIS_URL",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub rate_limit_redis_url: Secret,

    /// Key prefix of the counters in Redis
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-redis-prefix",
        env = "AUTH_RATE_LIMIT_REDIS_PREFIX",
        default_value = ""
    )]
    pub rate_limit_redis_prefix: String,

    /// Requests to /oauth2/token and /oauth2/introspect allowed per client per interval
    #[arg(
        help_heading = "Rate limiting",
        long = "rate-limit-oauth2-server-burst",
        env = "AUTH_RATE_LIMIT_OAUTH2_SERVER_BURST",
        default_value = "100"
    )]
    pub rate_limit_oauth2_server_burst: u32,

    /// Window of the oauth2-server limit
    #[arg(help_heading = "Rate limiting", long = "rate-limit-oauth2-server-interval", env = "AUTH_RATE_LIMIT_OAUTH2_SERVER_INTERVAL", default_value = "5m",
          value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub rate_limit_oauth2_server_interval: Duration,

    /// Proxies (IPs or CIDRs, comma list) whose X-Forwarded-For is trusted; empty trusts none
    #[arg(
        help_heading = "Rate limiting",
        long = "trusted-proxies",
        env = "AUTH_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<String>,
}

/// Cloudflare Turnstile on sign-up requests.
#[derive(Clone, Debug, Args, Serialize)]
pub struct TurnstileConfig {
    /// Cloudflare Turnstile secret; when set, sign-up requests need a Turnstile response
    #[arg(
        help_heading = "Turnstile",
        long = "turnstile-secret",
        env = "AUTH_TURNSTILE_SECRET",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub turnstile_secret: Secret,

    /// Cloudflare Turnstile verification endpoint
    #[arg(
        help_heading = "Turnstile",
        long = "turnstile-url",
        env = "AUTH_TURNSTILE_URL",
        default_value = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    )]
    pub turnstile_url: String,
}

/// Sign-in with provider id tokens (`/signin/idtoken`).
#[derive(Clone, Debug, Args, Serialize)]
pub struct IdTokenConfig {
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
}

/// Prometheus metrics.
#[derive(Clone, Debug, Args, Serialize)]
pub struct MetricsConfig {
    /// Address (host:port) of a separate listener serving Prometheus metrics at /metrics;
    /// empty disables it. Bind it to loopback or a private network: it has no authentication
    #[arg(
        help_heading = "Observability",
        long = "metrics-address",
        env = "AUTH_METRICS_ADDRESS",
        default_value = ""
    )]
    pub metrics_address: String,
}

/// The Hasura GraphQL engine: endpoint, admin secret, metadata sync, custom-claims requests.
#[derive(Clone, Debug, Args, Serialize)]
pub struct HasuraConfig {
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
    pub hasura_admin_secret: Secret,

    /// Track the auth tables in Hasura at start-up (needs --graphql-url); false skips it
    #[arg(
        help_heading = "Hasura",
        long = "hasura-metadata-sync",
        env = "AUTH_HASURA_METADATA_SYNC",
        go_bool = "true"
    )]
    pub hasura_metadata_sync: bool,

    /// How long start-up keeps retrying the metadata sync while Hasura is unreachable
    #[arg(help_heading = "Hasura", long = "hasura-metadata-sync-timeout", env = "AUTH_HASURA_METADATA_SYNC_TIMEOUT",
          default_value = "1m", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub hasura_metadata_sync_timeout: Duration,

    /// Time limit of the custom-claims GraphQL request; on failure the defaults are used
    #[arg(help_heading = "Hasura", long = "custom-claims-timeout", env = "AUTH_JWT_CUSTOM_CLAIMS_TIMEOUT",
          default_value = "5s", value_parser = parse::go_duration)]
    #[serde(serialize_with = "go_duration")]
    pub custom_claims_timeout: Duration,
}

/// The OAuth2/OIDC identity provider (Nhost Auth 0.46+; docs/oidc-provider.md).
#[derive(Clone, Debug, Args, Serialize)]
pub struct OAuth2ProviderConfig {
    /// Turn on the OAuth2/OIDC identity provider (/oauth2/*, discovery)
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-enabled",
        env = "AUTH_OAUTH2_PROVIDER_ENABLED",
        go_bool = "false"
    )]
    pub oauth2_provider_enabled: bool,

    /// URL of the consent/login UI; empty: <AUTH_CLIENT_URL>/oauth2/login
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-login-url",
        env = "AUTH_OAUTH2_PROVIDER_LOGIN_URL",
        default_value = ""
    )]
    pub oauth2_provider_login_url: String,

    /// Device flow verification page (verification_uri); empty: <AUTH_SERVER_URL>/oauth2/ui/device with the built-in page on, else <AUTH_CLIENT_URL>/oauth2/device
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-device-verify-url",
        env = "AUTH_OAUTH2_PROVIDER_DEVICE_VERIFY_URL",
        default_value = ""
    )]
    pub oauth2_provider_device_verify_url: String,
    /// Serve the built-in sign-in and consent page (/oauth2/ui/login) and device page (/oauth2/ui/device); used when AUTH_OAUTH2_PROVIDER_LOGIN_URL / _DEVICE_VERIFY_URL are empty
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-builtin-login-page",
        env = "AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE",
        go_bool = "false"
    )]
    pub oauth2_provider_builtin_login_page: bool,

    /// Lifetime of OAuth2 access and ID tokens in seconds
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-access-token-ttl",
        env = "AUTH_OAUTH2_PROVIDER_ACCESS_TOKEN_TTL",
        default_value = "900",
        hide_env_values = true
    )]
    pub oauth2_provider_access_token_ttl: i64,

    /// Lifetime of OAuth2 refresh tokens in seconds
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-refresh-token-ttl",
        env = "AUTH_OAUTH2_PROVIDER_REFRESH_TOKEN_TTL",
        default_value = "2592000",
        hide_env_values = true
    )]
    pub oauth2_provider_refresh_token_ttl: i64,

    /// Accept https URLs as client ids (Client ID Metadata Documents)
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-cimd-enabled",
        env = "AUTH_OAUTH2_PROVIDER_CIMD_ENABLED",
        go_bool = "false"
    )]
    pub oauth2_provider_cimd_enabled: bool,

    /// Allow http and private/loopback addresses for metadata document fetches (dev only)
    #[arg(
        help_heading = "OAuth2 provider",
        long = "oauth2-provider-cimd-allow-insecure-transport",
        env = "AUTH_OAUTH2_PROVIDER_CIMD_ALLOW_INSECURE_TRANSPORT",
        go_bool = "false"
    )]
    pub oauth2_provider_cimd_allow_insecure_transport: bool,
}
