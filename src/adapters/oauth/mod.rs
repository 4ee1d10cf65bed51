//! OAuth providers: one adapter per provider behind the [`Provider`] trait.
//!
//! * OAuth 2.0 mechanics (authorization URL, PKCE, code exchange, refresh) are the
//!   `oauth2` crate's, wrapped once in [`oauth2_flow`]; an OAuth 2.0 adapter only says
//!   where its endpoints are and how its profile maps to a user ([`OAuth2Adapter`]).
//! * Twitter speaks OAuth 1.0a (signed with the `oauth1-request` crate).
//! * Id tokens (Apple, Google, the generic OpenID Connect provider) are checked against
//!   the issuer's signing keys, cached and refreshed on an unknown `kid` ([`jwks`],
//!   [`idtoken`]).
//!
//! The adapters know nothing about users or sessions: they turn a callback into a
//! [`Profile`] and the provider's tokens.

pub mod apple;
pub mod azuread;
pub mod bitbucket;
pub mod discord;
pub mod entraid;
pub mod facebook;
pub mod github;
pub mod gitlab;
pub mod google;
pub mod http;
pub mod idtoken;
pub mod jwks;
pub mod linkedin;
pub mod oauth2_flow;
pub mod oidc;
pub mod registry;
pub mod spotify;
pub mod strava;
pub mod twitch;
pub mod twitter;
pub mod windowslive;
pub mod workos;

use std::fmt;

use futures_util::future::BoxFuture;
use serde_json::Value;

pub use oauth2_flow::{OAuth2Adapter, OAuth2Config, OAuth2Provider};
pub use registry::OAuthProviders;

/// What a provider tells us about the person who signed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// The provider's id of the account (`auth.user_providers.provider_user_id`).
    pub id: String,
    pub email: Option<String>,
    /// True only when the provider vouches for the address.
    pub email_verified: bool,
    pub name: String,
    pub avatar_url: String,
    /// A locale the provider reports, if any (used as the default locale of new users).
    pub locale: Option<String>,
}

/// Tokens a provider issued, as the callback or a refresh obtained them.
#[derive(Clone, Default)]
pub struct ProviderTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Lifetime of the access token in seconds, when the provider says.
    pub expires_in: Option<u64>,
    pub id_token: Option<String>,
}

impl fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("id_token", &self.id_token.is_some())
            .finish_non_exhaustive()
    }
}

/// Why talking to a provider failed; the workflow maps each kind to upstream's code.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// Building the authorization request failed (e.g. Twitter's request token).
    #[error("authorization request failed: {0}")]
    Authorize(String),
    /// The code (or OAuth 1.0a verifier) could not be exchanged for tokens.
    #[error("token exchange failed: {0}")]
    TokenExchange(String),
    /// The profile could not be read, or it names no account.
    #[error("profile fetch failed: {0}")]
    Profile(String),
    /// Refreshing the provider's token failed.
    #[error("token refresh failed: {0}")]
    Refresh(String),
    /// The provider cannot do this (e.g. refresh with OAuth 1.0a).
    #[error("not supported by this provider: {0}")]
    Unsupported(&'static str),
}

/// `providerSpecificParams` of `GET /signin/provider/{provider}` (WorkOS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderSpecificParams {
    pub connection: Option<String>,
    pub organization: Option<String>,
}

/// Input of the redirect to the provider.
pub struct AuthorizeInput<'a> {
    /// The single-use state, sent to the provider and echoed back to the callback.
    pub state: &'a str,
    /// A random nonce bound to this sign-in (sent by providers that return id tokens).
    pub nonce: &'a str,
    pub specific: &'a ProviderSpecificParams,
}

/// Where to send the browser, and what the callback will need (kept with the state).
pub struct Authorization {
    pub url: String,
    pub kept: Value,
}

/// What came back to the callback, plus what was kept with the state.
pub struct CallbackInput<'a> {
    pub code: Option<&'a str>,
    pub id_token: Option<&'a str>,
    pub oauth_token: Option<&'a str>,
    pub oauth_verifier: Option<&'a str>,
    /// Apple's `user` form field (JSON with the name, sent on the first sign-in only).
    pub user: Option<&'a str>,
    pub nonce: &'a str,
    pub kept: &'a Value,
}

/// One OAuth provider.
pub trait Provider: Send + Sync {
    /// Upstream's name, also the `provider_id` of `auth.user_providers`.
    fn id(&self) -> &'static str;

    /// Whether tokens can be refreshed (OAuth 2.0).
    fn supports_refresh(&self) -> bool {
        true
    }

    /// Builds the provider's authorization URL.
    fn authorize<'a>(
        &'a self,
        input: AuthorizeInput<'a>,
    ) -> BoxFuture<'a, Result<Authorization, OAuthError>>;

    /// Finishes the sign-in: tokens, then the profile.
    fn complete<'a>(
        &'a self,
        input: CallbackInput<'a>,
    ) -> BoxFuture<'a, Result<(Profile, ProviderTokens), OAuthError>>;

    /// Exchanges a provider refresh token for new tokens.
    fn refresh<'a>(
        &'a self,
        refresh_token: &'a str,
    ) -> BoxFuture<'a, Result<ProviderTokens, OAuthError>>;
}

/// Joins two name parts with a space, skipping empty ones.
pub(crate) fn full_name(first: &str, last: &str) -> String {
    match (first.trim(), last.trim()) {
        ("", "") => String::new(),
        (f, "") => f.to_owned(),
        ("", l) => l.to_owned(),
        (f, l) => format!("{f} {l}"),
    }
}
