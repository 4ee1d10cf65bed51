//! GitHub (and GitHub Enterprise through the URL settings): the user endpoint gives the
//! account, `/user/emails` the addresses and whether GitHub verified them.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Deserialize;
use serde_json::Value;

use crate::config::providers::{GithubEndpoints, GithubProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Github {
    pub config: OAuth2Config,
    pub profile_url: String,
    pub emails_url: String,
}

impl FromProviderSettings for Github {
    type Settings = GithubProvider;
    type Endpoints = GithubEndpoints;

    fn build(
        s: &GithubProvider,
        e: &GithubEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let mut config = ctx.oauth2(
            "github",
            &s.client_id,
            &s.client_secret,
            s.authorization_url.clone(),
            s.token_url.clone(),
            s.scopes(),
        );
        config.pkce = true;
        let adapter = Github {
            config,
            profile_url: s.user_profile_url.clone(),
            emails_url: e.user_emails_url.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

#[derive(Deserialize, Clone, Debug)]
pub struct GithubEmail {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub primary: bool,
}

/// The address to use: primary and verified, else the first verified, else the first.
pub fn select_email(emails: &[GithubEmail]) -> Option<&GithubEmail> {
    emails
        .iter()
        .find(|e| e.primary && e.verified)
        .or_else(|| emails.iter().find(|e| e.verified))
        .or_else(|| emails.first())
}

impl OAuth2Adapter for Github {
    fn id(&self) -> &'static str {
        "github"
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
            let emails: Vec<GithubEmail> =
                get_json(http, &self.emails_url, &tokens.access_token, &[])
                    .await
                    .map_err(OAuthError::Profile)?;
            let email = select_email(&emails)
                .ok_or_else(|| OAuthError::Profile("the GitHub account has no email".into()))?;
            Ok(Profile {
                id: string_field(&user, "id"),
                email: Some(email.email.clone()).filter(|e| !e.is_empty()),
                email_verified: email.verified && !email.email.is_empty(),
                name: string_field(&user, "name"),
                avatar_url: string_field(&user, "avatar_url"),
                locale: None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(email: &str, verified: bool, primary: bool) -> GithubEmail {
        GithubEmail {
            email: email.into(),
            verified,
            primary,
        }
    }

    #[test]
    fn prefers_primary_verified_then_verified_then_first() {
        let list = [
            e("a@x", false, true),
            e("b@x", true, false),
            e("c@x", true, true),
        ];
        assert_eq!(select_email(&list).map(|e| e.email.as_str()), Some("c@x"));
        let list = [e("a@x", false, true), e("b@x", true, false)];
        assert_eq!(select_email(&list).map(|e| e.email.as_str()), Some("b@x"));
        let list = [e("a@x", false, false), e("b@x", false, true)];
        assert_eq!(select_email(&list).map(|e| e.email.as_str()), Some("a@x"));
        assert!(select_email(&[]).is_none());
    }
}
