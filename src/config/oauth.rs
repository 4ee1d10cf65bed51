//! OAuth settings that upstream does not have (our additions; see docs/oauth.md):
//!
//! * an override for every provider endpoint, so self-hosted instances (GitLab, GitHub
//!   Enterprise, sovereign clouds) and tests can point a provider at another server;
//! * the JWKS URLs used to check Apple and Google id tokens;
//! * a generic OpenID Connect provider configured by its discovery URL.
//!
//! An empty endpoint means the provider's default (for Azure AD and Entra ID the default
//! depends on the tenant). Env names follow upstream's `AUTH_PROVIDER_<NAME>_…` pattern.

use clap::{ArgAction, Args};

use super::Secret;
use super::parse;
use super::settings::{SettingValue, Settings};

/// Declares the endpoint-override struct from one line per setting
/// (field, flag, env var, default, help) so the names stay greppable.
macro_rules! endpoint_overrides {
    ($( $field:ident : ($flag:literal, $env:literal, $default:literal, $help:literal) ),* $(,)?) => {
        /// Endpoint overrides of the OAuth providers (our addition).
        #[derive(Clone, Debug, Args)]
        #[command(next_help_heading = "OAuth provider endpoints")]
        pub struct ProviderEndpoints {
            $(
                #[arg(id = $flag, long = $flag, env = $env, help = $help, value_name = "URL",
                      default_value = $default, hide_env_values = true)]
                pub $field: String,
            )*
        }

        impl ProviderEndpoints {
            /// Flag names, in declaration order.
            pub const FLAGS: &'static [&'static str] = &[$($flag),*];

            pub(crate) fn settings(&self, out: &mut Settings) {
                $( out.push($flag, self.$field.to_setting()); )*
            }
        }
    };
}

endpoint_overrides! {
    apple_authorization_url: ("apple-authorization-url", "AUTH_PROVIDER_APPLE_AUTHORIZATION_URL",
        "https://appleid.apple.com/auth/authorize", "Apple authorization endpoint"),
    apple_token_url: ("apple-token-url", "AUTH_PROVIDER_APPLE_TOKEN_URL",
        "https://appleid.apple.com/auth/token", "Apple token endpoint"),
    apple_jwks_url: ("apple-jwks-url", "AUTH_PROVIDER_APPLE_JWKS_URL",
        "https://appleid.apple.com/auth/keys", "Apple signing keys (JWKS) for id tokens"),

    azuread_authorization_url: ("azuread-authorization-url", "AUTH_PROVIDER_AZUREAD_AUTHORIZATION_URL",
        "", "Azure AD authorization endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/authorize?prompt=select_account)"),
    azuread_token_url: ("azuread-token-url", "AUTH_PROVIDER_AZUREAD_TOKEN_URL",
        "", "Azure AD token endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/token)"),
    azuread_user_profile_url: ("azuread-user-profile-url", "AUTH_PROVIDER_AZUREAD_USER_PROFILE_URL",
        "", "Azure AD user info endpoint (default: https://login.microsoftonline.com/<tenant>/openid/userinfo)"),

    bitbucket_authorization_url: ("bitbucket-authorization-url", "AUTH_PROVIDER_BITBUCKET_AUTHORIZATION_URL",
        "https://bitbucket.org/site/oauth2/authorize", "Bitbucket authorization endpoint"),
    bitbucket_token_url: ("bitbucket-token-url", "AUTH_PROVIDER_BITBUCKET_TOKEN_URL",
        "https://bitbucket.org/site/oauth2/access_token", "Bitbucket token endpoint"),
    bitbucket_user_profile_url: ("bitbucket-user-profile-url", "AUTH_PROVIDER_BITBUCKET_USER_PROFILE_URL",
        "https://api.bitbucket.org/2.0/user", "Bitbucket user endpoint"),
    bitbucket_user_emails_url: ("bitbucket-user-emails-url", "AUTH_PROVIDER_BITBUCKET_USER_EMAILS_URL",
        "https://api.bitbucket.org/2.0/user/emails", "Bitbucket user emails endpoint"),

    discord_authorization_url: ("discord-authorization-url", "AUTH_PROVIDER_DISCORD_AUTHORIZATION_URL",
        "https://discord.com/api/oauth2/authorize", "Discord authorization endpoint"),
    discord_token_url: ("discord-token-url", "AUTH_PROVIDER_DISCORD_TOKEN_URL",
        "https://discord.com/api/oauth2/token", "Discord token endpoint"),
    discord_user_profile_url: ("discord-user-profile-url", "AUTH_PROVIDER_DISCORD_USER_PROFILE_URL",
        "https://discord.com/api/users/@me", "Discord user endpoint"),

    entraid_authorization_url: ("entraid-authorization-url", "AUTH_PROVIDER_ENTRAID_AUTHORIZATION_URL",
        "", "Entra ID authorization endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/authorize)"),
    entraid_token_url: ("entraid-token-url", "AUTH_PROVIDER_ENTRAID_TOKEN_URL",
        "", "Entra ID token endpoint (default: https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token)"),
    entraid_user_profile_url: ("entraid-user-profile-url", "AUTH_PROVIDER_ENTRAID_USER_PROFILE_URL",
        "https://graph.microsoft.com/oidc/userinfo", "Entra ID user info endpoint"),

    facebook_authorization_url: ("facebook-authorization-url", "AUTH_PROVIDER_FACEBOOK_AUTHORIZATION_URL",
        "https://www.facebook.com/v22.0/dialog/oauth", "Facebook authorization endpoint"),
    facebook_token_url: ("facebook-token-url", "AUTH_PROVIDER_FACEBOOK_TOKEN_URL",
        "https://graph.facebook.com/v22.0/oauth/access_token", "Facebook token endpoint"),
    facebook_user_profile_url: ("facebook-user-profile-url", "AUTH_PROVIDER_FACEBOOK_USER_PROFILE_URL",
        "https://graph.facebook.com/me", "Facebook user endpoint (fields=id,name,email,picture is added)"),

    github_user_emails_url: ("github-user-emails-url", "AUTH_PROVIDER_GITHUB_USER_EMAILS_URL",
        "https://api.github.com/user/emails", "GitHub user emails endpoint"),

    gitlab_authorization_url: ("gitlab-authorization-url", "AUTH_PROVIDER_GITLAB_AUTHORIZATION_URL",
        "https://gitlab.com/oauth/authorize", "GitLab authorization endpoint"),
    gitlab_token_url: ("gitlab-token-url", "AUTH_PROVIDER_GITLAB_TOKEN_URL",
        "https://gitlab.com/oauth/token", "GitLab token endpoint"),
    gitlab_user_profile_url: ("gitlab-user-profile-url", "AUTH_PROVIDER_GITLAB_USER_PROFILE_URL",
        "https://gitlab.com/api/v4/user", "GitLab user endpoint"),

    google_authorization_url: ("google-authorization-url", "AUTH_PROVIDER_GOOGLE_AUTHORIZATION_URL",
        "https://accounts.google.com/o/oauth2/auth", "Google authorization endpoint"),
    google_token_url: ("google-token-url", "AUTH_PROVIDER_GOOGLE_TOKEN_URL",
        "https://oauth2.googleapis.com/token", "Google token endpoint"),
    google_user_profile_url: ("google-user-profile-url", "AUTH_PROVIDER_GOOGLE_USER_PROFILE_URL",
        "https://www.googleapis.com/oauth2/v2/userinfo", "Google user info endpoint"),
    google_jwks_url: ("google-jwks-url", "AUTH_PROVIDER_GOOGLE_JWKS_URL",
        "https://www.googleapis.com/oauth2/v3/certs", "Google signing keys (JWKS) for id tokens"),

    linkedin_authorization_url: ("linkedin-authorization-url", "AUTH_PROVIDER_LINKEDIN_AUTHORIZATION_URL",
        "https://www.linkedin.com/oauth/v2/authorization", "LinkedIn authorization endpoint"),
    linkedin_token_url: ("linkedin-token-url", "AUTH_PROVIDER_LINKEDIN_TOKEN_URL",
        "https://www.linkedin.com/oauth/v2/accessToken", "LinkedIn token endpoint"),
    linkedin_user_profile_url: ("linkedin-user-profile-url", "AUTH_PROVIDER_LINKEDIN_USER_PROFILE_URL",
        "https://api.linkedin.com/v2/userinfo", "LinkedIn user info endpoint"),

    spotify_authorization_url: ("spotify-authorization-url", "AUTH_PROVIDER_SPOTIFY_AUTHORIZATION_URL",
        "https://accounts.spotify.com/authorize", "Spotify authorization endpoint"),
    spotify_token_url: ("spotify-token-url", "AUTH_PROVIDER_SPOTIFY_TOKEN_URL",
        "https://accounts.spotify.com/api/token", "Spotify token endpoint"),
    spotify_user_profile_url: ("spotify-user-profile-url", "AUTH_PROVIDER_SPOTIFY_USER_PROFILE_URL",
        "https://api.spotify.com/v1/me", "Spotify user endpoint"),

    strava_authorization_url: ("strava-authorization-url", "AUTH_PROVIDER_STRAVA_AUTHORIZATION_URL",
        "https://www.strava.com/api/v3/oauth/authorize", "Strava authorization endpoint"),
    strava_token_url: ("strava-token-url", "AUTH_PROVIDER_STRAVA_TOKEN_URL",
        "https://www.strava.com/api/v3/oauth/token", "Strava token endpoint"),
    strava_user_profile_url: ("strava-user-profile-url", "AUTH_PROVIDER_STRAVA_USER_PROFILE_URL",
        "https://www.strava.com/api/v3/athlete", "Strava athlete endpoint"),

    twitch_authorization_url: ("twitch-authorization-url", "AUTH_PROVIDER_TWITCH_AUTHORIZATION_URL",
        "https://id.twitch.tv/oauth2/authorize", "Twitch authorization endpoint"),
    twitch_token_url: ("twitch-token-url", "AUTH_PROVIDER_TWITCH_TOKEN_URL",
        "https://id.twitch.tv/oauth2/token", "Twitch token endpoint"),
    twitch_user_profile_url: ("twitch-user-profile-url", "AUTH_PROVIDER_TWITCH_USER_PROFILE_URL",
        "https://api.twitch.tv/helix/users", "Twitch users endpoint"),

    twitter_request_token_url: ("twitter-request-token-url", "AUTH_PROVIDER_TWITTER_REQUEST_TOKEN_URL",
        "https://api.twitter.com/oauth/request_token", "Twitter OAuth 1.0a request-token endpoint"),
    twitter_authorization_url: ("twitter-authorization-url", "AUTH_PROVIDER_TWITTER_AUTHORIZATION_URL",
        "https://api.twitter.com/oauth/authorize", "Twitter authorization page"),
    twitter_access_token_url: ("twitter-access-token-url", "AUTH_PROVIDER_TWITTER_ACCESS_TOKEN_URL",
        "https://api.twitter.com/oauth/access_token", "Twitter OAuth 1.0a access-token endpoint"),
    twitter_user_profile_url: ("twitter-user-profile-url", "AUTH_PROVIDER_TWITTER_USER_PROFILE_URL",
        "https://api.twitter.com/1.1/account/verify_credentials.json", "Twitter verify-credentials endpoint"),

    windowslive_authorization_url: ("windowslive-authorization-url", "AUTH_PROVIDER_WINDOWS_LIVE_AUTHORIZATION_URL",
        "https://login.live.com/oauth20_authorize.srf", "Windows Live authorization endpoint"),
    windowslive_token_url: ("windowslive-token-url", "AUTH_PROVIDER_WINDOWS_LIVE_TOKEN_URL",
        "https://login.live.com/oauth20_token.srf", "Windows Live token endpoint"),
    windowslive_user_profile_url: ("windowslive-user-profile-url", "AUTH_PROVIDER_WINDOWS_LIVE_USER_PROFILE_URL",
        "https://apis.live.net/v5.0/me", "Windows Live user endpoint"),

    workos_authorization_url: ("workos-authorization-url", "AUTH_PROVIDER_WORKOS_AUTHORIZATION_URL",
        "https://api.workos.com/sso/authorize", "WorkOS authorization endpoint"),
    workos_token_url: ("workos-token-url", "AUTH_PROVIDER_WORKOS_TOKEN_URL",
        "https://api.workos.com/sso/token", "WorkOS token endpoint"),
    workos_user_profile_url: ("workos-user-profile-url", "AUTH_PROVIDER_WORKOS_USER_PROFILE_URL",
        "https://api.workos.com/sso/profile", "WorkOS profile endpoint"),
}

/// A generic OpenID Connect provider, configured by its discovery document
/// (`/signin/provider/oidc`). Upstream has no equivalent.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "OAuth: OpenID Connect (generic)")]
pub struct OidcProvider {
    /// Enable sign-in with a generic OpenID Connect provider
    #[arg(id = "oidc-enabled", long = "oidc-enabled", env = "AUTH_PROVIDER_OIDC_ENABLED",
          value_name = "BOOL", default_value = "false",
          value_parser = parse::go_bool, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set)]
    pub enabled: bool,

    /// OpenID Connect client ID
    #[arg(
        id = "oidc-client-id",
        long = "oidc-client-id",
        env = "AUTH_PROVIDER_OIDC_CLIENT_ID",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true
    )]
    pub client_id: String,

    /// OpenID Connect client secret
    #[arg(
        id = "oidc-client-secret",
        long = "oidc-client-secret",
        env = "AUTH_PROVIDER_OIDC_CLIENT_SECRET",
        value_name = "STRING",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub client_secret: Secret,

    /// Discovery document URL (…/.well-known/openid-configuration), or the issuer URL
    #[arg(
        id = "oidc-discovery-url",
        long = "oidc-discovery-url",
        env = "AUTH_PROVIDER_OIDC_DISCOVERY_URL",
        value_name = "URL",
        default_value = ""
    )]
    pub discovery_url: String,

    /// OpenID Connect scopes (comma list; empty means the default; openid is always added)
    #[arg(
        id = "oidc-scope",
        long = "oidc-scope",
        env = "AUTH_PROVIDER_OIDC_SCOPE",
        value_name = "LIST",
        default_value = "openid,email,profile",
        value_delimiter = ','
    )]
    pub scope: Vec<String>,

    /// Human-readable name of the provider, used in logs
    #[arg(
        id = "oidc-display-name",
        long = "oidc-display-name",
        env = "AUTH_PROVIDER_OIDC_DISPLAY_NAME",
        value_name = "STRING",
        default_value = "OpenID Connect"
    )]
    pub display_name: String,
}

impl OidcProvider {
    pub const DEFAULT_SCOPE: &'static str = "openid,email,profile";
    pub const FLAGS: &'static [&'static str] = &[
        "oidc-enabled",
        "oidc-client-id",
        "oidc-client-secret",
        "oidc-discovery-url",
        "oidc-scope",
        "oidc-display-name",
    ];

    /// Configured scopes (default when empty), always including `openid`.
    pub fn scopes(&self) -> Vec<String> {
        let mut scopes = parse::non_empty(&self.scope);
        if scopes.is_empty() {
            scopes = Self::DEFAULT_SCOPE.split(',').map(str::to_owned).collect();
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".to_owned());
        }
        scopes
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        out.push("oidc-enabled", self.enabled.to_setting());
        out.push("oidc-client-id", self.client_id.to_setting());
        out.push("oidc-client-secret", self.client_secret.to_setting());
        out.push("oidc-discovery-url", self.discovery_url.to_setting());
        out.push("oidc-scope", self.scope.to_setting());
        out.push("oidc-display-name", self.display_name.to_setting());
    }
}

/// Every OAuth setting that upstream does not have.
#[derive(Clone, Debug, Args)]
pub struct OAuthExtras {
    #[command(flatten)]
    pub endpoints: ProviderEndpoints,
    #[command(flatten)]
    pub oidc: OidcProvider,
}

impl OAuthExtras {
    /// Flag names of our additions (not counted among upstream's 150).
    pub fn flags() -> impl Iterator<Item = &'static str> {
        ProviderEndpoints::FLAGS
            .iter()
            .chain(OidcProvider::FLAGS)
            .copied()
    }

    pub(crate) fn settings(&self, out: &mut Settings) {
        self.endpoints.settings(out);
        self.oidc.settings(out);
    }
}

/// A configured endpoint, or `default` when the setting is empty.
pub fn endpoint_or(configured: &str, default: impl FnOnce() -> String) -> String {
    let trimmed = configured.trim();
    if trimmed.is_empty() {
        default()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_every_provider_setting() {
        let docs = include_str!("../../docs/oauth.md");
        let missing: Vec<String> = super::super::cli::command()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .filter(|e| e.starts_with("AUTH_PROVIDER_"))
            .filter(|e| !docs.contains(&format!("`{e}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/oauth.md does not list {missing:?}"
        );
    }

    #[test]
    fn oidc_scopes_always_include_openid() {
        let mut o = OidcProvider {
            enabled: true,
            client_id: String::new(),
            client_secret: Secret::default(),
            discovery_url: String::new(),
            scope: vec!["email".into()],
            display_name: String::new(),
        };
        assert_eq!(o.scopes(), vec!["openid", "email"]);
        o.scope = vec![" ".into()];
        assert_eq!(o.scopes(), vec!["openid", "email", "profile"]);
    }

    #[test]
    fn empty_endpoint_means_the_default() {
        assert_eq!(endpoint_or(" ", || "d".into()), "d");
        assert_eq!(endpoint_or("http://x", || "d".into()), "http://x");
    }
}
