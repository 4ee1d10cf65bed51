//! Strava: no email is ever available.

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::http::get_json;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, string_field};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Strava {
    pub config: OAuth2Config,
    pub profile_url: String,
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
