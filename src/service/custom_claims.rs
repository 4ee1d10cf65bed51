//! Custom claims at token issuance: one GraphQL lookup per token, with the admin secret,
//! under `AUTH_JWT_CUSTOM_CLAIMS_TIMEOUT`.
//!
//! When the lookup fails (Hasura down, slow, or an unexpected answer) the token is still
//! issued, carrying the configured defaults (`AUTH_JWT_CUSTOM_CLAIMS_DEFAULTS`) of the
//! custom claims; claims without a default are left out. Upstream leaves every custom
//! claim out in that case (see docs/compatibility.md).

use uuid::Uuid;

use crate::adapters::hasura;
use crate::settings::SettingsHandle;

/// Where custom claims come from: Hasura's GraphQL API, asked with the admin secret.
#[derive(Clone)]
pub struct ClaimsSource {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: SettingsHandle,
}

impl ClaimsSource {
    /// The custom claims of a user, named and encoded for the token.
    pub async fn custom_claims(&self, user_id: Uuid) -> Vec<(String, String)> {
        match self.lookup(user_id).await {
            Some((claims, values)) => claims.encode(&values),
            None => Vec::new(),
        }
    }

    /// The custom claims of a user, named for the token, as JSON values (not encoded as
    /// text): what `/oauth2/userinfo` answers.
    pub async fn custom_claims_json(&self, user_id: Uuid) -> Vec<(String, serde_json::Value)> {
        match self.lookup(user_id).await {
            Some((claims, values)) => claims.named(&values),
            None => Vec::new(),
        }
    }

    /// The configured claims and their values for a user (the defaults when the lookup
    /// fails); `None` when no custom claims are configured.
    async fn lookup(
        &self,
        user_id: Uuid,
    ) -> Option<(
        std::sync::Arc<crate::tokens::custom_claims::CustomClaims>,
        std::collections::BTreeMap<String, serde_json::Value>,
    )> {
        let settings = self.settings.snapshot();
        let claims = settings.claims.clone()?;
        let config = &settings.config;
        let values = match hasura::fetch_user(
            &self.http,
            &config.hasura.graphql_url,
            &config.hasura.hasura_admin_secret,
            claims.query(),
            user_id,
            config.hasura.custom_claims_timeout,
        )
        .await
        {
            Ok(user) => claims.extract(&user),
            Err(e) => {
                tracing::error!(
                    error = %e,
                    user_id = %user_id,
                    "custom claims lookup failed; the token carries the configured defaults only"
                );
                claims.defaults_only()
            }
        };
        Some((claims, values))
    }
}
