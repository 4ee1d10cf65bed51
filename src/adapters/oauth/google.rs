//! Google: OAuth 2.0 with PKCE, profile from the v2 userinfo endpoint (as upstream).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{GoogleEndpoints, GoogleProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, bool_field, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Google {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl FromProviderSettings for Google {
    type Settings = GoogleProvider;
    type Endpoints = GoogleEndpoints;

    fn build(
        s: &GoogleProvider,
        e: &GoogleEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let mut config = ctx.oauth2(
            "google",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        config.pkce = true;
        let adapter = Google {
            config,
            profile_url: e.user_profile_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Google {
    fn id(&self) -> &'static str {
        "google"
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

/// `{"id","email","verified_email","name","picture","locale"}`.
pub fn map(user: &Value) -> Profile {
    let email = opt_string_field(user, "email");
    Profile {
        id: string_field(user, "id"),
        email_verified: email.is_some() && bool_field(user, "verified_email"),
        email,
        name: string_field(user, "name"),
        avatar_url: string_field(user, "picture"),
        locale: opt_string_field(user, "locale"),
    }
}
