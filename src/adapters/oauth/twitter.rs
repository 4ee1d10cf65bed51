//! Twitter (X): OAuth 1.0a, requests signed with HMAC-SHA1 by the `oauth1-request` crate.
//! The sign-in's state travels in the callback URL given with the request token; the
//! request token's secret is kept with the state until the callback.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use oauth1_request as oauth;
use serde_json::{Value, json};

use crate::config::providers::{TwitterEndpoints, TwitterProvider};

use super::oauth2_flow::{opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{
    Authorization, AuthorizeInput, CallbackInput, OAuthError, Profile, Provider, ProviderTokens,
};

pub struct Twitter {
    pub consumer_key: String,
    pub consumer_secret: String,
    /// `<AUTH_SERVER_URL>/signin/provider/twitter/callback`
    pub callback_url: String,
    pub request_token_url: String,
    pub authorization_url: String,
    pub access_token_url: String,
    pub profile_url: String,
    pub http: reqwest::Client,
}

impl FromProviderSettings for Twitter {
    type Settings = TwitterProvider;
    type Endpoints = TwitterEndpoints;

    fn build(
        s: &TwitterProvider,
        e: &TwitterEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        Ok(Arc::new(Twitter {
            consumer_key: s.consumer_key.clone(),
            consumer_secret: s.consumer_secret.expose().to_owned(),
            callback_url: ctx.callback_url("twitter"),
            request_token_url: e.request_token_url.clone(),
            authorization_url: e.authorization_url.clone(),
            access_token_url: e.access_token_url.clone(),
            profile_url: e.user_profile_url.clone(),
            http: ctx.http.clone(),
        }))
    }
}

/// A form-encoded answer (`oauth_token=…&oauth_token_secret=…`) as key/value pairs.
fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

impl Twitter {
    fn client(&self) -> oauth::Credentials<&str> {
        oauth::Credentials::new(self.consumer_key.as_str(), self.consumer_secret.as_str())
    }

    /// POSTs a signed, body-less request and reads the form-encoded answer.
    async fn post_signed(
        &self,
        url: &str,
        authorization: String,
    ) -> Result<Vec<(String, String)>, String> {
        let res = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = res.status();
        let body = res.text().await.map_err(|e| format!("POST {url}: {e}"))?;
        if !status.is_success() {
            return Err(format!("POST {url}: status {status}"));
        }
        Ok(form(&body))
    }
}

impl Provider for Twitter {
    fn id(&self) -> &'static str {
        "twitter"
    }

    fn supports_refresh(&self) -> bool {
        false
    }

    fn authorize<'a>(
        &'a self,
        input: AuthorizeInput<'a>,
    ) -> BoxFuture<'a, Result<Authorization, OAuthError>> {
        Box::pin(async move {
            let mut callback = url::Url::parse(&self.callback_url)
                .map_err(|e| OAuthError::Authorize(format!("callback URL: {e}")))?;
            callback.query_pairs_mut().append_pair("state", input.state);
            let authorization =
                oauth::Builder::<_, &str, &str>::new(self.client(), oauth::HMAC_SHA1)
                    .callback(callback.as_str())
                    .post(&self.request_token_url, &());
            let answer = self
                .post_signed(&self.request_token_url, authorization)
                .await
                .map_err(OAuthError::Authorize)?;
            if field(&answer, "oauth_callback_confirmed") != Some("true") {
                return Err(OAuthError::Authorize("callback not confirmed".into()));
            }
            let token = field(&answer, "oauth_token")
                .ok_or_else(|| OAuthError::Authorize("no request token".into()))?;
            let secret = field(&answer, "oauth_token_secret")
                .ok_or_else(|| OAuthError::Authorize("no request token secret".into()))?;
            let mut url = url::Url::parse(&self.authorization_url)
                .map_err(|e| OAuthError::Authorize(format!("authorization URL: {e}")))?;
            url.query_pairs_mut().append_pair("oauth_token", token);
            Ok(Authorization {
                url: url.to_string(),
                kept: json!({ "oauthToken": token, "oauthTokenSecret": secret }),
            })
        })
    }

    fn complete<'a>(
        &'a self,
        input: CallbackInput<'a>,
    ) -> BoxFuture<'a, Result<(Profile, ProviderTokens), OAuthError>> {
        Box::pin(async move {
            let kept_token = input.kept.get("oauthToken").and_then(Value::as_str);
            let kept_secret = input.kept.get("oauthTokenSecret").and_then(Value::as_str);
            let (Some(request_token), Some(request_secret)) = (kept_token, kept_secret) else {
                return Err(OAuthError::TokenExchange("no request token kept".into()));
            };
            // The callback must be about the request token this sign-in obtained.
            if input.oauth_token != Some(request_token) {
                return Err(OAuthError::TokenExchange(
                    "oauth_token does not match".into(),
                ));
            }
            let verifier = input
                .oauth_verifier
                .filter(|v| !v.is_empty())
                .ok_or_else(|| OAuthError::TokenExchange("no oauth_verifier".into()))?;
            let authorization =
                oauth::Builder::<_, &str, &str>::new(self.client(), oauth::HMAC_SHA1)
                    .token(oauth::Credentials::new(request_token, request_secret))
                    .verifier(verifier)
                    .post(&self.access_token_url, &());
            let answer = self
                .post_signed(&self.access_token_url, authorization)
                .await
                .map_err(OAuthError::TokenExchange)?;
            let token = field(&answer, "oauth_token")
                .ok_or_else(|| OAuthError::TokenExchange("no access token".into()))?;
            let secret = field(&answer, "oauth_token_secret")
                .ok_or_else(|| OAuthError::TokenExchange("no access token secret".into()))?;

            let params = oauth::ParameterList::new([("include_email", "true")]);
            let authorization =
                oauth::Builder::<_, &str, &str>::new(self.client(), oauth::HMAC_SHA1)
                    .token(oauth::Credentials::new(token, secret))
                    .get(&self.profile_url, &params);
            let url = oauth::to_query(self.profile_url.clone(), &params);
            let res = self
                .http
                .get(&url)
                .header(reqwest::header::AUTHORIZATION, authorization)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| OAuthError::Profile(format!("GET {}: {e}", self.profile_url)))?;
            if !res.status().is_success() {
                return Err(OAuthError::Profile(format!(
                    "GET {}: status {}",
                    self.profile_url,
                    res.status()
                )));
            }
            let user: Value = res
                .json()
                .await
                .map_err(|e| OAuthError::Profile(format!("GET {}: {e}", self.profile_url)))?;
            // Twitter only returns an email (with include_email) once it is verified.
            let email = opt_string_field(&user, "email");
            let profile = Profile {
                id: string_field(&user, "id_str"),
                email_verified: email.is_some(),
                email,
                name: string_field(&user, "name"),
                avatar_url: string_field(&user, "profile_image_url_https"),
                locale: None,
            };
            if profile.id.is_empty() {
                return Err(OAuthError::Profile("the profile has no account id".into()));
            }
            // As upstream: the provider session carries the access token only.
            let tokens = ProviderTokens {
                access_token: token.to_owned(),
                ..ProviderTokens::default()
            };
            Ok((profile, tokens))
        })
    }

    fn refresh<'a>(
        &'a self,
        _refresh_token: &'a str,
    ) -> BoxFuture<'a, Result<ProviderTokens, OAuthError>> {
        Box::pin(async {
            Err(OAuthError::Unsupported(
                "OAuth 1.0a tokens cannot be refreshed",
            ))
        })
    }
}
