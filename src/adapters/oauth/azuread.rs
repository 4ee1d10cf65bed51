//! Azure AD (v1 endpoints; deprecated upstream in favour of Entra ID).

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::http::get_json;
use super::oauth2_flow::{OAuth2Adapter, OAuth2Config, opt_string_field, string_field};
use super::{CallbackInput, OAuthError, Profile, ProviderTokens};

pub struct Azuread {
    pub config: OAuth2Config,
    pub profile_url: String,
}

impl OAuth2Adapter for Azuread {
    fn id(&self) -> &'static str {
        "azuread"
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
            // Only `email` is an address the directory vouches for; `preferred_username`
            // and `upn` are identifiers an administrator can set to anything.
            let email = opt_string_field(&user, "email");
            Ok(Profile {
                id: string_field(&user, "oid"),
                email_verified: email.is_some(),
                email,
                name: string_field(&user, "name"),
                avatar_url: String::new(),
                locale: None,
            })
        })
    }
}
