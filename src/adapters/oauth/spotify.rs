//! Spotify.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{SpotifyEndpoints, SpotifyProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::ClientAuth;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Spotify {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Spotify {
    type Settings = SpotifyProvider;
    type Endpoints = SpotifyEndpoints;

    fn build(
        s: &SpotifyProvider,
        e: &SpotifyEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let mut config = ctx.oauth2(
            "spotify",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        config.pkce = true;
        config.client_auth = ClientAuth::Basic;
        let adapter = Spotify {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Spotify {
    fn id(&self) -> &'static str {
        "spotify"
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
            // Spotify activates accounts only after the email is confirmed.
            let email = opt_string_field(&user, "email");
            Ok(Profile {
                id: string_field(&user, "id"),
                email_verified: email.is_some(),
                email,
                name: string_field(&user, "display_name"),
                avatar_url: user
                    .pointer("/images/0/url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                locale: None,
            })
        })
    }
}
