//! OAuth settings that upstream does not have (our additions; see docs/oauth.md):
//!
//! * an override for every provider endpoint, so self-hosted instances (GitLab, GitHub
//!   Enterprise, sovereign clouds) and tests can point a provider at another server;
//! * the JWKS URLs used to check Apple and Google id tokens;
//! * a generic OpenID Connect provider configured by its discovery URL.
//!
//! An empty endpoint means the provider's default (for Azure AD and Entra ID the default
//! depends on the tenant). Env names follow upstream's `AUTH_PROVIDER_<NAME>_…` pattern.

use clap::Args;
use serde::Serialize;

use super::Secret;
use super::parse;
use super::providers::{ProviderArgExt as _, ProviderEndpoints, provider_settings_struct};

provider_settings_struct!(
    /// A generic OpenID Connect provider, configured by its discovery document
    /// (`/signin/provider/oidc`). Upstream has no equivalent.
    OidcProvider, "OAuth: OpenID Connect (generic)", {
        /// Enable sign-in with a generic OpenID Connect provider
        enabled: bool = Switch("oidc-enabled", "AUTH_PROVIDER_OIDC_ENABLED"),
        /// OpenID Connect client ID
        client_id: String = ClientId("oidc-client-id", "AUTH_PROVIDER_OIDC_CLIENT_ID"),
        /// OpenID Connect client secret
        client_secret: Secret = Secret("oidc-client-secret", "AUTH_PROVIDER_OIDC_CLIENT_SECRET"),
        /// Discovery document URL (…/.well-known/openid-configuration), or the issuer URL
        discovery_url: String = Url("oidc-discovery-url", "AUTH_PROVIDER_OIDC_DISCOVERY_URL", ""),
        /// OpenID Connect scopes (comma list; empty means the default; openid is always added)
        scope: Vec<String> = Scope("oidc-scope", "AUTH_PROVIDER_OIDC_SCOPE", Self::DEFAULT_SCOPE),
        /// Human-readable name of the provider, used in logs
        display_name: String = Text("oidc-display-name", "AUTH_PROVIDER_OIDC_DISPLAY_NAME", "OpenID Connect"),
    }
);

impl OidcProvider {
    pub const DEFAULT_SCOPE: &'static str = "openid,email,profile";

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
}

/// Every OAuth setting that upstream does not have.
#[derive(Clone, Debug, Args, Serialize)]
pub struct OAuthExtras {
    #[command(flatten)]
    #[serde(flatten)]
    pub endpoints: ProviderEndpoints,
    #[command(flatten)]
    #[serde(flatten)]
    pub oidc: OidcProvider,
}

impl OAuthExtras {
    /// Flag names of our additions (not counted among upstream's 150).
    pub fn flags() -> impl Iterator<Item = &'static str> {
        ProviderEndpoints::flags().chain(OidcProvider::FLAGS.iter().copied())
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
