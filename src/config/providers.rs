//! The OAuth providers: one table ([`oauth_provider_table!`]) lists each provider once with
//! its flags (upstream's 72 `oauth-*` flags), its endpoint overrides (our addition) and
//! its adapter. The table drives the settings structs here and the registry of enabled
//! providers (`adapters::oauth::registry`).
//!
//! Adding a provider: an entry in the table, and its adapter file in `adapters/oauth/`
//! with a `build` function (see `adapters::oauth::registry::BuildContext`) and its `mod`
//! line. Upstream seeds every provider id in `auth.providers` with a migration; a new
//! provider needs one too.
//!
//! Each setting is written `field: Type = Kind("flag", "ENV"[, default])` under its doc
//! comment (the `--help` text); the kind ([`ProviderArg`]) brings the value name, default
//! and help details. Flags and env names stay literal so they can be found with grep.

use clap::{Arg, Args};
use serde::Serialize;

use super::Secret;
use super::flag_values::is_sensitive;
use super::parse::{self, GoBoolArg};

/// What a provider setting is, in the table: each kind sets the value name, the default,
/// and hides what must be hidden. As upstream, a flag whose name looks sensitive
/// ([`is_sensitive`]) never shows its env value in `--help`.
#[derive(Debug, Clone, Copy)]
pub enum ProviderArg {
    /// `--x-enabled[=BOOL]`, a Go boolean, false by default.
    Switch,
    /// A client ID or key ID: text, empty by default.
    ClientId,
    /// A client secret: text, empty by default, default hidden.
    Secret,
    /// A PEM private key, empty by default, default hidden.
    Pem,
    /// Free text with this default.
    Text(&'static str),
    /// A URL with this default.
    Url(&'static str),
    /// A comma list of scopes with this default.
    Scope(&'static str),
}

/// Applies a [`ProviderArg`] to a derived argument: `#[arg(…, provider_arg = kind)]`.
pub trait ProviderArgExt {
    fn provider_arg(self, kind: ProviderArg) -> Self;
}

impl ProviderArgExt for Arg {
    fn provider_arg(self, kind: ProviderArg) -> Self {
        let sensitive = self.get_long().is_some_and(is_sensitive);
        // Every kind has a default: the derive's "required" inference does not apply.
        let arg = self.hide_env_values(sensitive).required(false);
        match kind {
            ProviderArg::Switch => arg.value_name("BOOL").go_bool("false"),
            ProviderArg::ClientId => arg.value_name("STRING").default_value(""),
            ProviderArg::Secret => arg
                .value_name("STRING")
                .default_value("")
                .hide_default_value(true),
            ProviderArg::Pem => arg
                .value_name("PEM")
                .default_value("")
                .hide_default_value(true),
            ProviderArg::Text(default) => arg.value_name("STRING").default_value(default),
            ProviderArg::Url(default) => arg.value_name("URL").default_value(default),
            ProviderArg::Scope(default) => arg
                .value_name("LIST")
                .default_value(default)
                .value_delimiter(','),
        }
    }
}

/// The configured scopes with blank items dropped, or `default` when nothing is left.
fn scopes_or_default(scope: &[String], default: &str) -> Vec<String> {
    let scopes = parse::non_empty(scope);
    if scopes.is_empty() {
        default.split(',').map(str::to_owned).collect()
    } else {
        scopes
    }
}

/// Where `--help` lists an endpoint override: by provider name, then as declared (the
/// order it has always had; the table itself is in upstream's order).
fn endpoint_display_order(provider: &str, flag: &str, provider_flags: &[&str]) -> usize {
    let rank = ProviderSettings::NAMES
        .iter()
        .filter(|name| **name < provider)
        .count();
    let position = provider_flags.iter().position(|f| *f == flag);
    rank * 16 + position.unwrap_or_default()
}

/// The settings struct of one provider, from table syntax (also used for the generic
/// OpenID Connect provider in [`super::oauth`]).
macro_rules! provider_settings_struct {
    (
        $(#[doc = $doc:literal])*
        $Settings:ident, $heading:literal, {
            $(
                $(#[doc = $fdoc:literal])*
                $field:ident : $fty:ty = $kind:ident ( $flag:literal, $env:literal $(, $default:expr)? )
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Debug, Args, serde::Serialize)]
        #[command(next_help_heading = $heading)]
        pub struct $Settings {
            $(
                $(#[doc = $fdoc])*
                #[arg(id = $flag, long = $flag, env = $env,
                      provider_arg = $crate::config::providers::ProviderArg::$kind $(($default))?)]
                #[serde(rename = $flag)]
                pub $field: $fty,
            )*
        }

        impl $Settings {
            /// Flag names, in declaration order.
            pub const FLAGS: &'static [&'static str] = &[$($flag),*];
        }
    };
}
pub(crate) use provider_settings_struct;

/// The endpoint overrides of one provider (our addition), listed under one `--help`
/// section for all providers.
macro_rules! provider_endpoints_struct {
    (
        $name:ident, $Endpoints:ident, {
            $(
                $(#[doc = $doc:literal])*
                $field:ident = ( $flag:literal, $env:literal, $default:literal )
            ),* $(,)?
        }
    ) => {
        #[derive(Clone, Debug, Args, Serialize)]
        pub struct $Endpoints {
            $(
                $(#[doc = $doc])*
                #[arg(id = $flag, long = $flag, env = $env, value_name = "URL",
                      default_value = $default, hide_env_values = true,
                      display_order = endpoint_display_order(stringify!($name), $flag, Self::FLAGS))]
                #[serde(rename = $flag)]
                pub $field: String,
            )*
        }

        impl $Endpoints {
            /// Flag names, in declaration order.
            pub const FLAGS: &'static [&'static str] = &[$($flag),*];
        }
    };
}

/// From the table: each provider's settings and endpoints, [`ProviderSettings`] (all of
/// upstream's provider flags) and [`ProviderEndpoints`] (all endpoint overrides).
macro_rules! define_provider_settings {
    (
        $(
            $(#[doc = $doc:literal])*
            $name:ident : $Settings:ident, $Endpoints:ident => $($adapter:ident)::+ {
                heading: $heading:literal,
                $(default_scope: $default_scope:literal,)?
                settings: { $($fields:tt)* },
                endpoints: { $($endpoints:tt)* } $(,)?
            }
        )*
    ) => {
        $(
            provider_settings_struct!($(#[doc = $doc])* $Settings, $heading, { $($fields)* });
            provider_endpoints_struct!($name, $Endpoints, { $($endpoints)* });

            $(
                impl $Settings {
                    /// Default scope list of this provider.
                    pub const DEFAULT_SCOPE: &'static str = $default_scope;

                    /// Scopes to request: the configured list, or the default when it is empty.
                    pub fn scopes(&self) -> Vec<String> {
                        scopes_or_default(&self.scope, Self::DEFAULT_SCOPE)
                    }
                }
            )?
        )*

        /// Upstream's OAuth providers. Reach one as `config.providers.github`, …
        #[derive(Clone, Debug, Args, Serialize)]
        pub struct ProviderSettings {
            $(
                #[command(flatten)]
                #[serde(flatten)]
                pub $name: $Settings,
            )*
        }

        impl ProviderSettings {
            /// Upstream's provider names (as in `/signin/provider/<name>`), in upstream's order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// Whether the provider of that name is enabled (unknown names are not).
            pub fn is_enabled(&self, name: &str) -> bool {
                $( if name == stringify!($name) { return self.$name.enabled; } )*
                false
            }
        }

        /// The endpoint overrides of every provider (our addition).
        #[derive(Clone, Debug, Args, Serialize)]
        #[command(next_help_heading = "OAuth provider endpoints")]
        pub struct ProviderEndpoints {
            $(
                #[command(flatten)]
                #[serde(flatten)]
                pub $name: $Endpoints,
            )*
        }

        impl ProviderEndpoints {
            /// Flag names, provider by provider.
            pub fn flags() -> impl Iterator<Item = &'static str> {
                [$($Endpoints::FLAGS),*].into_iter().flatten().copied()
            }
        }
    };
}

/// The provider table: calls `$callback! { … }` with every provider, in upstream's order.
/// An entry: `name: SettingsStruct, EndpointsStruct => adapter_module::AdapterType { … }`.
macro_rules! oauth_provider_table {
    ($callback:ident) => {
        $callback! {
            /// GitHub (configurable endpoints, e.g. for GitHub Enterprise).
            github: GithubProvider, GithubEndpoints => github::Github {
                heading: "OAuth: GitHub",
                default_scope: "user:email",
                settings: {
                    /// Enable sign-in with GitHub
                    enabled: bool = Switch("github-enabled", "AUTH_PROVIDER_GITHUB_ENABLED"),
                    /// GitHub OAuth client ID
                    client_id: String = ClientId("github-client-id", "AUTH_PROVIDER_GITHUB_CLIENT_ID"),
                    /// GitHub OAuth client secret
                    client_secret: Secret = Secret("github-client-secret", "AUTH_PROVIDER_GITHUB_CLIENT_SECRET"),
                    /// GitHub authorization endpoint
                    authorization_url: String = Url("github-authorization-url", "AUTH_PROVIDER_GITHUB_AUTHORIZATION_URL",
                        "https://github.com/login/oauth/authorize"),
                    /// GitHub token endpoint
                    token_url: String = Url("github-token-url", "AUTH_PROVIDER_GITHUB_TOKEN_URL",
                        "https://github.com/login/oauth/access_token"),
                    /// GitHub user profile endpoint
                    user_profile_url: String = Url("github-user-profile-url", "AUTH_PROVIDER_GITHUB_USER_PROFILE_URL",
                        "https://api.github.com/user"),
                    /// GitHub OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("github-scope", "AUTH_PROVIDER_GITHUB_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// GitHub user emails endpoint
                    user_emails_url = ("github-user-emails-url", "AUTH_PROVIDER_GITHUB_USER_EMAILS_URL",
                        "https://api.github.com/user/emails"),
                },
            }

            google: GoogleProvider, GoogleEndpoints => google::Google {
                heading: "OAuth: Google",
                default_scope: "openid,email,profile",
                settings: {
                    /// Enable sign-in with Google
                    enabled: bool = Switch("google-enabled", "AUTH_PROVIDER_GOOGLE_ENABLED"),
                    /// Google OAuth client ID
                    client_id: String = ClientId("google-client-id", "AUTH_PROVIDER_GOOGLE_CLIENT_ID"),
                    /// Google OAuth client secret
                    client_secret: Secret = Secret("google-client-secret", "AUTH_PROVIDER_GOOGLE_CLIENT_SECRET"),
                    /// Google OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("google-scope", "AUTH_PROVIDER_GOOGLE_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Google authorization endpoint
                    authorization_url = ("google-authorization-url", "AUTH_PROVIDER_GOOGLE_AUTHORIZATION_URL",
                        "https://accounts.google.com/o/oauth2/auth"),
                    /// Google token endpoint
                    token_url = ("google-token-url", "AUTH_PROVIDER_GOOGLE_TOKEN_URL",
                        "https://oauth2.googleapis.com/token"),
                    /// Google user info endpoint
                    user_profile_url = ("google-user-profile-url", "AUTH_PROVIDER_GOOGLE_USER_PROFILE_URL",
                        "https://www.googleapis.com/oauth2/v2/userinfo"),
                    /// Google signing keys (JWKS) for id tokens
                    jwks_url = ("google-jwks-url", "AUTH_PROVIDER_GOOGLE_JWKS_URL",
                        "https://www.googleapis.com/oauth2/v3/certs"),
                },
            }

            /// Apple (the client secret is a JWT signed with the team's private key).
            apple: AppleProvider, AppleEndpoints => apple::Apple {
                heading: "OAuth: Apple",
                default_scope: "name,email",
                settings: {
                    /// Enable sign-in with Apple
                    enabled: bool = Switch("apple-enabled", "AUTH_PROVIDER_APPLE_ENABLED"),
                    /// Apple Services ID (OAuth client ID)
                    client_id: String = ClientId("apple-client-id", "AUTH_PROVIDER_APPLE_CLIENT_ID"),
                    /// Apple developer team ID
                    team_id: String = Text("apple-team-id", "AUTH_PROVIDER_APPLE_TEAM_ID", ""),
                    /// ID of the Apple private key
                    key_id: String = ClientId("apple-key-id", "AUTH_PROVIDER_APPLE_KEY_ID"),
                    /// Apple private key (PEM, EC P-256) used to sign the client secret
                    private_key: Secret = Pem("apple-private-key", "AUTH_PROVIDER_APPLE_PRIVATE_KEY"),
                    /// Apple OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("apple-scope", "AUTH_PROVIDER_APPLE_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Apple authorization endpoint
                    authorization_url = ("apple-authorization-url", "AUTH_PROVIDER_APPLE_AUTHORIZATION_URL",
                        "https://appleid.apple.com/auth/authorize"),
                    /// Apple token endpoint
                    token_url = ("apple-token-url", "AUTH_PROVIDER_APPLE_TOKEN_URL",
                        "https://appleid.apple.com/auth/token"),
                    /// Apple signing keys (JWKS) for id tokens
                    jwks_url = ("apple-jwks-url", "AUTH_PROVIDER_APPLE_JWKS_URL",
                        "https://appleid.apple.com/auth/keys"),
                },
            }

            linkedin: LinkedinProvider, LinkedinEndpoints => linkedin::Linkedin {
                heading: "OAuth: LinkedIn",
                default_scope: "openid,profile,email",
                settings: {
                    /// Enable sign-in with LinkedIn
                    enabled: bool = Switch("linkedin-enabled", "AUTH_PROVIDER_LINKEDIN_ENABLED"),
                    /// LinkedIn OAuth client ID
                    client_id: String = ClientId("linkedin-client-id", "AUTH_PROVIDER_LINKEDIN_CLIENT_ID"),
                    /// LinkedIn OAuth client secret
                    client_secret: Secret = Secret("linkedin-client-secret", "AUTH_PROVIDER_LINKEDIN_CLIENT_SECRET"),
                    /// LinkedIn OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("linkedin-scope", "AUTH_PROVIDER_LINKEDIN_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// LinkedIn authorization endpoint
                    authorization_url = ("linkedin-authorization-url", "AUTH_PROVIDER_LINKEDIN_AUTHORIZATION_URL",
                        "https://www.linkedin.com/oauth/v2/authorization"),
                    /// LinkedIn token endpoint
                    token_url = ("linkedin-token-url", "AUTH_PROVIDER_LINKEDIN_TOKEN_URL",
                        "https://www.linkedin.com/oauth/v2/accessToken"),
                    /// LinkedIn user info endpoint
                    user_profile_url = ("linkedin-user-profile-url", "AUTH_PROVIDER_LINKEDIN_USER_PROFILE_URL",
                        "https://api.linkedin.com/v2/userinfo"),
                },
            }

            discord: DiscordProvider, DiscordEndpoints => discord::Discord {
                heading: "OAuth: Discord",
                default_scope: "identify,email",
                settings: {
                    /// Enable sign-in with Discord
                    enabled: bool = Switch("discord-enabled", "AUTH_PROVIDER_DISCORD_ENABLED"),
                    /// Discord OAuth client ID
                    client_id: String = ClientId("discord-client-id", "AUTH_PROVIDER_DISCORD_CLIENT_ID"),
                    /// Discord OAuth client secret
                    client_secret: Secret = Secret("discord-client-secret", "AUTH_PROVIDER_DISCORD_CLIENT_SECRET"),
                    /// Discord OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("discord-scope", "AUTH_PROVIDER_DISCORD_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Discord authorization endpoint
                    authorization_url = ("discord-authorization-url", "AUTH_PROVIDER_DISCORD_AUTHORIZATION_URL",
                        "https://discord.com/api/oauth2/authorize"),
                    /// Discord token endpoint
                    token_url = ("discord-token-url", "AUTH_PROVIDER_DISCORD_TOKEN_URL",
                        "https://discord.com/api/oauth2/token"),
                    /// Discord user endpoint
                    user_profile_url = ("discord-user-profile-url", "AUTH_PROVIDER_DISCORD_USER_PROFILE_URL",
                        "https://discord.com/api/users/@me"),
                },
            }

            spotify: SpotifyProvider, SpotifyEndpoints => spotify::Spotify {
                heading: "OAuth: Spotify",
                default_scope: "user-read-email,user-read-private",
                settings: {
                    /// Enable sign-in with Spotify
                    enabled: bool = Switch("spotify-enabled", "AUTH_PROVIDER_SPOTIFY_ENABLED"),
                    /// Spotify OAuth client ID
                    client_id: String = ClientId("spotify-client-id", "AUTH_PROVIDER_SPOTIFY_CLIENT_ID"),
                    /// Spotify OAuth client secret
                    client_secret: Secret = Secret("spotify-client-secret", "AUTH_PROVIDER_SPOTIFY_CLIENT_SECRET"),
                    /// Spotify OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("spotify-scope", "AUTH_PROVIDER_SPOTIFY_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Spotify authorization endpoint
                    authorization_url = ("spotify-authorization-url", "AUTH_PROVIDER_SPOTIFY_AUTHORIZATION_URL",
                        "https://accounts.spotify.com/authorize"),
                    /// Spotify token endpoint
                    token_url = ("spotify-token-url", "AUTH_PROVIDER_SPOTIFY_TOKEN_URL",
                        "https://accounts.spotify.com/api/token"),
                    /// Spotify user endpoint
                    user_profile_url = ("spotify-user-profile-url", "AUTH_PROVIDER_SPOTIFY_USER_PROFILE_URL",
                        "https://api.spotify.com/v1/me"),
                },
            }

            twitch: TwitchProvider, TwitchEndpoints => twitch::Twitch {
                heading: "OAuth: Twitch",
                default_scope: "user:read:email",
                settings: {
                    /// Enable sign-in with Twitch
                    enabled: bool = Switch("twitch-enabled", "AUTH_PROVIDER_TWITCH_ENABLED"),
                    /// Twitch OAuth client ID
                    client_id: String = ClientId("twitch-client-id", "AUTH_PROVIDER_TWITCH_CLIENT_ID"),
                    /// Twitch OAuth client secret
                    client_secret: Secret = Secret("twitch-client-secret", "AUTH_PROVIDER_TWITCH_CLIENT_SECRET"),
                    /// Twitch OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("twitch-scope", "AUTH_PROVIDER_TWITCH_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Twitch authorization endpoint
                    authorization_url = ("twitch-authorization-url", "AUTH_PROVIDER_TWITCH_AUTHORIZATION_URL",
                        "https://id.twitch.tv/oauth2/authorize"),
                    /// Twitch token endpoint
                    token_url = ("twitch-token-url", "AUTH_PROVIDER_TWITCH_TOKEN_URL",
                        "https://id.twitch.tv/oauth2/token"),
                    /// Twitch users endpoint
                    user_profile_url = ("twitch-user-profile-url", "AUTH_PROVIDER_TWITCH_USER_PROFILE_URL",
                        "https://api.twitch.tv/helix/users"),
                },
            }

            gitlab: GitlabProvider, GitlabEndpoints => gitlab::Gitlab {
                heading: "OAuth: GitLab",
                default_scope: "read_user",
                settings: {
                    /// Enable sign-in with GitLab
                    enabled: bool = Switch("gitlab-enabled", "AUTH_PROVIDER_GITLAB_ENABLED"),
                    /// GitLab OAuth client ID
                    client_id: String = ClientId("gitlab-client-id", "AUTH_PROVIDER_GITLAB_CLIENT_ID"),
                    /// GitLab OAuth client secret
                    client_secret: Secret = Secret("gitlab-client-secret", "AUTH_PROVIDER_GITLAB_CLIENT_SECRET"),
                    /// GitLab OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("gitlab-scope", "AUTH_PROVIDER_GITLAB_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// GitLab authorization endpoint
                    authorization_url = ("gitlab-authorization-url", "AUTH_PROVIDER_GITLAB_AUTHORIZATION_URL",
                        "https://gitlab.com/oauth/authorize"),
                    /// GitLab token endpoint
                    token_url = ("gitlab-token-url", "AUTH_PROVIDER_GITLAB_TOKEN_URL",
                        "https://gitlab.com/oauth/token"),
                    /// GitLab user endpoint
                    user_profile_url = ("gitlab-user-profile-url", "AUTH_PROVIDER_GITLAB_USER_PROFILE_URL",
                        "https://gitlab.com/api/v4/user"),
                },
            }

            bitbucket: BitbucketProvider, BitbucketEndpoints => bitbucket::Bitbucket {
                heading: "OAuth: Bitbucket",
                default_scope: "account",
                settings: {
                    /// Enable sign-in with Bitbucket
                    enabled: bool = Switch("bitbucket-enabled", "AUTH_PROVIDER_BITBUCKET_ENABLED"),
                    /// Bitbucket OAuth client ID
                    client_id: String = ClientId("bitbucket-client-id", "AUTH_PROVIDER_BITBUCKET_CLIENT_ID"),
                    /// Bitbucket OAuth client secret
                    client_secret: Secret = Secret("bitbucket-client-secret", "AUTH_PROVIDER_BITBUCKET_CLIENT_SECRET"),
                    /// Bitbucket OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("bitbucket-scope", "AUTH_PROVIDER_BITBUCKET_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Bitbucket authorization endpoint
                    authorization_url = ("bitbucket-authorization-url", "AUTH_PROVIDER_BITBUCKET_AUTHORIZATION_URL",
                        "https://bitbucket.org/site/oauth2/authorize"),
                    /// Bitbucket token endpoint
                    token_url = ("bitbucket-token-url", "AUTH_PROVIDER_BITBUCKET_TOKEN_URL",
                        "https://bitbucket.org/site/oauth2/access_token"),
                    /// Bitbucket user endpoint
                    user_profile_url = ("bitbucket-user-profile-url", "AUTH_PROVIDER_BITBUCKET_USER_PROFILE_URL",
                        "https://api.bitbucket.org/2.0/user"),
                    /// Bitbucket user emails endpoint
                    user_emails_url = ("bitbucket-user-emails-url", "AUTH_PROVIDER_BITBUCKET_USER_EMAILS_URL",
                        "https://api.bitbucket.org/2.0/user/emails"),
                },
            }

            /// WorkOS (no scope setting upstream: an empty `scope=` is always sent).
            workos: WorkosProvider, WorkosEndpoints => workos::Workos {
                heading: "OAuth: WorkOS",
                settings: {
                    /// Enable sign-in with WorkOS
                    enabled: bool = Switch("workos-enabled", "AUTH_PROVIDER_WORKOS_ENABLED"),
                    /// WorkOS client ID
                    client_id: String = ClientId("workos-client-id", "AUTH_PROVIDER_WORKOS_CLIENT_ID"),
                    /// WorkOS client secret (API key)
                    client_secret: Secret = Secret("workos-client-secret", "AUTH_PROVIDER_WORKOS_CLIENT_SECRET"),
                    /// WorkOS organization used when the request names none
                    default_organization: String = Text("workos-default-organization",
                        "AUTH_PROVIDER_WORKOS_DEFAULT_ORGANIZATION", ""),
                    /// WorkOS connection used when the request names none
                    default_connection: String = Text("workos-default-connection",
                        "AUTH_PROVIDER_WORKOS_DEFAULT_CONNECTION", ""),
                    /// WorkOS domain used when the request names none
                    default_domain: String = Text("workos-default-domain", "AUTH_PROVIDER_WORKOS_DEFAULT_DOMAIN", ""),
                },
                endpoints: {
                    /// WorkOS authorization endpoint
                    authorization_url = ("workos-authorization-url", "AUTH_PROVIDER_WORKOS_AUTHORIZATION_URL",
                        "https://api.workos.com/sso/authorize"),
                    /// WorkOS token endpoint
                    token_url = ("workos-token-url", "AUTH_PROVIDER_WORKOS_TOKEN_URL",
                        "https://api.workos.com/sso/token"),
                    /// WorkOS profile endpoint
                    user_profile_url = ("workos-user-profile-url", "AUTH_PROVIDER_WORKOS_USER_PROFILE_URL",
                        "https://api.workos.com/sso/profile"),
                },
            }

            /// Azure AD (deprecated upstream in favour of Entra ID); its endpoints default to
            /// the tenant's.
            azuread: AzureadProvider, AzureadEndpoints => azuread::Azuread {
                heading: "OAuth: Azure AD (deprecated, use Entra ID)",
                default_scope: "email,profile,openid,offline_access",
                settings: {
                    /// Enable sign-in with Azure AD (deprecated: use Entra ID)
                    enabled: bool = Switch("azuread-enabled", "AUTH_PROVIDER_AZUREAD_ENABLED"),
                    /// Azure AD application (client) ID
                    client_id: String = ClientId("azuread-client-id", "AUTH_PROVIDER_AZUREAD_CLIENT_ID"),
                    /// Azure AD client secret
                    client_secret: Secret = Secret("azuread-client-secret", "AUTH_PROVIDER_AZUREAD_CLIENT_SECRET"),
                    /// Azure AD tenant (ID, domain, or common/organizations/consumers)
                    tenant: String = Text("azuread-tenant", "AUTH_PROVIDER_AZUREAD_TENANT", "common"),
                    /// Azure AD OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("azuread-scope", "AUTH_PROVIDER_AZUREAD_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Azure AD authorization endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/authorize?prompt=select_account)
                    authorization_url = ("azuread-authorization-url", "AUTH_PROVIDER_AZUREAD_AUTHORIZATION_URL", ""),
                    /// Azure AD token endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/token)
                    token_url = ("azuread-token-url", "AUTH_PROVIDER_AZUREAD_TOKEN_URL", ""),
                    /// Azure AD user info endpoint (default: https://login.microsoftonline.com/<tenant>/openid/userinfo)
                    user_profile_url = ("azuread-user-profile-url", "AUTH_PROVIDER_AZUREAD_USER_PROFILE_URL", ""),
                },
            }

            /// Microsoft Entra ID; its authorization and token endpoints default to the tenant's.
            entraid: EntraidProvider, EntraidEndpoints => entraid::Entraid {
                heading: "OAuth: Microsoft Entra ID",
                default_scope: "email,profile,openid,offline_access",
                settings: {
                    /// Enable sign-in with Microsoft Entra ID
                    enabled: bool = Switch("entraid-enabled", "AUTH_PROVIDER_ENTRAID_ENABLED"),
                    /// Entra ID application (client) ID
                    client_id: String = ClientId("entraid-client-id", "AUTH_PROVIDER_ENTRAID_CLIENT_ID"),
                    /// Entra ID client secret
                    client_secret: Secret = Secret("entraid-client-secret", "AUTH_PROVIDER_ENTRAID_CLIENT_SECRET"),
                    /// Entra ID tenant (ID, domain, or common/organizations/consumers)
                    tenant: String = Text("entraid-tenant", "AUTH_PROVIDER_ENTRAID_TENANT", "common"),
                    /// Entra ID OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("entraid-scope", "AUTH_PROVIDER_ENTRAID_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Entra ID authorization endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/authorize)
                    authorization_url = ("entraid-authorization-url", "AUTH_PROVIDER_ENTRAID_AUTHORIZATION_URL", ""),
                    /// Entra ID token endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token)
                    token_url = ("entraid-token-url", "AUTH_PROVIDER_ENTRAID_TOKEN_URL", ""),
                    /// Entra ID user info endpoint
                    user_profile_url = ("entraid-user-profile-url", "AUTH_PROVIDER_ENTRAID_USER_PROFILE_URL",
                        "https://graph.microsoft.com/oidc/userinfo"),
                },
            }

            facebook: FacebookProvider, FacebookEndpoints => facebook::Facebook {
                heading: "OAuth: Facebook",
                default_scope: "email",
                settings: {
                    /// Enable sign-in with Facebook
                    enabled: bool = Switch("facebook-enabled", "AUTH_PROVIDER_FACEBOOK_ENABLED"),
                    /// Facebook OAuth client ID
                    client_id: String = ClientId("facebook-client-id", "AUTH_PROVIDER_FACEBOOK_CLIENT_ID"),
                    /// Facebook OAuth client secret
                    client_secret: Secret = Secret("facebook-client-secret", "AUTH_PROVIDER_FACEBOOK_CLIENT_SECRET"),
                    /// Facebook OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("facebook-scope", "AUTH_PROVIDER_FACEBOOK_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Facebook authorization endpoint
                    authorization_url = ("facebook-authorization-url", "AUTH_PROVIDER_FACEBOOK_AUTHORIZATION_URL",
                        "https://www.facebook.com/v22.0/dialog/oauth"),
                    /// Facebook token endpoint
                    token_url = ("facebook-token-url", "AUTH_PROVIDER_FACEBOOK_TOKEN_URL",
                        "https://graph.facebook.com/v22.0/oauth/access_token"),
                    /// Facebook user endpoint (fields=id,name,email,picture is added)
                    user_profile_url = ("facebook-user-profile-url", "AUTH_PROVIDER_FACEBOOK_USER_PROFILE_URL",
                        "https://graph.facebook.com/me"),
                },
            }

            /// Windows Live (env names say WINDOWS_LIVE, flags windowslive, as upstream).
            windowslive: WindowsliveProvider, WindowsliveEndpoints => windowslive::Windowslive {
                heading: "OAuth: Windows Live",
                default_scope: "wl.basic,wl.emails",
                settings: {
                    /// Enable sign-in with Windows Live
                    enabled: bool = Switch("windowslive-enabled", "AUTH_PROVIDER_WINDOWS_LIVE_ENABLED"),
                    /// Windows Live OAuth client ID
                    client_id: String = ClientId("windowslive-client-id", "AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_ID"),
                    /// Windows Live OAuth client secret
                    client_secret: Secret = Secret("windowslive-client-secret",
                        "AUTH_PROVIDER_WINDOWS_LIVE_CLIENT_SECRET"),
                    /// Windows Live OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("windowslive-scope", "AUTH_PROVIDER_WINDOWS_LIVE_SCOPE",
                        Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Windows Live authorization endpoint
                    authorization_url = ("windowslive-authorization-url", "AUTH_PROVIDER_WINDOWS_LIVE_AUTHORIZATION_URL",
                        "https://login.live.com/oauth20_authorize.srf"),
                    /// Windows Live token endpoint
                    token_url = ("windowslive-token-url", "AUTH_PROVIDER_WINDOWS_LIVE_TOKEN_URL",
                        "https://login.live.com/oauth20_token.srf"),
                    /// Windows Live user endpoint
                    user_profile_url = ("windowslive-user-profile-url", "AUTH_PROVIDER_WINDOWS_LIVE_USER_PROFILE_URL",
                        "https://apis.live.net/v5.0/me"),
                },
            }

            strava: StravaProvider, StravaEndpoints => strava::Strava {
                heading: "OAuth: Strava",
                default_scope: "profile:read_all",
                settings: {
                    /// Enable sign-in with Strava
                    enabled: bool = Switch("strava-enabled", "AUTH_PROVIDER_STRAVA_ENABLED"),
                    /// Strava OAuth client ID
                    client_id: String = ClientId("strava-client-id", "AUTH_PROVIDER_STRAVA_CLIENT_ID"),
                    /// Strava OAuth client secret
                    client_secret: Secret = Secret("strava-client-secret", "AUTH_PROVIDER_STRAVA_CLIENT_SECRET"),
                    /// Strava OAuth scopes (comma list; empty means the default)
                    scope: Vec<String> = Scope("strava-scope", "AUTH_PROVIDER_STRAVA_SCOPE", Self::DEFAULT_SCOPE),
                },
                endpoints: {
                    /// Strava authorization endpoint
                    authorization_url = ("strava-authorization-url", "AUTH_PROVIDER_STRAVA_AUTHORIZATION_URL",
                        "https://www.strava.com/api/v3/oauth/authorize"),
                    /// Strava token endpoint
                    token_url = ("strava-token-url", "AUTH_PROVIDER_STRAVA_TOKEN_URL",
                        "https://www.strava.com/api/v3/oauth/token"),
                    /// Strava athlete endpoint
                    user_profile_url = ("strava-user-profile-url", "AUTH_PROVIDER_STRAVA_USER_PROFILE_URL",
                        "https://www.strava.com/api/v3/athlete"),
                },
            }

            /// Twitter (OAuth 1.0a: consumer key and secret, no scope).
            twitter: TwitterProvider, TwitterEndpoints => twitter::Twitter {
                heading: "OAuth: Twitter",
                settings: {
                    /// Enable sign-in with Twitter (OAuth 1.0a)
                    enabled: bool = Switch("twitter-enabled", "AUTH_PROVIDER_TWITTER_ENABLED"),
                    /// Twitter consumer (API) key
                    consumer_key: String = ClientId("twitter-consumer-key", "AUTH_PROVIDER_TWITTER_CONSUMER_KEY"),
                    /// Twitter consumer (API) secret
                    consumer_secret: Secret = Secret("twitter-consumer-secret", "AUTH_PROVIDER_TWITTER_CONSUMER_SECRET"),
                },
                endpoints: {
                    /// Twitter OAuth 1.0a request-token endpoint
                    request_token_url = ("twitter-request-token-url", "AUTH_PROVIDER_TWITTER_REQUEST_TOKEN_URL",
                        "https://api.twitter.com/oauth/request_token"),
                    /// Twitter authorization page
                    authorization_url = ("twitter-authorization-url", "AUTH_PROVIDER_TWITTER_AUTHORIZATION_URL",
                        "https://api.twitter.com/oauth/authorize"),
                    /// Twitter OAuth 1.0a access-token endpoint
                    access_token_url = ("twitter-access-token-url", "AUTH_PROVIDER_TWITTER_ACCESS_TOKEN_URL",
                        "https://api.twitter.com/oauth/access_token"),
                    /// Twitter verify-credentials endpoint
                    user_profile_url = ("twitter-user-profile-url", "AUTH_PROVIDER_TWITTER_USER_PROFILE_URL",
                        "https://api.twitter.com/1.1/account/verify_credentials.json"),
                },
            }
        }
    };
}
pub(crate) use oauth_provider_table;

oauth_provider_table!(define_provider_settings);

impl WorkosProvider {
    /// Upstream has no scope setting for WorkOS and always sends one empty scope.
    pub fn scopes(&self) -> Vec<String> {
        vec![String::new()]
    }
}

impl ProviderSettings {
    /// Names of the enabled providers, in upstream's order.
    pub fn enabled(&self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .copied()
            .filter(|name| self.is_enabled(name))
            .collect()
    }
}
