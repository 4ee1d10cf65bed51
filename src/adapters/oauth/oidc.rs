//! A generic OpenID Connect provider, configured by its discovery document. Endpoints
//! and signing keys are discovered on first use (and discovery is retried on a later
//! request if it fails). The identity comes from the id token, bound to the sign-in by
//! its nonce; userinfo only fills in what the id token lacks, and only for the same
//! subject.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use super::http::get_json;
use super::idtoken::{IdTokenVerifier, Nonce};
use super::jwks::JwksCache;
use super::oauth2_flow::{
    ClientAuth, OAuth2Config, Secret, bool_field, opt_string_field, string_field,
};
use super::{
    Authorization, AuthorizeInput, CallbackInput, OAuthError, Profile, Provider, ProviderTokens,
};

pub const ID: &str = "oidc";
const WELL_KNOWN: &str = "/.well-known/openid-configuration";

pub struct Oidc {
    pub display_name: String,
    pub client_id: String,
    pub client_secret: String,
    pub discovery_url: String,
    pub scopes: Vec<String>,
    pub redirect_url: String,
    pub http: reqwest::Client,
    discovered: OnceCell<Discovered>,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

struct Discovered {
    config: OAuth2Config,
    userinfo: Option<String>,
    verifier: IdTokenVerifier,
}

impl Oidc {
    pub fn new(
        display_name: String,
        client_id: String,
        client_secret: String,
        discovery_url: &str,
        scopes: Vec<String>,
        redirect_url: String,
        http: reqwest::Client,
    ) -> Oidc {
        let trimmed = discovery_url.trim().trim_end_matches('/');
        // An issuer URL is accepted too.
        let discovery_url = if trimmed.ends_with(WELL_KNOWN) {
            trimmed.to_owned()
        } else {
            format!("{trimmed}{WELL_KNOWN}")
        };
        Oidc {
            display_name,
            client_id,
            client_secret,
            discovery_url,
            scopes,
            redirect_url,
            http,
            discovered: OnceCell::new(),
        }
    }

    async fn discovered(&self) -> Result<&Discovered, String> {
        self.discovered.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> Result<Discovered, String> {
        let res = self
            .http
            .get(&self.discovery_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| format!("{} discovery: {e}", self.display_name))?;
        if !res.status().is_success() {
            return Err(format!(
                "{} discovery: status {}",
                self.display_name,
                res.status()
            ));
        }
        let doc: DiscoveryDocument = res
            .json()
            .await
            .map_err(|e| format!("{} discovery document: {e}", self.display_name))?;
        let pkce = doc
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256");
        // client_secret_basic is the default when the issuer lists nothing.
        let basic = doc.token_endpoint_auth_methods_supported.is_empty()
            || doc
                .token_endpoint_auth_methods_supported
                .iter()
                .any(|m| m == "client_secret_basic");
        let config = OAuth2Config {
            client_id: self.client_id.clone(),
            secret: Secret::Static(self.client_secret.clone()),
            authorization_url: doc.authorization_endpoint,
            token_url: doc.token_endpoint,
            redirect_url: self.redirect_url.clone(),
            scopes: self.scopes.clone(),
            pkce,
            client_auth: if basic {
                ClientAuth::Basic
            } else {
                ClientAuth::Body
            },
            response_type: None,
            extra_params: Vec::new(),
        };
        let jwks = Arc::new(JwksCache::new(doc.jwks_uri, self.http.clone()));
        let verifier = IdTokenVerifier::new(vec![doc.issuer], vec![self.client_id.clone()], jwks);
        tracing::info!(provider = %self.display_name, "OpenID Connect provider discovered");
        Ok(Discovered {
            config,
            userinfo: doc.userinfo_endpoint.filter(|u| !u.is_empty()),
            verifier,
        })
    }
}

/// The profile claims of an id token (or userinfo answer).
fn profile_from_claims(claims: &Value) -> Profile {
    let email = opt_string_field(claims, "email");
    let mut name = string_field(claims, "name");
    if name.is_empty() {
        name = super::full_name(
            &string_field(claims, "given_name"),
            &string_field(claims, "family_name"),
        );
    }
    if name.is_empty() {
        name = string_field(claims, "preferred_username");
    }
    Profile {
        id: string_field(claims, "sub"),
        email_verified: email.is_some() && bool_field(claims, "email_verified"),
        email,
        name,
        avatar_url: string_field(claims, "picture"),
        locale: opt_string_field(claims, "locale"),
    }
}

impl Provider for Oidc {
    fn id(&self) -> &'static str {
        ID
    }

    fn authorize<'a>(
        &'a self,
        input: AuthorizeInput<'a>,
    ) -> BoxFuture<'a, Result<Authorization, OAuthError>> {
        Box::pin(async move {
            let d = self.discovered().await.map_err(OAuthError::Authorize)?;
            let (url, verifier) = d
                .config
                .authorize_url(input.state, &[("nonce", input.nonce.to_owned())])?;
            Ok(Authorization {
                url,
                kept: json!({ "pkceVerifier": verifier }),
            })
        })
    }

    fn complete<'a>(
        &'a self,
        input: CallbackInput<'a>,
    ) -> BoxFuture<'a, Result<(Profile, ProviderTokens), OAuthError>> {
        Box::pin(async move {
            let d = self.discovered().await.map_err(OAuthError::TokenExchange)?;
            let code = input
                .code
                .filter(|c| !c.is_empty())
                .ok_or_else(|| OAuthError::TokenExchange("no code in the callback".into()))?;
            let verifier = input.kept.get("pkceVerifier").and_then(Value::as_str);
            let tokens = d.config.exchange(&self.http, code, verifier).await?;
            let id_token = tokens
                .id_token
                .as_deref()
                .ok_or_else(|| OAuthError::Profile("the token answer has no id token".into()))?;
            let claims = d
                .verifier
                .verify(id_token, Nonce::Exact(input.nonce))
                .await
                .map_err(OAuthError::Profile)?;
            let mut profile = profile_from_claims(&Value::Object(claims));
            if profile.id.is_empty() {
                return Err(OAuthError::Profile("the id token has no subject".into()));
            }
            if profile.email.is_none()
                && let Some(url) = &d.userinfo
            {
                let info: Map<String, Value> = get_json(&self.http, url, &tokens.access_token, &[])
                    .await
                    .map_err(OAuthError::Profile)?;
                let extra = profile_from_claims(&Value::Object(info));
                // Userinfo describes whoever the access token belongs to; only the same
                // subject as the verified id token may add to the profile.
                if extra.id != profile.id {
                    return Err(OAuthError::Profile(
                        "userinfo subject differs from the id token".into(),
                    ));
                }
                profile.email = extra.email;
                profile.email_verified = extra.email_verified;
                if profile.name.is_empty() {
                    profile.name = extra.name;
                }
                if profile.avatar_url.is_empty() {
                    profile.avatar_url = extra.avatar_url;
                }
                if profile.locale.is_none() {
                    profile.locale = extra.locale;
                }
            }
            Ok((profile, tokens))
        })
    }

    fn refresh<'a>(
        &'a self,
        refresh_token: &'a str,
    ) -> BoxFuture<'a, Result<ProviderTokens, OAuthError>> {
        Box::pin(async move {
            let d = self.discovered().await.map_err(OAuthError::Refresh)?;
            d.config.refresh(&self.http, refresh_token).await
        })
    }
}
