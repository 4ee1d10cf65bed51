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
        let settings = self.settings.snapshot();
        let Some(claims) = settings.claims.as_deref() else {
            return Vec::new();
        };
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
        claims.encode(&values)
    }
}
