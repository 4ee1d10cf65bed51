//! LinkedIn ("Sign In with LinkedIn using OpenID Connect": the userinfo endpoint).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{LinkedinEndpoints, LinkedinProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, bool_field, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Linkedin {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Linkedin {
    type Settings = LinkedinProvider;
    type Endpoints = LinkedinEndpoints;

    fn build(
        s: &LinkedinProvider,
        e: &LinkedinEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let config = ctx.oauth2(
            "linkedin",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        let adapter = Linkedin {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Linkedin {
    fn id(&self) -> &'static str {
        "linkedin"
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
            let mut name = super::full_name(
                &string_field(&user, "given_name"),
                &string_field(&user, "family_name"),
            );
            if name.is_empty() {
                name = email.clone().unwrap_or_default();
            }
            // `locale` is `{"country":"US","language":"en"}` (or a string).
            let locale = user
                .pointer("/locale/language")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| opt_string_field(&user, "locale"));
            Ok(Profile {
                id: string_field(&user, "sub"),
                email_verified: email.is_some() && bool_field(&user, "email_verified"),
                email,
                name,
                avatar_url: string_field(&user, "picture"),
                locale,
            })
        })
    }
}
