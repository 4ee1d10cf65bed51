//! Twitch: Helix `/users` (needs the `Client-Id` header).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{TwitchEndpoints, TwitchProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Twitch {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Twitch {
    type Settings = TwitchProvider;
    type Endpoints = TwitchEndpoints;

    fn build(
        s: &TwitchProvider,
        e: &TwitchEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let config = ctx.oauth2(
            "twitch",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        let adapter = Twitch {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Twitch {
    fn id(&self) -> &'static str {
        "twitch"
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
            let body: Value = get_json(
                http,
                &self.profile_url,
                &tokens.access_token,
                &[("client-id", &self.config.client_id)],
            )
            .await
            .map_err(OAuthError::Profile)?;
            let user = body
                .pointer("/data/0")
                .ok_or_else(|| OAuthError::Profile("Twitch returned no user".into()))?;
            // Twitch only exposes an email once it is verified.
            let email = opt_string_field(user, "email");
            Ok(Profile {
                id: string_field(user, "id"),
                email_verified: email.is_some(),
                email,
                name: string_field(user, "display_name"),
                avatar_url: string_field(user, "profile_image_url"),
                locale: None,
            })
        })
    }
}
