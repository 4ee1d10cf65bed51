//! Microsoft Entra ID (v2 endpoints; profile from Microsoft Graph's OIDC userinfo).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{EntraidEndpoints, EntraidProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, bool_field, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};
use crate::config::oauth::endpoint_or;

pub struct Entraid {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Entraid {
    type Settings = EntraidProvider;
    type Endpoints = EntraidEndpoints;

    fn build(
        s: &EntraidProvider,
        e: &EntraidEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let tenant = s.tenant.trim();
        let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
        let mut config = ctx.oauth2(
            "entraid",
            &s.client_id,
            &s.client_secret,
            endpoint_or(&e.authorization_url, || format!("{base}/authorize")),
            endpoint_or(&e.token_url, || format!("{base}/token")),
            s.scopes(),
        );
        config.pkce = true;
        let adapter = Entraid {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Entraid {
    fn id(&self) -> &'static str {
        "entraid"
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
            let email = opt_string_field(&user, "email");
            // Upstream reads `givenname`/`familyname`; the OIDC names and `name` are
            // the fallbacks.
            let mut name = super::full_name(
                &string_field(&user, "givenname"),
                &string_field(&user, "familyname"),
            );
            if name.is_empty() {
                name = super::full_name(
                    &string_field(&user, "given_name"),
                    &string_field(&user, "family_name"),
                );
            }
            if name.is_empty() {
                name = string_field(&user, "name");
            }
            Ok(Profile {
                id: string_field(&user, "sub"),
                email_verified: email.is_some() && bool_field(&user, "email_verified"),
                email,
                name,
                avatar_url: String::new(),
                locale: None,
            })
        })
    }
}
