//! GitLab (gitlab.com or self-managed through the URL settings).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{GitlabEndpoints, GitlabProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Gitlab {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Gitlab {
    type Settings = GitlabProvider;
    type Endpoints = GitlabEndpoints;

    fn build(
        s: &GitlabProvider,
        e: &GitlabEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let mut config = ctx.oauth2(
            "gitlab",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        config.pkce = true;
        let adapter = Gitlab {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Gitlab {
    fn id(&self) -> &'static str {
        "gitlab"
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
            // `confirmed_at` is set once the user confirmed the address.
            let confirmed = opt_string_field(&user, "confirmed_at").is_some();
            Ok(Profile {
                id: string_field(&user, "id"),
                email_verified: email.is_some() && confirmed,
                email,
                name: string_field(&user, "name"),
                avatar_url: string_field(&user, "avatar_url"),
                locale: None,
            })
        })
    }
}
