//! Facebook: Graph API `/me` with the fields upstream asks for.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{FacebookEndpoints, FacebookProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Facebook {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Facebook {
    type Settings = FacebookProvider;
    type Endpoints = FacebookEndpoints;

    fn build(
        s: &FacebookProvider,
        e: &FacebookEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let config = ctx.oauth2(
            "facebook",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        let adapter = Facebook {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Facebook {
    fn id(&self) -> &'static str {
        "facebook"
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
            let mut url = url::Url::parse(&self.profile_url)
                .map_err(|e| OAuthError::Profile(format!("profile URL: {e}")))?;
            url.query_pairs_mut()
                .append_pair("fields", "id,name,email,picture");
            let user: Value = get_json(http, url.as_str(), &tokens.access_token, &[])
                .await
                .map_err(OAuthError::Profile)?;
            // Facebook only returns an email once the user confirmed it.
            let email = opt_string_field(&user, "email");
            Ok(Profile {
                id: string_field(&user, "id"),
                email_verified: email.is_some(),
                email,
                name: string_field(&user, "name"),
                avatar_url: user
                    .pointer("/picture/data/url")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                locale: None,
            })
        })
    }
}
