//! Discord.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{DiscordEndpoints, DiscordProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, bool_field, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Discord {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Discord {
    type Settings = DiscordProvider;
    type Endpoints = DiscordEndpoints;

    fn build(
        s: &DiscordProvider,
        e: &DiscordEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let config = ctx.oauth2(
            "discord",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        let adapter = Discord {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

/// `{"id","username","discriminator","email","verified","avatar","locale"}`.
pub fn map(user: &Value) -> Profile {
    let id = string_field(user, "id");
    let username = string_field(user, "username");
    let discriminator = string_field(user, "discriminator");
    // Accounts migrated to unique usernames have the discriminator "0".
    let name = if discriminator.is_empty() || discriminator == "0" {
        username
    } else {
        format!("{username}#{discriminator}")
    };
    let avatar = string_field(user, "avatar");
    let email = opt_string_field(user, "email");
    Profile {
        email_verified: email.is_some() && bool_field(user, "verified"),
        email,
        name,
        avatar_url: if avatar.is_empty() {
            String::new()
        } else {
            format!("https://cdn.discordapp.com/avatars/{id}/{avatar}.png")
        },
        locale: opt_string_field(user, "locale"),
        id,
    }
}

impl OAuth2Adapter for Discord {
    fn id(&self) -> &'static str {
        "discord"
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
            Ok(map(&user))
        })
    }
}
