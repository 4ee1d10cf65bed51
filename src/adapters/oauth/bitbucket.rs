//! Bitbucket: the user endpoint has no email; `/user/emails` lists them with a
//! confirmation flag. Only a confirmed address is used (an unconfirmed one proves
//! nothing and would let anyone claim an account by email).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;

use crate::config::providers::{BitbucketEndpoints, BitbucketProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::ClientAuth;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Bitbucket {
    pub config: OAuth2Config,
    pub profile_url: String,
    pub emails_url: String,
}

impl FromProviderSettings for Bitbucket {
    type Settings = BitbucketProvider;
    type Endpoints = BitbucketEndpoints;

    fn build(
        s: &BitbucketProvider,
        e: &BitbucketEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let mut config = ctx.oauth2(
            "bitbucket",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        config.client_auth = ClientAuth::Basic;
        let adapter = Bitbucket {
            config,
            profile_url: e.user_profile_url.clone(),
            emails_url: e.user_emails_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

#[derive(Deserialize)]
struct Emails {
    #[serde(default)]
    values: Vec<EmailEntry>,
}

#[derive(Deserialize)]
struct EmailEntry {
    #[serde(default)]
    email: String,
    #[serde(default)]
    is_confirmed: bool,
    #[serde(default)]
    is_primary: bool,
}

impl OAuth2Adapter for Bitbucket {
    fn id(&self) -> &'static str {
        "bitbucket"
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
            let emails: Emails = get_json(http, &self.emails_url, &tokens.access_token, &[])
                .await
                .map_err(OAuthError::Profile)?;
            let confirmed = |e: &&EmailEntry| e.is_confirmed && !e.email.is_empty();
            let email = emails
                .values
                .iter()
                .filter(confirmed)
                .find(|e| e.is_primary)
                .or_else(|| emails.values.iter().find(confirmed))
                .ok_or_else(|| OAuthError::Profile("no confirmed Bitbucket email".into()))?;
            let avatar = user
                .pointer("/links/avatar/href")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(Profile {
                id: string_field(&user, "uuid"),
                email: Some(email.email.clone()),
                email_verified: true,
                name: string_field(&user, "display_name"),
                avatar_url: avatar.to_owned(),
                locale: None,
            })
        })
    }
}
