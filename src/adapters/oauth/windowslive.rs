//! Windows Live (Live Connect v5 `/me`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{WindowsliveEndpoints, WindowsliveProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Windowslive {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Windowslive {
    type Settings = WindowsliveProvider;
    type Endpoints = WindowsliveEndpoints;

    fn build(
        s: &WindowsliveProvider,
        e: &WindowsliveEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let config = ctx.oauth2(
            "windowslive",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        let adapter = Windowslive {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Windowslive {
    fn id(&self) -> &'static str {
        "windowslive"
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
            let emails = user.get("emails").cloned().unwrap_or(Value::Null);
            let email = opt_string_field(&emails, "preferred")
                .or_else(|| opt_string_field(&emails, "account"));
            // `name` is the full name (upstream appended `last_name` to it again).
            let mut name = string_field(&user, "name");
            if name.is_empty() {
                name = super::full_name(
                    &string_field(&user, "first_name"),
                    &string_field(&user, "last_name"),
                );
            }
            Ok(Profile {
                id: string_field(&user, "id"),
                // Live only lists confirmed addresses.
                email_verified: email.is_some(),
                email,
                name,
                avatar_url: string_field(&user, "profile_image_url"),
                locale: opt_string_field(&user, "locale"),
            })
        })
    }
}
