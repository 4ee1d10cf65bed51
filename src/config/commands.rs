//! The operator's commands (`hasura-auth users|sessions|keys …`, docs/cli.md): their
//! arguments only. They are declared here, next to the server's flags, because the
//! command line is parsed in one place; `crate::cli` runs them.

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use super::Config;

/// `hasura-auth users …`: the server's settings, `--json` and the action.
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub action: UsersAction,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: Config,
}

/// `hasura-auth sessions …`.
#[derive(Debug, Args)]
pub struct SessionsArgs {
    #[command(subcommand)]
    pub action: SessionsAction,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: Config,
}

/// `hasura-auth oauth2-clients …`.
#[derive(Debug, Args)]
pub struct OAuth2ClientsArgs {
    #[command(subcommand)]
    pub action: OAuth2ClientsAction,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: Config,
}

/// `hasura-auth keys …`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub action: KeysAction,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Print JSON (stable field names, see docs/cli.md) instead of tables; errors too, on stderr
    #[arg(long, global = true)]
    pub json: bool,
}

/// An operator command, without the settings it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorCommand {
    Users(UsersAction),
    Sessions(SessionsAction),
    Keys(KeysAction),
    OAuth2Clients(OAuth2ClientsAction),
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum UsersAction {
    /// Create a user with a password, or send them an invitation email
    Create(CreateUser),
    /// List users, newest first
    List(ListUsers),
    /// Show one user (by id or email)
    Show(UserRef),
    /// Disable a user: no sign-in, no token refresh
    Disable(UserRef),
    /// Enable a disabled user
    Enable(UserRef),
    /// Mark a user's email as verified
    VerifyEmail(UserRef),
    /// Set a user's password (the password rules apply)
    SetPassword(SetPassword),
    /// Add allowed roles to a user
    AddRole(UserRoles),
    /// Remove allowed roles from a user (not their default role)
    RemoveRole(UserRoles),
    /// Set a user's default role (one of their roles)
    SetDefaultRole(UserRole),
    /// Delete a user and everything attached to them (sessions, providers, keys)
    Delete(DeleteUser),
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum SessionsAction {
    /// List a user's sessions (refresh tokens) and personal access tokens
    List(UserRef),
    /// Revoke one session of a user, or all of them (as sign-out does)
    Revoke(RevokeSessions),
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum OAuth2ClientsAction {
    /// Register a client of the identity provider; a confidential client's secret is printed once
    Create(CreateClient),
    /// List the clients (never their secrets)
    List,
    /// Show one client
    Show(ClientRef),
    /// Give a confidential client a new secret (printed once); the old one stops working
    RotateSecret(ClientRef),
    /// Delete a client with its pending authorizations and refresh tokens
    Delete(DeleteClient),
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct CreateClient {
    /// A redirect URI, matched exactly (repeat for several; https, http on loopback, or an app scheme)
    #[arg(long = "redirect-uri", value_name = "URI", required = true)]
    pub redirect_uris: Vec<String>,
    /// An allowed scope (repeat for several; default: openid profile email phone offline_access graphql)
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// A public client (a browser or native app): no secret, PKCE required
    #[arg(long)]
    pub public: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ClientRef {
    /// The client id (`nhoa_…`, or a metadata-document URL)
    pub client_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteClient {
    /// The client id
    pub client_id: String,
    /// Confirm the deletion (required: it cannot be undone)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum KeysAction {
    /// Generate a new HASURA_GRAPHQL_JWT_SECRET value (printed as one line of JSON)
    Generate(GenerateKey),
    /// Print the JWKS of the configured keys (HASURA_GRAPHQL_JWT_SECRETS, else HASURA_GRAPHQL_JWT_SECRET)
    Jwks,
}

/// A user, by id (a UUID) or email.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct UserRef {
    /// The user's id (UUID) or email address
    pub user: String,
}

/// How a new user gets in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InviteKind {
    /// A password-reset link: the user chooses their password
    PasswordReset,
    /// A magic link that signs the user in (needs AUTH_EMAIL_PASSWORDLESS_ENABLED)
    MagicLink,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(group(ArgGroup::new("credential").required(true).args(["password", "password_stdin", "invite"])))]
pub struct CreateUser {
    /// Email address of the new user
    #[arg(long)]
    pub email: String,
    /// The password (visible to other local users in the process list: prefer --password-stdin)
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Create the user without a password and email them a link instead
    #[arg(long, value_enum)]
    pub invite: Option<InviteKind>,
    /// Mark the email as verified (no verification email is sent)
    #[arg(long)]
    pub verified: bool,
    /// Display name (default: the email address)
    #[arg(long)]
    pub display_name: Option<String>,
    /// Locale (two letters, one of AUTH_LOCALE_ALLOWED_LOCALES; default AUTH_LOCALE_DEFAULT)
    #[arg(long)]
    pub locale: Option<String>,
    /// Allowed role (repeat for several; default AUTH_USER_DEFAULT_ALLOWED_ROLES)
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Default role (default AUTH_USER_DEFAULT_ROLE)
    #[arg(long)]
    pub default_role: Option<String>,
    /// Metadata, a JSON object
    #[arg(long)]
    pub metadata: Option<String>,
    /// Where emailed links lead after /verify (default AUTH_CLIENT_URL; must be allowed)
    #[arg(long)]
    pub redirect_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ListUsers {
    /// Only users whose email or display name contains this text (case-insensitive)
    #[arg(long)]
    pub search: Option<String>,
    /// How many users to show (1..=1000)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub limit: i64,
    /// How many users to skip
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(group(ArgGroup::new("secret").required(true).args(["password", "password_stdin"])))]
pub struct SetPassword {
    /// The user's id (UUID) or email address
    pub user: String,
    /// The new password (visible in the process list: prefer --password-stdin)
    #[arg(long)]
    pub password: Option<String>,
    /// Read the new password from the first line of standard input
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct UserRoles {
    /// The user's id (UUID) or email address
    pub user: String,
    /// Roles (each one of AUTH_USER_DEFAULT_ALLOWED_ROLES to add)
    #[arg(required = true)]
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct UserRole {
    /// The user's id (UUID) or email address
    pub user: String,
    /// The role
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DeleteUser {
    /// The user's id (UUID) or email address
    pub user: String,
    /// Confirm the deletion (required: it cannot be undone)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["session", "all"])))]
pub struct RevokeSessions {
    /// The user's id (UUID) or email address
    pub user: String,
    /// The id of the session to revoke (see `sessions list`)
    #[arg(long)]
    pub session: Option<String>,
    /// Revoke every session and personal access token of the user
    #[arg(long)]
    pub all: bool,
}

/// JWT signing algorithms the server supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum KeyType {
    Hs256,
    Hs384,
    Hs512,
    Rs256,
    Rs384,
    Rs512,
    Es256,
    Es384,
    /// Hasura's name for EdDSA over Ed25519
    #[value(name = "Ed25519")]
    Ed25519,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Ed25519 => "Ed25519",
        }
    }
}

/// RSA modulus sizes offered for RS* keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RsaBits {
    #[value(name = "2048")]
    B2048,
    #[value(name = "3072")]
    B3072,
    #[value(name = "4096")]
    B4096,
}

#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct GenerateKey {
    /// Algorithm
    #[arg(long = "type", value_enum, default_value = "HS256")]
    pub key_type: KeyType,
    /// RSA key size in bits (RS* types)
    #[arg(long, value_enum, default_value = "2048")]
    pub rsa_bits: RsaBits,
    /// Key id (`kid`) to put in the secret (default for RS*/ES*/Ed25519: the key's RFC 7638 thumbprint)
    #[arg(long)]
    pub kid: Option<String>,
}
