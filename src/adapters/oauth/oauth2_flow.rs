//! The OAuth 2.0 authorization-code flow shared by every OAuth 2.0 adapter, on top of the
//! `oauth2` crate: authorization URL (with PKCE where the provider supports it), code
//! exchange and refresh. An adapter supplies its [`OAuth2Config`] and its profile mapping
//! ([`OAuth2Adapter`]); [`OAuth2Provider`] turns that into a [`Provider`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AccessToken, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    ResponseType, Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::apple::AppleClientSecret;
use super::{
    Authorization, AuthorizeInput, CallbackInput, OAuthError, Profile, Provider,
    ProviderSpecificParams, ProviderTokens,
};

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// `client_id`/`client_secret` in the form body (`client_secret_post`).
    Body,
}

/// The client secret: fixed, or Apple's signed JWT that is renewed before it expires.
#[derive(Clone)]
pub enum Secret {
    Static(String),
    Apple(Arc<AppleClientSecret>),
}

impl Secret {
    fn current(&self) -> Result<String, String> {
        match self {
            Secret::Static(s) => Ok(s.clone()),
            Secret::Apple(apple) => apple.current(),
        }
    }
}

/// Everything the shared flow needs to know about a provider.
#[derive(Clone)]
pub struct OAuth2Config {
    pub client_id: String,
    pub secret: Secret,
    pub authorization_url: String,
    pub token_url: String,
    /// `<AUTH_SERVER_URL>/signin/provider/<name>/callback`.
    pub redirect_url: String,
    pub scopes: Vec<String>,
    /// Send a PKCE (S256) challenge: only for providers known to support it.
    pub pkce: bool,
    pub client_auth: ClientAuth,
    /// `response_type` when not `code` (Apple: `code id_token`).
    pub response_type: Option<&'static str>,
    /// Fixed authorization parameters (e.g. Apple's `response_mode=form_post`).
    pub extra_params: Vec<(&'static str, String)>,
}

/// A provider's token answer, read leniently: `token_type` may be missing (WorkOS),
/// `scope` may be a list (Twitch) and `expires_in` a string.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "RawTokenResponse", into = "RawTokenResponse")]
pub struct LenientTokenResponse {
    access_token: AccessToken,
    token_type: BasicTokenType,
    expires_in: Option<u64>,
    refresh_token: Option<RefreshToken>,
    scopes: Option<Vec<Scope>>,
    id_token: Option<String>,
}

/// The tokens (the id token included) stay out of `Debug`.
impl std::fmt::Debug for LenientTokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LenientTokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("has_refresh_token", &self.refresh_token.is_some())
            .field("has_id_token", &self.id_token.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct RawTokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    id_token: Option<String>,
}

impl From<RawTokenResponse> for LenientTokenResponse {
    fn from(raw: RawTokenResponse) -> Self {
        let token_type = match raw.token_type.as_deref().map(str::to_ascii_lowercase) {
            None => BasicTokenType::Bearer,
            Some(t) if t == "bearer" => BasicTokenType::Bearer,
            Some(t) if t == "mac" => BasicTokenType::Mac,
            Some(t) => BasicTokenType::Extension(t),
        };
        let expires_in = match raw.expires_in {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let scopes = match raw.scope {
            Some(Value::String(s)) => {
                Some(s.split_whitespace().map(|x| Scope::new(x.into())).collect())
            }
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|x| Scope::new(x.into()))
                    .collect(),
            ),
            _ => None,
        };
        LenientTokenResponse {
            access_token: AccessToken::new(raw.access_token),
            token_type,
            expires_in,
            refresh_token: raw
                .refresh_token
                .filter(|r| !r.is_empty())
                .map(RefreshToken::new),
            scopes,
            id_token: raw.id_token.filter(|t| !t.is_empty()),
        }
    }
}

impl From<LenientTokenResponse> for RawTokenResponse {
    fn from(t: LenientTokenResponse) -> Self {
        RawTokenResponse {
            access_token: t.access_token.secret().clone(),
            token_type: Some(t.token_type.as_ref().to_owned()),
            expires_in: t.expires_in.map(Value::from),
            refresh_token: t.refresh_token.map(|r| r.secret().clone()),
            scope: t
                .scopes
                .map(|s| Value::String(s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" "))),
            id_token: t.id_token,
        }
    }
}

impl TokenResponse for LenientTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.token_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in.map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

impl From<LenientTokenResponse> for ProviderTokens {
    fn from(t: LenientTokenResponse) -> Self {
        ProviderTokens {
            access_token: t.access_token.secret().clone(),
            refresh_token: t.refresh_token.map(|r| r.secret().clone()),
            expires_in: t.expires_in,
            id_token: t.id_token,
        }
    }
}

type Client = oauth2::Client<
    BasicErrorResponse,
    LenientTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

impl OAuth2Config {
    fn client(&self) -> Result<Client, String> {
        let secret = self.secret.current()?;
        let client = oauth2::Client::new(ClientId::new(self.client_id.clone()))
            .set_client_secret(ClientSecret::new(secret))
            .set_auth_uri(
                AuthUrl::new(self.authorization_url.clone())
                    .map_err(|e| format!("authorization URL: {e}"))?,
            )
            .set_token_uri(
                TokenUrl::new(self.token_url.clone()).map_err(|e| format!("token URL: {e}"))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(self.redirect_url.clone())
                    .map_err(|e| format!("redirect URL: {e}"))?,
            )
            .set_auth_type(match self.client_auth {
                ClientAuth::Basic => AuthType::BasicAuth,
                ClientAuth::Body => AuthType::RequestBody,
            });
        Ok(client)
    }

    /// The authorization URL and, with PKCE, the verifier to keep for the exchange.
    pub fn authorize_url(
        &self,
        state: &str,
        params: &[(&'static str, String)],
    ) -> Result<(String, Option<String>), OAuthError> {
        let client = self.client().map_err(OAuthError::Authorize)?;
        let state = state.to_owned();
        let mut request = client
            .authorize_url(move || CsrfToken::new(state))
            .add_scopes(self.scopes.iter().map(|s| Scope::new(s.clone())));
        let response_type = self.response_type.map(|r| ResponseType::new(r.to_owned()));
        if let Some(rt) = &response_type {
            request = request.set_response_type(rt);
        }
        let mut verifier = None;
        if self.pkce {
            let (challenge, v) = PkceCodeChallenge::new_random_sha256();
            request = request.set_pkce_challenge(challenge);
            verifier = Some(v.secret().clone());
        }
        for (name, value) in self.extra_params.iter().chain(params) {
            request = request.add_extra_param(*name, value.clone());
        }
        let (url, _) = request.url();
        Ok((url.to_string(), verifier))
    }

    /// Exchanges an authorization code for tokens.
    pub async fn exchange(
        &self,
        http: &reqwest::Client,
        code: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<ProviderTokens, OAuthError> {
        let client = self.client().map_err(OAuthError::TokenExchange)?;
        let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if let Some(v) = pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(v.to_owned()));
        }
        request
            .request_async(http)
            .await
            .map(ProviderTokens::from)
            .map_err(|e| OAuthError::TokenExchange(describe(&e)))
    }

    /// The refresh-token grant.
    pub async fn refresh(
        &self,
        http: &reqwest::Client,
        refresh_token: &str,
    ) -> Result<ProviderTokens, OAuthError> {
        let client = self.client().map_err(OAuthError::Refresh)?;
        let token = RefreshToken::new(refresh_token.to_owned());
        client
            .exchange_refresh_token(&token)
            .request_async(http)
            .await
            .map(ProviderTokens::from)
            .map_err(|e| OAuthError::Refresh(describe(&e)))
    }
}

/// The oauth2 crate's error with its cause chain (its `Display` is terse).
fn describe(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// What an OAuth 2.0 provider adapter supplies.
pub trait OAuth2Adapter: Send + Sync + 'static {
    fn id(&self) -> &'static str;

    fn config(&self) -> &OAuth2Config;

    /// Per-request authorization parameters (e.g. WorkOS `organization`).
    fn authorize_params(&self, _specific: &ProviderSpecificParams) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Whether the authorization request carries the sign-in's nonce (id-token providers).
    fn uses_nonce(&self) -> bool {
        false
    }

    /// Reads the profile once the tokens are known.
    fn profile<'a>(
        &'a self,
        http: &'a reqwest::Client,
        tokens: &'a ProviderTokens,
        callback: &'a CallbackInput<'a>,
    ) -> BoxFuture<'a, Result<Profile, OAuthError>>;
}

/// An OAuth 2.0 adapter as a [`Provider`].
pub struct OAuth2Provider<A> {
    adapter: A,
    http: reqwest::Client,
}

impl<A: OAuth2Adapter> OAuth2Provider<A> {
    pub fn new(adapter: A, http: reqwest::Client) -> Self {
        OAuth2Provider { adapter, http }
    }
}

impl<A: OAuth2Adapter> Provider for OAuth2Provider<A> {
    fn id(&self) -> &'static str {
        self.adapter.id()
    }

    fn authorize<'a>(
        &'a self,
        input: AuthorizeInput<'a>,
    ) -> BoxFuture<'a, Result<Authorization, OAuthError>> {
        Box::pin(async move {
            let mut params = self.adapter.authorize_params(input.specific);
            if self.adapter.uses_nonce() {
                params.push(("nonce", input.nonce.to_owned()));
            }
            let (url, verifier) = self.adapter.config().authorize_url(input.state, &params)?;
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
            let code = input
                .code
                .filter(|c| !c.is_empty())
                .ok_or_else(|| OAuthError::TokenExchange("no code in the callback".into()))?;
            let verifier = input.kept.get("pkceVerifier").and_then(Value::as_str);
            let tokens = self
                .adapter
                .config()
                .exchange(&self.http, code, verifier)
                .await?;
            let profile = self.adapter.profile(&self.http, &tokens, &input).await?;
            if profile.id.is_empty() {
                return Err(OAuthError::Profile("the profile has no account id".into()));
            }
            Ok((profile, tokens))
        })
    }

    fn refresh<'a>(
        &'a self,
        refresh_token: &'a str,
    ) -> BoxFuture<'a, Result<ProviderTokens, OAuthError>> {
        Box::pin(async move {
            self.adapter
                .config()
                .refresh(&self.http, refresh_token)
                .await
        })
    }
}

/// Reads a profile JSON value as a string (numbers too: GitHub and GitLab ids are numbers).
pub(crate) fn string_field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A JSON boolean, also accepting `"true"`/`"false"` strings (Apple id tokens).
pub(crate) fn bool_field(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A non-empty string field, or `None`.
pub(crate) fn opt_string_field(v: &Value, key: &str) -> Option<String> {
    Some(string_field(v, key)).filter(|s| !s.is_empty())
}
