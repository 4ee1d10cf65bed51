//! The enabled providers and the id-token verifiers, built once at start-up from the
//! configuration (like upstream, `/change-env` does not rebuild them).

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::oauth::endpoint_or;
use crate::config::providers::OAuthProviders as ProviderSettings;
use crate::config::{Config, Secret};

use super::Provider;
use super::apple::{Apple, AppleClientSecret, parse_private_key};
use super::azuread::Azuread;
use super::bitbucket::Bitbucket;
use super::discord::Discord;
use super::entraid::Entraid;
use super::facebook::Facebook;
use super::github::Github;
use super::gitlab::Gitlab;
use super::google::Google;
use super::idtoken::{APPLE_ISSUER, GOOGLE_ISSUERS, IdTokenVerifier};
use super::jwks::JwksCache;
use super::linkedin::Linkedin;
use super::oauth2_flow::{ClientAuth, OAuth2Config, OAuth2Provider, Secret as ClientSecret};
use super::oidc::{self, Oidc};
use super::spotify::Spotify;
use super::strava::Strava;
use super::twitch::Twitch;
use super::twitter::Twitter;
use super::windowslive::Windowslive;
use super::workos::Workos;

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

    pub fn from_config(config: &Config) -> Result<OAuthProviders, String> {
        let http = super::http::client()?;
        let p = &config.providers;
        let e = &config.oauth.endpoints;
        let server = config.server.server_url.trim_end_matches('/');
        let callback = |name: &str| format!("{server}/signin/provider/{name}/callback");
        let basic = |name: &str,
                     client_id: &str,
                     secret: &Secret,
                     auth: String,
                     token: String,
                     scopes: Vec<String>,
                     pkce: bool,
                     client_auth: ClientAuth| OAuth2Config {
            client_id: client_id.to_owned(),
            secret: ClientSecret::Static(secret.expose().to_owned()),
            authorization_url: auth,
            token_url: token,
            redirect_url: callback(name),
            scopes,
            pkce,
            client_auth,
            response_type: None,
            extra_params: Vec::new(),
        };
        let mut providers: HashMap<&'static str, Arc<dyn Provider>> = HashMap::new();
        let mut add = |provider: Arc<dyn Provider>| {
            providers.insert(provider.id(), provider);
        };

        let apple_jwks = Arc::new(JwksCache::new(e.apple_jwks_url.clone(), http.clone()));
        let google_jwks = Arc::new(JwksCache::new(e.google_jwks_url.clone(), http.clone()));

        if p.github.enabled {
            let config = basic(
                "github",
                &p.github.client_id,
                &p.github.client_secret,
                p.github.authorization_url.clone(),
                p.github.token_url.clone(),
                p.github.scopes(),
                true,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Github {
                    config,
                    profile_url: p.github.user_profile_url.clone(),
                    emails_url: e.github_user_emails_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.google.enabled {
            let config = basic(
                "google",
                &p.google.client_id,
                &p.google.client_secret,
                e.google_authorization_url.clone(),
                e.google_token_url.clone(),
                p.google.scopes(),
                true,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Google {
                    config,
                    profile_url: e.google_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.apple.enabled {
            let key = parse_private_key(p.apple.private_key.expose())?;
            let secret = AppleClientSecret::new(
                p.apple.team_id.clone(),
                p.apple.key_id.clone(),
                p.apple.client_id.clone(),
                key,
            );
            // Fail at start-up, not at the first sign-in, if the key cannot sign.
            secret.current()?;
            let mut config = basic(
                "apple",
                &p.apple.client_id,
                &Secret::default(),
                e.apple_authorization_url.clone(),
                e.apple_token_url.clone(),
                p.apple.scopes(),
                false,
                ClientAuth::Body,
            );
            config.secret = ClientSecret::Apple(Arc::new(secret));
            config.response_type = Some("code id_token");
            config.extra_params = vec![("response_mode", "form_post".to_owned())];
            let id_tokens = Arc::new(IdTokenVerifier::new(
                vec![APPLE_ISSUER.to_owned()],
                vec![p.apple.client_id.clone()],
                apple_jwks.clone(),
            ));
            add(Arc::new(OAuth2Provider::new(
                Apple { config, id_tokens },
                http.clone(),
            )));
        }
        if p.linkedin.enabled {
            let config = basic(
                "linkedin",
                &p.linkedin.client_id,
                &p.linkedin.client_secret,
                e.linkedin_authorization_url.clone(),
                e.linkedin_token_url.clone(),
                p.linkedin.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Linkedin {
                    config,
                    profile_url: e.linkedin_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.discord.enabled {
            let config = basic(
                "discord",
                &p.discord.client_id,
                &p.discord.client_secret,
                e.discord_authorization_url.clone(),
                e.discord_token_url.clone(),
                p.discord.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Discord {
                    config,
                    profile_url: e.discord_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.spotify.enabled {
            let config = basic(
                "spotify",
                &p.spotify.client_id,
                &p.spotify.client_secret,
                e.spotify_authorization_url.clone(),
                e.spotify_token_url.clone(),
                p.spotify.scopes(),
                true,
                ClientAuth::Basic,
            );
            add(Arc::new(OAuth2Provider::new(
                Spotify {
                    config,
                    profile_url: e.spotify_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.twitch.enabled {
            let config = basic(
                "twitch",
                &p.twitch.client_id,
                &p.twitch.client_secret,
                e.twitch_authorization_url.clone(),
                e.twitch_token_url.clone(),
                p.twitch.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Twitch {
                    config,
                    profile_url: e.twitch_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.gitlab.enabled {
            let config = basic(
                "gitlab",
                &p.gitlab.client_id,
                &p.gitlab.client_secret,
                e.gitlab_authorization_url.clone(),
                e.gitlab_token_url.clone(),
                p.gitlab.scopes(),
                true,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Gitlab {
                    config,
                    profile_url: e.gitlab_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.bitbucket.enabled {
            let config = basic(
                "bitbucket",
                &p.bitbucket.client_id,
                &p.bitbucket.client_secret,
                e.bitbucket_authorization_url.clone(),
                e.bitbucket_token_url.clone(),
                p.bitbucket.scopes(),
                false,
                ClientAuth::Basic,
            );
            add(Arc::new(OAuth2Provider::new(
                Bitbucket {
                    config,
                    profile_url: e.bitbucket_user_profile_url.clone(),
                    emails_url: e.bitbucket_user_emails_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.workos.enabled {
            let config = basic(
                "workos",
                &p.workos.client_id,
                &p.workos.client_secret,
                e.workos_authorization_url.clone(),
                e.workos_token_url.clone(),
                p.workos.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Workos {
                    config,
                    profile_url: e.workos_user_profile_url.clone(),
                    default_organization: p.workos.default_organization.clone(),
                    default_connection: p.workos.default_connection.clone(),
                    default_domain: p.workos.default_domain.clone(),
                },
                http.clone(),
            )));
        }
        if p.azuread.enabled {
            tracing::warn!("the azuread provider is deprecated; use entraid");
            let tenant = p.azuread.tenant.trim();
            let base = format!("https://login.microsoftonline.com/{tenant}");
            let config = basic(
                "azuread",
                &p.azuread.client_id,
                &p.azuread.client_secret,
                endpoint_or(&e.azuread_authorization_url, || {
                    format!("{base}/oauth2/authorize?prompt=select_account")
                }),
                endpoint_or(&e.azuread_token_url, || format!("{base}/oauth2/token")),
                p.azuread.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Azuread {
                    config,
                    profile_url: endpoint_or(&e.azuread_user_profile_url, || {
                        format!("{base}/openid/userinfo")
                    }),
                },
                http.clone(),
            )));
        }
        if p.entraid.enabled {
            let tenant = p.entraid.tenant.trim();
            let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
            let config = basic(
                "entraid",
                &p.entraid.client_id,
                &p.entraid.client_secret,
                endpoint_or(&e.entraid_authorization_url, || format!("{base}/authorize")),
                endpoint_or(&e.entraid_token_url, || format!("{base}/token")),
                p.entraid.scopes(),
                true,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Entraid {
                    config,
                    profile_url: e.entraid_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.facebook.enabled {
            let config = basic(
                "facebook",
                &p.facebook.client_id,
                &p.facebook.client_secret,
                e.facebook_authorization_url.clone(),
                e.facebook_token_url.clone(),
                p.facebook.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Facebook {
                    config,
                    profile_url: e.facebook_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.windowslive.enabled {
            let config = basic(
                "windowslive",
                &p.windowslive.client_id,
                &p.windowslive.client_secret,
                e.windowslive_authorization_url.clone(),
                e.windowslive_token_url.clone(),
                p.windowslive.scopes(),
                false,
                ClientAuth::Body,
            );
            add(Arc::new(OAuth2Provider::new(
                Windowslive {
                    config,
                    profile_url: e.windowslive_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.strava.enabled {
            // Strava wants its scopes comma-separated in one parameter.
            let scopes = vec![p.strava.scopes().join(",")];
            let mut config = basic(
                "strava",
                &p.strava.client_id,
                &p.strava.client_secret,
                e.strava_authorization_url.clone(),
                e.strava_token_url.clone(),
                scopes,
                false,
                ClientAuth::Body,
            );
            config.extra_params = vec![("approval_prompt", "force".to_owned())];
            add(Arc::new(OAuth2Provider::new(
                Strava {
                    config,
                    profile_url: e.strava_user_profile_url.clone(),
                },
                http.clone(),
            )));
        }
        if p.twitter.enabled {
            add(Arc::new(Twitter {
                consumer_key: p.twitter.consumer_key.clone(),
                consumer_secret: p.twitter.consumer_secret.expose().to_owned(),
                callback_url: callback("twitter"),
                request_token_url: e.twitter_request_token_url.clone(),
                authorization_url: e.twitter_authorization_url.clone(),
                access_token_url: e.twitter_access_token_url.clone(),
                profile_url: e.twitter_user_profile_url.clone(),
                http: http.clone(),
            }));
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
                callback(oidc::ID),
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
                    apple_jwks,
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
