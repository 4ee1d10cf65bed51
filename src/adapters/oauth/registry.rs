//! The enabled providers and the id-token verifiers, built once at start-up from the
//! configuration (like upstream, `/change-env` does not rebuild them).
//!
//! Which providers exist comes from the provider table (`config::providers`): each entry
//! names its adapter, and each adapter builds itself from its settings and endpoints
//! ([`FromProviderSettings`]).

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::providers::{ProviderEndpoints, ProviderSettings, oauth_provider_table};
use crate::config::{Config, Secret};
use crate::tls::Tls;

use super::Provider;
use super::idtoken::{APPLE_ISSUER, GOOGLE_ISSUERS, IdTokenVerifier};
use super::jwks::JwksCache;
use super::oauth2_flow::{ClientAuth, OAuth2Config, Secret as ClientSecret};
use super::oidc::{self, Oidc};

/// How an adapter is built from its entry in the provider table.
pub trait FromProviderSettings {
    /// The provider's settings (upstream's flags).
    type Settings;
    /// The provider's endpoint overrides (our addition).
    type Endpoints;

    /// The enabled provider; an error names the setting that is wrong.
    fn build(
        settings: &Self::Settings,
        endpoints: &Self::Endpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String>;
}

/// What every adapter is built with besides its own settings.
pub struct BuildContext {
    pub http: reqwest::Client,
    /// `AUTH_SERVER_URL` without a trailing slash.
    server_url: String,
    /// Apple's signing keys, shared by the sign-in and `/signin/idtoken`.
    pub apple_jwks: Arc<JwksCache>,
}

impl BuildContext {
    /// `<AUTH_SERVER_URL>/signin/provider/<provider>/callback`.
    pub fn callback_url(&self, provider: &str) -> String {
        format!("{}/signin/provider/{provider}/callback", self.server_url)
    }

    /// An OAuth 2.0 client of `provider` with the common choices (no PKCE, the secret in
    /// the form body, `response_type=code`, no extra parameter); the adapter changes the
    /// ones that differ.
    pub fn oauth2(
        &self,
        provider: &str,
        client_id: &str,
        client_secret: &Secret,
        authorization_url: String,
        token_url: String,
        scopes: Vec<String>,
    ) -> OAuth2Config {
        OAuth2Config {
            client_id: client_id.to_owned(),
            secret: ClientSecret::Static(client_secret.expose().to_owned()),
            authorization_url,
            token_url,
            redirect_url: self.callback_url(provider),
            scopes,
            pkce: false,
            client_auth: ClientAuth::Body,
            response_type: None,
            extra_params: Vec::new(),
        }
    }
}

/// From the provider table: builds every enabled provider with its adapter.
macro_rules! build_table_providers {
    (
        $(
            $(#[doc = $doc:literal])*
            $name:ident : $Settings:ident, $Endpoints:ident => $module:ident :: $Adapter:ident {
                $($entry:tt)*
            }
        )*
    ) => {
        fn table_providers(
            settings: &ProviderSettings,
            endpoints: &ProviderEndpoints,
            ctx: &BuildContext,
        ) -> Result<Vec<Arc<dyn Provider>>, String> {
            let mut built = Vec::new();
            $(
                if settings.$name.enabled {
                    built.push(<super::$module::$Adapter as FromProviderSettings>::build(
                        &settings.$name,
                        &endpoints.$name,
                        ctx,
                    )?);
                }
            )*
            Ok(built)
        }
    };
}
oauth_provider_table!(build_table_providers);

pub struct OAuthProviders {
    providers: HashMap<&'static str, Arc<dyn Provider>>,
    /// `/signin/idtoken` and `/link/idtoken` with `provider=apple`, when
    /// `AUTH_PROVIDER_APPLE_AUDIENCE` is set.
    pub apple_id_tokens: Option<Arc<IdTokenVerifier>>,
    /// Same for Google (`AUTH_PROVIDER_GOOGLE_AUDIENCE`).
    pub google_id_tokens: Option<Arc<IdTokenVerifier>>,
}

/// Comma-separated audiences (one is the usual case).
fn audiences(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect()
}

impl OAuthProviders {
    /// Whether `/signin/provider/<name>` names a provider this service knows (enabled or
    /// not): upstream's sixteen and the generic OpenID Connect one.
    pub fn is_known(name: &str) -> bool {
        ProviderSettings::NAMES.contains(&name) || name == oidc::ID
    }

    /// The provider, when enabled.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Provider>> {
        self.providers.get(name).cloned()
    }

    /// Provider ids that must exist in `auth.providers` beyond upstream's seeded rows.
    pub fn extra_provider_ids(&self) -> Vec<&'static str> {
        self.providers
            .keys()
            .copied()
            .filter(|id| !ProviderSettings::NAMES.contains(id))
            .collect()
    }

    pub fn from_config(config: &Config, tls: &Tls) -> Result<OAuthProviders, String> {
        let http = super::http::client(tls)?;
        let endpoints = &config.oauth.endpoints;
        let ctx = BuildContext {
            http: http.clone(),
            server_url: config.server.server_url.trim_end_matches('/').to_owned(),
            apple_jwks: Arc::new(JwksCache::new(
                endpoints.apple.jwks_url.clone(),
                http.clone(),
            )),
        };
        let google_jwks = Arc::new(JwksCache::new(
            endpoints.google.jwks_url.clone(),
            http.clone(),
        ));
        let mut providers: HashMap<&'static str, Arc<dyn Provider>> = HashMap::new();
        let mut add = |provider: Arc<dyn Provider>| {
            providers.insert(provider.id(), provider);
        };
        for provider in table_providers(&config.providers, endpoints, &ctx)? {
            add(provider);
        }
        let o = &config.oauth.oidc;
        if o.enabled {
            if o.discovery_url.trim().is_empty() {
                return Err("AUTH_PROVIDER_OIDC_DISCOVERY_URL is required when AUTH_PROVIDER_OIDC_ENABLED is true".into());
            }
            tracing::info!(provider = %o.display_name, "OpenID Connect provider enabled as `oidc`");
            add(Arc::new(Oidc::new(
                o.display_name.clone(),
                o.client_id.clone(),
                o.client_secret.expose().to_owned(),
                &o.discovery_url,
                o.scopes(),
                ctx.callback_url(oidc::ID),
                http.clone(),
            )));
        }

        let apple_audiences = audiences(&config.id_tokens.apple_audience);
        let google_audiences = audiences(&config.id_tokens.google_audience);
        Ok(OAuthProviders {
            providers,
            apple_id_tokens: (!apple_audiences.is_empty()).then(|| {
                Arc::new(IdTokenVerifier::new(
                    vec![APPLE_ISSUER.to_owned()],
                    apple_audiences,
                    ctx.apple_jwks,
                ))
            }),
            google_id_tokens: (!google_audiences.is_empty()).then(|| {
                Arc::new(IdTokenVerifier::new(
                    GOOGLE_ISSUERS.iter().map(|s| (*s).to_owned()).collect(),
                    google_audiences,
                    google_jwks,
                ))
            }),
        })
    }
}
