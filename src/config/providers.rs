//! OAuth provider settings (upstream's 72 `oauth-*` flags), one struct per provider.
//!
//! Every provider has `AUTH_PROVIDER_<P>_ENABLED` plus its credentials; most also have a
//! comma-list `_SCOPE` whose default is the provider's usual scope list. When a scope list is
//! empty after dropping blank items, the provider default applies (`scopes()`).
//! Env names and flags are written out literally so they can be found with grep.

use clap::{ArgAction, Args};

use super::Secret;
use super::parse;
use super::settings::{SettingValue, Settings};

/// Splits a built-in comma-separated default scope list.
fn split_default(default: &str) -> Vec<String> {
    default.split(',').map(str::to_owned).collect()
}

/// The configured scopes with blank items dropped, or `default` when nothing is left.
fn scopes_or_default(scope: &[String], default: &str) -> Vec<String> {
    let scopes = parse::non_empty(scope);
    if scopes.is_empty() {
        split_default(default)
    } else {
        scopes
    }
}

/// Providers sharing the common shape: enabled, client id, client secret, scope list.
macro_rules! basic_provider {
    (
        $name:ident, $title:literal, $heading:literal, $default_scope:literal,
        enabled: ($ef:literal, $ee:literal),
        client_id: ($cif:literal, $cie:literal),
        client_secret: ($csf:literal, $cse:literal),
        scope: ($sf:literal, $se:literal) $(,)?
    ) => {
        #[derive(Clone, Debug, Args)]
        #[command(next_help_heading = $heading)]
        pub struct $name {
            #[arg(id = $ef, long = $ef, env = $ee, help = concat!("Enable sign-in with ", $title),
                  value_name = "BOOL", default_value = "false",
                  value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
                  default_missing_value = "true", action = ArgAction::Set)]
            pub enabled: bool,

            #[arg(id = $cif, long = $cif, env = $cie, help = concat!($title, " OAuth client ID"),
                  value_name = "STRING", default_value = "", hide_env_values = true)]
            pub client_id: String,

            #[arg(id = $csf, long = $csf, env = $cse, help = concat!($title, " OAuth client secret"),
                  value_name = "STRING", default_value = "", hide_env_values = true,
                  hide_default_value = true)]
            pub client_secret: Secret,

            #[arg(id = $sf, long = $sf, env = $se,
                  help = concat!($title, " OAuth scopes (comma list; empty means the default)"),
                  value_name = "LIST", default_value = $default_scope, value_delimiter = ',')]
            pub scope: Vec<String>,
        }

        impl $name {
            /// Default scope list of this provider.
            pub const DEFAULT_SCOPE: &'static str = $default_scope;

            /// Scopes to request: the configured list, or the default when it is empty.
            pub fn scopes(&self) -> Vec<String> {
                scopes_or_default(&self.scope, Self::DEFAULT_SCOPE)
            }

            pub(crate) fn settings(&self, out: &mut Settings) {
                out.push($ef, self.enabled.to_setting());
                out.push($cif, self.client_id.to_setting());
                out.push($csf, self.client_secret.to_setting());
                out.push($sf, self.scope.to_setting());
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// GitHub (configurable endpoints, e.g. for GitHub Enterprise)

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: GitHub")]
pub struct GithubProvider {
    /// Enable sign-in with GitHub
    #[arg(id = "github-enabled", long = "github-enabled", env = "AUTH_PROVIDER_GITHUB_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// GitHub OAuth client ID
    #[arg(
        id = "github-client-id",
        long = "github-client-id",
        env = "AUTH_PROVIDER_GITHUB_CLIENT_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub client_id: String,

    /// GitHub OAuth client secret
    #[arg(
        id = "github-client-secret",
        long = "github-client-secret",
        env = "AUTH_PROVIDER_GITHUB_CLIENT_SECRET",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub client_secret: Secret,

    /// GitHub authorization endpoint
    #[arg(
        id = "github-authorization-url",
        long = "github-authorization-url",
        env = "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL",
        value_name = "URL",
        default_value = "https://github.com/login/oauth/authorize"
    )]
    pub authorization_url: String,

    /// GitHub token endpoint
    #[arg(
        id = "github-token-url",
        long = "github-token-url",
        env = "AUTH_PROVIDER_GITHUB_TOKEN_URL",
        value_name = "URL",
        default_value = "https://github.com/login/oauth/access_token",
        hide_env_values = true
    )]
    pub token_url: String,

    /// GitHub user profile endpoint
    #[arg(
        id = "github-user-profile-url",
        long = "github-user-profile-url",
        env = "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL",
        value_name = "URL",
        default_value = "https://api.github.com/user"
    )]
    pub user_profile_url: String,

    /// GitHub OAuth scopes (comma list; empty means the default)
    #[arg(
        id = "github-scope",
        long = "github-scope",
        env = "AUTH_PROVIDER_GITHUB_SCOPE",
        value_name = "LIST",
        default_value = "user:email",
        value_delimiter = ','
    )]
    pub scope: Vec<String>,
}

impl GithubProvider {
    pub const DEFAULT_SCOPE: &'static str = "user:email";

    pub fn scopes(&self) -> Vec<String> {
        scopes_or_default(&self.scope, Self::DEFAULT_SCOPE)
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("github-enabled", self.enabled.to_setting());
        out.push("github-client-id", self.client_id.to_setting());
        out.push("github-client-secret", self.client_secret.to_setting());
        out.push(
            "github-authorization-url",
            self.authorization_url.to_setting(),
        );
        out.push("github-token-url", self.token_url.to_setting());
        out.push(
            "github-user-profile-url",
            self.user_profile_url.to_setting(),
        );
        out.push("github-scope", self.scope.to_setting());
    }
}

// ---------------------------------------------------------------------------------------------
// Apple (client secret is a JWT signed with the team's private key)

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: Apple")]
pub struct AppleProvider {
    /// Enable sign-in with Apple
    #[arg(id = "apple-enabled", long = "apple-enabled", env = "AUTH_PROVIDER_APPLE_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// Apple Services ID (OAuth client ID)
    #[arg(
        id = "apple-client-id",
        long = "apple-client-id",
        env = "AUTH_PROVIDER_APPLE_CLIENT_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub client_id: String,

    /// Apple developer team ID
    #[arg(
        id = "apple-team-id",
        long = "apple-team-id",
        env = "AUTH_PROVIDER_APPLE_TEAM_ID",
        value_name = "STRING",
        default_value = ""
    )]
    pub team_id: String,

    /// ID of the Apple private key
    #[arg(
        id = "apple-key-id",
        long = "apple-key-id",
        env = "AUTH_PROVIDER_APPLE_KEY_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub key_id: String,

    /// Apple private key (PEM, EC P-256) used to sign the client secret
    #[arg(
        id = "apple-private-key",
        long = "apple-private-key",
        env = "AUTH_PROVIDER_APPLE_PRIVATE_KEY",
        value_name = "PEM",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub private_key: Secret,

    /// Apple OAuth scopes (comma list; empty means the default)
    #[arg(
        id = "apple-scope",
        long = "apple-scope",
        env = "AUTH_PROVIDER_APPLE_SCOPE",
        value_name = "LIST",
        default_value = "name,email",
        value_delimiter = ','
    )]
    pub scope: Vec<String>,
}

impl AppleProvider {
    pub const DEFAULT_SCOPE: &'static str = "name,email";

    pub fn scopes(&self) -> Vec<String> {
        scopes_or_default(&self.scope, Self::DEFAULT_SCOPE)
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("apple-enabled", self.enabled.to_setting());
        out.push("apple-client-id", self.client_id.to_setting());
        out.push("apple-team-id", self.team_id.to_setting());
        out.push("apple-key-id", self.key_id.to_setting());
        out.push("apple-private-key", self.private_key.to_setting());
        out.push("apple-scope", self.scope.to_setting());
    }
}

// ---------------------------------------------------------------------------------------------
// WorkOS (no scope setting upstream: an empty `scope=` is always sent)

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: WorkOS")]
pub struct WorkosProvider {
    /// Enable sign-in with WorkOS
    #[arg(id = "workos-enabled", long = "workos-enabled", env = "AUTH_PROVIDER_WORKOS_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// WorkOS client ID
    #[arg(
        id = "workos-client-id",
        long = "workos-client-id",
        env = "AUTH_PROVIDER_WORKOS_CLIENT_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub client_id: String,

    /// WorkOS client secret (API key)
    #[arg(
        id = "workos-client-secret",
        long = "workos-client-secret",
        env = "AUTH_PROVIDER_WORKOS_CLIENT_SECRET",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub client_secret: Secret,

    /// WorkOS organization used when the request names none
    #[arg(
        id = "workos-default-organization",
        long = "workos-default-organization",
        env = "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION",
        value_name = "STRING",
        default_value = ""
    )]
    pub default_organization: String,

    /// WorkOS connection used when the request names none
    #[arg(
        id = "workos-default-connection",
        long = "workos-default-connection",
        env = "AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION",
        value_name = "STRING",
        default_value = ""
    )]
    pub default_connection: String,

    /// WorkOS domain used when the request names none
    #[arg(
        id = "workos-default-domain",
        long = "workos-default-domain",
        env = "AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN",
        value_name = "STRING",
        default_value = ""
    )]
    pub default_domain: String,
}

impl WorkosProvider {
    /// Upstream has no scope setting for WorkOS and always sends one empty scope.
    pub fn scopes(&self) -> Vec<String> {
        vec![String::new()]
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("workos-enabled", self.enabled.to_setting());
        out.push("workos-client-id", self.client_id.to_setting());
        out.push("workos-client-secret", self.client_secret.to_setting());
        out.push(
            "workos-default-organization",
            self.default_organization.to_setting(),
        );
        out.push(
            "workos-default-connection",
            self.default_connection.to_setting(),
        );
        out.push("workos-default-domain", self.default_domain.to_setting());
    }
}

// ---------------------------------------------------------------------------------------------
// Azure AD (deprecated upstream in favour of Entra ID) and Entra ID: both take a tenant

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: Azure AD (deprecated, use Entra ID)")]
pub struct AzureadProvider {
    /// Enable sign-in with Azure AD (deprecated: use Entra ID)
    #[arg(id = "azuread-enabled", long = "azuread-enabled", env = "AUTH_PROVIDER_AZUREAD_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// Azure AD application (client) ID
    #[arg(
        id = "azuread-client-id",
        long = "azuread-client-id",
        env = "AUTH_PROVIDER_AZUREAD_CLIENT_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub client_id: String,

    /// Azure AD client secret
    #[arg(
        id = "azuread-client-secret",
        long = "azuread-client-secret",
        env = "AUTH_PROVIDER_AZUREAD_CLIENT_SECRET",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub client_secret: Secret,

    /// Azure AD tenant (ID, domain, or common/organizations/consumers)
    #[arg(
        id = "azuread-tenant",
        long = "azuread-tenant",
        env = "AUTH_PROVIDER_AZUREAD_TENANT",
        value_name = "STRING",
        default_value = "common"
    )]
    pub tenant: String,

    /// Azure AD OAuth scopes (comma list; empty means the default)
    #[arg(
        id = "azuread-scope",
        long = "azuread-scope",
        env = "AUTH_PROVIDER_AZUREAD_SCOPE",
        value_name = "LIST",
        default_value = "email,profile,openid,offline_access",
        value_delimiter = ','
    )]
    pub scope: Vec<String>,
}

impl AzureadProvider {
    pub const DEFAULT_SCOPE: &'static str = "email,profile,openid,offline_access";

    pub fn scopes(&self) -> Vec<String> {
        scopes_or_default(&self.scope, Self::DEFAULT_SCOPE)
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("azuread-enabled", self.enabled.to_setting());
        out.push("azuread-client-id", self.client_id.to_setting());
        out.push("azuread-client-secret", self.client_secret.to_setting());
        out.push("azuread-tenant", self.tenant.to_setting());
        out.push("azuread-scope", self.scope.to_setting());
    }
}

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: Microsoft Entra ID")]
pub struct EntraidProvider {
    /// Enable sign-in with Microsoft Entra ID
    #[arg(id = "entraid-enabled", long = "entraid-enabled", env = "AUTH_PROVIDER_ENTRAID_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// Entra ID application (client) ID
    #[arg(
        id = "entraid-client-id",
        long = "entraid-client-id",
        env = "AUTH_PROVIDER_ENTRAID_CLIENT_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub client_id: String,

    /// Entra ID client secret
    #[arg(
        id = "entraid-client-secret",
        long = "entraid-client-secret",
        env = "AUTH_PROVIDER_ENTRAID_CLIENT_SECRET",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub client_secret: Secret,

    /// Entra ID tenant (ID, domain, or common/organizations/consumers)
    #[arg(
        id = "entraid-tenant",
        long = "entraid-tenant",
        env = "AUTH_PROVIDER_ENTRAID_TENANT",
        value_name = "STRING",
        default_value = "common"
    )]
    pub tenant: String,

    /// Entra ID OAuth scopes (comma list; empty means the default)
    #[arg(
        id = "entraid-scope",
        long = "entraid-scope",
        env = "AUTH_PROVIDER_ENTRAID_SCOPE",
        value_name = "LIST",
        default_value = "email,profile,openid,offline_access",
        value_delimiter = ','
    )]
    pub scope: Vec<String>,
}

impl EntraidProvider {
    pub const DEFAULT_SCOPE: &'static str = "email,profile,openid,offline_access";

    pub fn scopes(&self) -> Vec<String> {
        scopes_or_default(&self.scope, Self::DEFAULT_SCOPE)
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("entraid-enabled", self.enabled.to_setting());
        out.push("entraid-client-id", self.client_id.to_setting());
        out.push("entraid-client-secret", self.client_secret.to_setting());
        out.push("entraid-tenant", self.tenant.to_setting());
        out.push("entraid-scope", self.scope.to_setting());
    }
}

// ---------------------------------------------------------------------------------------------
// Twitter (OAuth 1.0a: consumer key and secret, no scope)

#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: Twitter")]
pub struct TwitterProvider {
    /// Enable sign-in with Twitter (OAuth 1.0a)
    #[arg(id = "twitter-enabled", long = "twitter-enabled", env = "AUTH_PROVIDER_TWITTER_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// Twitter consumer (API) key
    #[arg(
        id = "twitter-consumer-key",
        long = "twitter-consumer-key",
        env = "AUTH_PROVIDER_TWITTER_CONSUMER_KEY",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub consumer_key: String,

    /// Twitter consumer (API) secret
    #[arg(
        id = "twitter-consumer-secret",
        long = "twitter-consumer-secret",
        env = "AUTH_PROVIDER_TWITTER_CONSUMER_SECRET",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub consumer_secret: Secret,
}

impl TwitterProvider {
    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("twitter-enabled", self.enabled.to_setting());
        out.push("twitter-consumer-key", self.consumer_key.to_setting());
        out.push("twitter-consumer-secret", self.consumer_secret.to_setting());
    }
}

// ---------------------------------------------------------------------------------------------
// Providers with the common shape

basic_provider!(
    GoogleProvider, "Google", "OAuth: Google", "openid,email,profile",
    enabled: ("google-enabled", "AUTH_PROVIDER_GOOGLE_ENABLED"),
    client_id: ("google-client-id", "AUTH_PROVIDER_GOOGLE_CLIENT_ID"),
    client_secret: ("google-client-secret", "AUTH_PROVIDER_GOOGLE_CLIENT_SECRET"),
    scope: ("google-scope", "AUTH_PROVIDER_GOOGLE_SCOPE"),
);

basic_provider!(
    LinkedinProvider, "LinkedIn", "OAuth: LinkedIn", "openid,profile,email",
    enabled: ("linkedin-enabled", "AUTH_PROVIDER_LINKEDIN_ENABLED"),
    client_id: ("linkedin-client-id", "AUTH_PROVIDER_LINKEDIN_CLIENT_ID"),
    client_secret: ("linkedin-client-secret", "AUTH_PROVIDER_LINKEDIN_CLIENT_SECRET"),
    scope: ("linkedin-scope", "AUTH_PROVIDER_LINKEDIN_SCOPE"),
);

basic_provider!(
    DiscordProvider, "Discord", "OAuth: Discord", "identify,email",
    enabled: ("discord-enabled", "AUTH_PROVIDER_DISCORD_ENABLED"),
    client_id: ("discord-client-id", "AUTH_PROVIDER_DISCORD_CLIENT_ID"),
    client_secret: ("discord-client-secret", "AUTH_PROVIDER_DISCORD_CLIENT_SECRET"),
    scope: ("discord-scope", "AUTH_PROVIDER_DISCORD_SCOPE"),
);

basic_provider!(
    SpotifyProvider, "Spotify", "OAuth: Spotify", "user-read-email,user-read-private",
    enabled: ("spotify-enabled", "AUTH_PROVIDER_SPOTIFY_ENABLED"),
    client_id: ("spotify-client-id", "AUTH_PROVIDER_SPOTIFY_CLIENT_ID"),
    client_secret: ("spotify-client-secret", "AUTH_PROVIDER_SPOTIFY_CLIENT_SECRET"),
    scope: ("spotify-scope", "AUTH_PROVIDER_SPOTIFY_SCOPE"),
);

basic_provider!(
    TwitchProvider, "Twitch", "OAuth: Twitch", "user:read:email",
    enabled: ("twitch-enabled", "AUTH_PROVIDER_TWITCH_ENABLED"),
    client_id: ("twitch-client-id", "AUTH_PROVIDER_TWITCH_CLIENT_ID"),
    client_secret: ("twitch-client-secret", "AUTH_PROVIDER_TWITCH_CLIENT_SECRET"),
    scope: ("twitch-scope", "AUTH_PROVIDER_TWITCH_SCOPE"),
);

basic_provider!(
    GitlabProvider, "GitLab", "OAuth: GitLab", "read_user",
    enabled: ("gitlab-enabled", "AUTH_PROVIDER_GITLAB_ENABLED"),
    client_id: ("gitlab-client-id", "AUTH_PROVIDER_GITLAB_CLIENT_ID"),
    client_secret: ("gitlab-client-secret", "AUTH_PROVIDER_GITLAB_CLIENT_SECRET"),
    scope: ("gitlab-scope", "AUTH_PROVIDER_GITLAB_SCOPE"),
);

basic_provider!(
    BitbucketProvider, "Bitbucket", "OAuth: Bitbucket", "account",
    enabled: ("bitbucket-enabled", "AUTH_PROVIDER_BITBUCKET_ENABLED"),
    client_id: ("bitbucket-client-id", "AUTH_PROVIDER_BITBUCKET_CLIENT_ID"),
    client_secret: ("bitbucket-client-secret", "AUTH_PROVIDER_BITBUCKET_CLIENT_SECRET"),
    scope: ("bitbucket-scope", "AUTH_PROVIDER_BITBUCKET_SCOPE"),
);

basic_provider!(
    FacebookProvider, "Facebook", "OAuth: Facebook", "email",
    enabled: ("facebook-enabled", "AUTH_PROVIDER_FACEBOOK_ENABLED"),
    client_id: ("facebook-client-id", "AUTH_PROVIDER_FACEBOOK_CLIENT_ID"),
    client_secret: ("facebook-client-secret", "AUTH_PROVIDER_FACEBOOK_CLIENT_SECRET"),
    scope: ("facebook-scope", "AUTH_PROVIDER_FACEBOOK_SCOPE"),
);

// Env names say WINDOWS_LIVE, the flags say windowslive (as upstream).
basic_provider!(
    WindowsliveProvider, "Windows Live", "OAuth: Windows Live", "wl.basic,wl.emails",
    enabled: ("windowslive-enabled", "AUTH_PROVIDER_WINDOWS_LIVE_ENABLED"),
    client_id: ("windowslive-client-id", "AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_ID"),
    client_secret: ("windowslive-client-secret", "AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_SECRET"),
    scope: ("windowslive-scope", "AUTH_PROVIDER_WINDOWS_LIVE_SCOPE"),
);

basic_provider!(
    StravaProvider, "Strava", "OAuth: Strava", "profile:read_all",
    enabled: ("strava-enabled", "AUTH_PROVIDER_STRAVA_ENABLED"),
    client_id: ("strava-client-id", "AUTH_PROVIDER_STRAVA_CLIENT_ID"),
    client_secret: ("strava-client-secret", "AUTH_PROVIDER_STRAVA_CLIENT_SECRET"),
    scope: ("strava-scope", "AUTH_PROVIDER_STRAVA_SCOPE"),
);

// ---------------------------------------------------------------------------------------------

/// All OAuth providers. Reach one as `config.providers.github`, `config.providers.google`, …
#[derive(Clone, Debug, Args)]
pub struct OAuthProviders {
    #[command(flatten)]
    pub github: GithubProvider,
    #[command(flatten)]
    pub google: GoogleProvider,
    #[command(flatten)]
    pub apple: AppleProvider,
    #[command(flatten)]
    pub linkedin: LinkedinProvider,
    #[command(flatten)]
    pub discord: DiscordProvider,
    #[command(flatten)]
    pub spotify: SpotifyProvider,
    #[command(flatten)]
    pub twitch: TwitchProvider,
    #[command(flatten)]
    pub gitlab: GitlabProvider,
    #[command(flatten)]
    pub bitbucket: BitbucketProvider,
    #[command(flatten)]
    pub workos: WorkosProvider,
    #[command(flatten)]
    pub azuread: AzureadProvider,
    #[command(flatten)]
    pub entraid: EntraidProvider,
    #[command(flatten)]
    pub facebook: FacebookProvider,
    #[command(flatten)]
    pub windowslive: WindowsliveProvider,
    #[command(flatten)]
    pub strava: StravaProvider,
    #[command(flatten)]
    pub twitter: TwitterProvider,
}

impl OAuthProviders {
    /// Upstream's provider names (as in `/signin/provider/<name>`), in upstream's order.
    pub const NAMES: [&'static str; 16] = [
        "github",
        "google",
        "apple",
        "linkedin",
        "discord",
        "spotify",
        "twitch",
        "gitlab",
        "bitbucket",
        "workos",
        "azuread",
        "entraid",
        "facebook",
        "windowslive",
        "strava",
        "twitter",
    ];

    /// Whether the provider of that name is enabled (unknown names are not).
    pub fn is_enabled(&self, name: &str) -> bool {
        match name {
            "github" => self.github.enabled,
            "google" => self.google.enabled,
            "apple" => self.apple.enabled,
            "linkedin" => self.linkedin.enabled,
            "discord" => self.discord.enabled,
            "spotify" => self.spotify.enabled,
            "twitch" => self.twitch.enabled,
            "gitlab" => self.gitlab.enabled,
            "bitbucket" => self.bitbucket.enabled,
            "workos" => self.workos.enabled,
            "azuread" => self.azuread.enabled,
            "entraid" => self.entraid.enabled,
            "facebook" => self.facebook.enabled,
            "windowslive" => self.windowslive.enabled,
            "strava" => self.strava.enabled,
            "twitter" => self.twitter.enabled,
            _ => false,
        }
    }

    /// Names of the enabled providers, in upstream's order.
    pub fn enabled(&self) -> Vec<&'static str> {
        Self::NAMES
            .into_iter()
            .filter(|name| self.is_enabled(name))
            .collect()
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        self.github.settings(out);
        self.google.settings(out);
        self.apple.settings(out);
        self.linkedin.settings(out);
        self.discord.settings(out);
        self.spotify.settings(out);
        self.twitch.settings(out);
        self.gitlab.settings(out);
        self.bitbucket.settings(out);
        self.workos.settings(out);
        self.azuread.settings(out);
        self.entraid.settings(out);
        self.facebook.settings(out);
        self.windowslive.settings(out);
        self.strava.settings(out);
        self.twitter.settings(out);
    }
}
