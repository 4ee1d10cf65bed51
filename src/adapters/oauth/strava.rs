//! Strava: no email is ever available.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{StravaEndpoints, StravaProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Strava {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Strava {
    type Settings = StravaProvider;
    type Endpoints = StravaEndpoints;

    fn build(
        s: &StravaProvider,
        e: &StravaEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        // Strava wants its scopes comma-separated in one parameter.
        let scopes = vec![s.scopes().join(",")];
        let mut config = ctx.oauth2(
            "strava",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            scopes,
        );
        config.extra_params = vec![("approval_prompt", "force".to_owned())];
        let adapter = Strava {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Strava {
    fn id(&self) -> &'static str {
        "strava"
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
            let athlete: Value = get_json(http, &self.profile_url, &tokens.access_token, &[])
                .await
                .map_err(OAuthError::Profile)?;
            Ok(Profile {
                id: string_field(&athlete, "id"),
                email: None,
                email_verified: false,
                name: super::full_name(
                    &string_field(&athlete, "firstname"),
                    &string_field(&athlete, "lastname"),
                ),
                avatar_url: string_field(&athlete, "profile_medium"),
                locale: None,
            })
        })
    }
}
