//! WorkOS SSO: the organization or connection comes from the request
//! (`providerSpecificParams`) or the configured defaults.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::providers::{WorkosEndpoints, WorkosProvider};

use super::Provider;
use super::http::get_json;
use super::oauth2_flow::OAuth2Provider;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::registry::{BuildContext, FromProviderSettings};
use super::{CallbackInput, OAuthError, Profile, ProviderSpecificParams, ProviderTokens};

pub struct Workos {
    pub config: OAuth2Config,
    pub profile_url: String,
    pub default_organization: String,
    pub default_connection: String,
    pub default_domain: String,
}

impl FromProviderSettings for Workos {
    type Settings = WorkosProvider;
    type Endpoints = WorkosEndpoints;

    fn build(
        s: &WorkosProvider,
        e: &WorkosEndpoints,
        ctx: &BuildContext,
    ) -> Result<Arc<dyn Provider>, String> {
        let config = ctx.oauth2(
            "workos",
            &s.client_id,
            &s.client_secret,
            e.authorization_url.clone(),
            e.token_url.clone(),
            s.scopes(),
        );
        let adapter = Workos {
            config,
            profile_url: e.user_profile_url.clone(),
            default_organization: s.default_organization.clone(),
            default_connection: s.default_connection.clone(),
            default_domain: s.default_domain.clone(),
        };
        Ok(Arc::new(OAuth2Provider::new(adapter, ctx.http.clone())))
    }
}

impl OAuth2Adapter for Workos {
    fn id(&self) -> &'static str {
        "workos"
    }

    fn config(&self) -> &OAuth2Config {
        &self.config
    }

    fn authorize_params(&self, specific: &ProviderSpecificParams) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        let pick = |requested: &Option<String>, default: &str| {
            requested
                .clone()
                .filter(|v| !v.is_empty())
                .or_else(|| Some(default.to_owned()).filter(|d| !d.is_empty()))
        };
        if let Some(org) = pick(&specific.organization, &self.default_organization) {
            params.push(("organization", org));
        }
        if let Some(conn) = pick(&specific.connection, &self.default_connection) {
            params.push(("connection", conn));
        }
        if !self.default_domain.is_empty() {
            params.push(("domain", self.default_domain.clone()));
        }
        params
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
            // The enterprise identity provider behind WorkOS vouches for the address.
            let email = opt_string_field(&user, "email");
            Ok(Profile {
                id: string_field(&user, "id"),
                email_verified: email.is_some(),
                email,
                name: super::full_name(
                    &string_field(&user, "first_name"),
                    &string_field(&user, "last_name"),
                ),
                avatar_url: String::new(),
                locale: opt_string_field(&user, "locale"),
            })
        })
    }
}
