//! The OAuth2/OIDC identity provider (Nhost Auth 0.46+, reference §2.1): third-party
//! applications ("clients", rows of `auth.oauth2_clients`) sign their users in with this
//! service through the authorization-code flow with PKCE, and receive access, ID and
//! refresh tokens. See docs/oidc-provider.md.
//!
//! - [`error`]: the OAuth2 error model every endpoint answers with;
//! - [`scopes`]: scope parsing and rules;
//! - [`clients`]: client lookup (registered and metadata-document clients) and client
//!   authentication;
//! - the flows: discovery, authorization requests and the consent UI's API (this module's
//!   [`OAuth2Provider`]), tokens, userinfo, introspection, revocation.
//!
//! Settings are read once at start-up ([`ProviderSettings::from_config`], which also
//! refuses configurations the provider cannot run with).

pub mod authorize;
pub mod clients;
pub mod device;
pub mod discovery;
pub mod error;
pub mod introspect;
pub mod login;
pub mod scopes;
pub mod tokens;
pub mod ui;

use std::sync::Arc;

use crate::config::Config;
use crate::db::{DbPool, SchemaLevel};
use crate::service::accounts::Accounts;
use crate::service::custom_claims::ClaimsSource;
use crate::tokens::JwtKeys;
use crate::tokens::password_hash::PasswordHasher;

pub use error::{OAuth2Error, OAuth2ErrorCode};

/// Lifetime of an authorization request (upstream's `AuthRequestTTL`): ten minutes.
pub const AUTH_REQUEST_TTL_SECS: i64 = 600;
/// Lifetime of an authorization code (upstream's `AuthCodeTTL`): five minutes.
pub const AUTH_CODE_TTL_SECS: i64 = 300;

/// The provider's settings, fixed at start-up.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    pub enabled: bool,
    /// The OIDC issuer: the JWT secret's `issuer` when it names one, else
    /// `AUTH_SERVER_URL` (whatever the upstream generation). Every OAuth2 token carries it.
    pub issuer: String,
    /// Where `/oauth2/authorize` sends the browser: `AUTH_OAUTH2_PROVIDER_LOGIN_URL`, else
    /// the built-in page when it is on, else `<AUTH_CLIENT_URL>/oauth2/login`.
    pub login_url: String,
    /// The device flow's verification page (`verification_uri`):
    /// `AUTH_OAUTH2_PROVIDER_DEVICE_VERIFY_URL`, else `<AUTH_CLIENT_URL>/oauth2/device`;
    /// empty when neither is set (the device flow is then off).
    pub device_verify_url: String,
    /// `AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE`: `/oauth2/ui/*` is served.
    pub builtin_login_page: bool,
    /// The built-in page's own URL (`<AUTH_SERVER_URL>/oauth2/ui/login`), whether or not
    /// it is the login URL.
    pub builtin_login_url: String,
    /// Signs the built-in page's CSRF tokens and sign-in cookies.
    pub page_key: ui::PageKey,
    /// Access and ID token lifetime, seconds.
    pub access_token_ttl: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl: i64,
    pub cimd_enabled: bool,
    /// Allows `http://` and private or loopback addresses for metadata documents.
    pub cimd_allow_insecure_transport: bool,
    /// The signing algorithm (discovery's `id_token_signing_alg_values_supported`).
    pub signing_alg: &'static str,
}

/// The schema level the provider needs: the tables of 20 and the scope rules of 22.
pub const REQUIRED_SCHEMA: SchemaLevel = SchemaLevel::new(22);

impl ProviderSettings {
    /// The settings, or why the provider cannot run with this configuration (only
    /// checked when it is enabled, as upstream's `validateOauth2ProviderConfig`).
    pub fn from_config(
        config: &Config,
        jwt: &JwtKeys,
        schema: SchemaLevel,
    ) -> Result<ProviderSettings, String> {
        let c = &config.oauth2_provider;
        let issuer = jwt
            .configured_issuer()
            .unwrap_or(config.server.server_url.trim())
            .to_owned();
        let builtin_login_url = match config.server.server_url.trim().trim_end_matches('/') {
            "" => String::new(),
            server => format!("{server}{}", ui::LOGIN_PATH),
        };
        let builtin_login_page = c.oauth2_provider_builtin_login_page;
        let login_url = match c.oauth2_provider_login_url.trim() {
            "" if builtin_login_page => builtin_login_url.clone(),
            "" => match config.client.client_url.trim().trim_end_matches('/') {
                "" => String::new(),
                client => format!("{client}/oauth2/login"),
            },
            url => url.to_owned(),
        };
        let builtin_device_url = match config.server.server_url.trim().trim_end_matches('/') {
            "" => String::new(),
            server => format!("{server}{}", ui::DEVICE_PATH),
        };
        let device_verify_url = match c.oauth2_provider_device_verify_url.trim() {
            "" if builtin_login_page => builtin_device_url,
            "" => match config.client.client_url.trim().trim_end_matches('/') {
                "" => String::new(),
                client => format!("{client}/oauth2/device"),
            },
            url => url.to_owned(),
        };
        let settings = ProviderSettings {
            enabled: c.oauth2_provider_enabled,
            issuer,
            login_url,
            device_verify_url,
            builtin_login_page,
            builtin_login_url,
            page_key: ui::PageKey::from_config(config),
            access_token_ttl: c.oauth2_provider_access_token_ttl,
            refresh_token_ttl: c.oauth2_provider_refresh_token_ttl,
            cimd_enabled: c.oauth2_provider_cimd_enabled,
            cimd_allow_insecure_transport: c.oauth2_provider_cimd_allow_insecure_transport,
            signing_alg: jwt.algorithm(),
        };
        if settings.enabled {
            settings.check(jwt, schema)?;
        }
        Ok(settings)
    }

    fn check(&self, jwt: &JwtKeys, schema: SchemaLevel) -> Result<(), String> {
        if jwt.signs_with_shared_secret() {
            return Err(format!(
                "AUTH_OAUTH2_PROVIDER_ENABLED=true needs an asymmetric signing key \
                 (RS256/384/512, ES256/384 or Ed25519) in HASURA_GRAPHQL_JWT_SECRET: \
                 clients verify the tokens with the public key, and {} is a shared secret",
                jwt.algorithm()
            ));
        }
        if self.builtin_login_page && self.builtin_login_url.is_empty() {
            return Err(
                "AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE=true needs AUTH_SERVER_URL \
                        (the page is served at <AUTH_SERVER_URL>/oauth2/ui/login)"
                    .into(),
            );
        }
        if self.builtin_login_page
            && !url::Url::parse(&self.builtin_login_url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Err(format!(
                "AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE=true needs an http(s) AUTH_SERVER_URL \
                 (the page would be {:?})",
                self.builtin_login_url
            ));
        }
        if self.login_url.is_empty() {
            return Err("AUTH_OAUTH2_PROVIDER_ENABLED=true needs \
                        AUTH_OAUTH2_PROVIDER_LOGIN_URL or AUTH_CLIENT_URL (the consent page), \
                        or AUTH_OAUTH2_PROVIDER_BUILTIN_LOGIN_PAGE=true"
                .into());
        }
        match url::Url::parse(&self.login_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(format!(
                    "the OAuth2 provider's login URL {:?} is not an http(s) URL \
                     (AUTH_OAUTH2_PROVIDER_LOGIN_URL, or AUTH_CLIENT_URL + /oauth2/login)",
                    self.login_url
                ));
            }
        }
        if !self.device_verify_url.is_empty() {
            match url::Url::parse(&self.device_verify_url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.fragment().is_none() => {}
                _ => {
                    return Err(format!(
                        "the OAuth2 provider's device verification URL {:?} is not an \
                         http(s) URL without fragment (AUTH_OAUTH2_PROVIDER_DEVICE_VERIFY_URL, \
                         or AUTH_CLIENT_URL + /oauth2/device, or the built-in page)",
                        self.device_verify_url
                    ));
                }
            }
        }
        if self.access_token_ttl <= 0 {
            return Err(format!(
                "AUTH_OAUTH2_PROVIDER_ACCESS_TOKEN_TTL must be greater than 0 (got {})",
                self.access_token_ttl
            ));
        }
        if self.refresh_token_ttl <= 0 {
            return Err(format!(
                "AUTH_OAUTH2_PROVIDER_REFRESH_TOKEN_TTL must be greater than 0 (got {})",
                self.refresh_token_ttl
            ));
        }
        if self.issuer.is_empty() {
            return Err("AUTH_OAUTH2_PROVIDER_ENABLED=true needs an issuer: set \
                        AUTH_SERVER_URL (the public base URL of this service, with its \
                        path prefix) or an `issuer` in HASURA_GRAPHQL_JWT_SECRET"
                .into());
        }
        if schema < REQUIRED_SCHEMA {
            return Err(format!(
                "AUTH_OAUTH2_PROVIDER_ENABLED=true needs the auth schema at level \
                 {REQUIRED_SCHEMA} or above, and it is at {schema}: set \
                 AUTH_MIGRATE_TO_LATEST=true to migrate it (hasura-auth v0.42 cannot run \
                 on the migrated schema)"
            ));
        }
        Ok(())
    }

    /// An endpoint's URL: the issuer followed by `path` (`/oauth2/token`).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }
}

/// The identity provider's workflow: everything its endpoints need.
pub struct OAuth2Provider {
    pub(crate) db: DbPool,
    pub settings: ProviderSettings,
    pub(crate) jwt: Arc<JwtKeys>,
    pub(crate) passwords: Arc<PasswordHasher>,
    pub(crate) accounts: Accounts,
    /// Custom claims of the Hasura claims in access tokens and userinfo.
    pub(crate) claims: ClaimsSource,
    /// The occasional deletion of expired requests, codes and refresh tokens.
    pub cleanup: tokens::Cleanup,
    /// TLS roots for metadata-document fetches.
    pub(crate) tls: crate::tls::Tls,
    /// The service-wide budget of unknown user codes (device flow).
    pub device_failures: device::FailureBudget,
}

impl OAuth2Provider {
    /// `server_error` "OAuth2 provider is disabled" unless the provider is on.
    pub fn ensure_enabled(&self) -> Result<(), OAuth2Error> {
        if self.settings.enabled {
            Ok(())
        } else {
            Err(OAuth2Error::disabled())
        }
    }
}
