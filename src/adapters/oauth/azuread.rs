//! Azure AD (v1 endpoints; deprecated upstream in favour of Entra ID).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{AzureadEndpoints, AzureadProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};
use crate::config::oauth::endpoint_or;

pub struct Azuread {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Azuread {
    type Settings = AzureadProvider;
    type Endpoints = AzureadEndpoints;

    fn build(
        s: &AzureadProvider,
        e: &AzureadEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        tracing::warn!("the azuread provider is deprecated; use entraid");
        let tenant = s.tenant.trim();
        let base = format!("https://login.microsoftonline.com/{tenant}");
        let config = ctx.oauth2(
            "azuread",
            &s.client_id,
            &s.client_secret,
            endpoint_or(&e.authorization_url, || {
                format!("{base}/oauth2/authorize?prompt=select_account")
            }),
            endpoint_or(&e.token_url, || format!("{base}/oauth2/token")),
            s.scopes(),
        );
        let adapter = Azuread {
            config,
            profile_url: endpoint_or(&e.user_profile_url, || format!("{base}/openid/userinfo")),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Azuread {
    fn id(&self) -> &'static str {
        "azuread"
    }

    fn config(&self) -> &OAuth2Config {
        &self.config
    }

    fn profile<'a>(
        &'a self,
        http: &'a reqwest::Client,
        tokens: &'a ProviderTokens,
        _callback: &'a CallbackInput<'a>,
    ) -> BoxFuture<'a, Result<Profile, OAuthError>> {
        Box::pin(async move {
            let user: Value = get_json(http, &self.profile_url, &tokens.access_token, &[])
                .await
                .map_err(OAuthError::Profile)?;
            // Only `email` is an address the directory vouches for; `preferred_username`
            // and `upn` are identifiers an administrator can set to anything.
            let email = opt_string_field(&user, "email");
            Ok(Profile {
                id: string_field(&user, "oid"),
                email_verified: email.is_some(),
                email,
                name: string_field(&user, "name"),
                avatar_url: String::new(),
                locale: None,
            })
        })
    }
}
