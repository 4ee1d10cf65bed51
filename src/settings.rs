//! The settings a request reads: the configuration and what is derived from it once
//! (sign-up policy, compiled custom claims, the WebAuthn relying party).
//!
//! They sit behind an [`ArcSwap`] because `POST /change-env` (test environments only)
//! replaces them at runtime; a request takes one consistent snapshot with one atomic
//! load. Workflows hold a [`SettingsHandle`], never a copy of the configuration.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::adapters::webauthn::RelyingParty;
use crate::config::Config;
use crate::domain::policy::Policy;
use crate::tokens::custom_claims::CustomClaims;

/// One snapshot of the runtime-replaceable settings.
pub struct RuntimeSettings {
    pub config: Config,
    pub policy: Policy,
    /// Compiled `AUTH_JWT_CUSTOM_CLAIMS` (+ defaults); `None` when none are configured.
    pub claims: Option<Arc<CustomClaims>>,
    /// The WebAuthn relying party (`None` when WebAuthn is disabled); rebuilt with the
    /// configuration.
    pub webauthn: Option<Arc<RelyingParty>>,
}

/// Why the configuration cannot be turned into settings.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl RuntimeSettings {
    pub fn new(config: Config) -> Result<RuntimeSettings, SettingsError> {
        let policy = Policy::from_config(&config).map_err(SettingsError)?;
        let claims = CustomClaims::from_settings(
            config.custom_claims_map().as_ref(),
            config.custom_claims_defaults_map().as_ref(),
        )
        .map_err(|e| SettingsError(e.to_string()))?
        .map(Arc::new);
        let webauthn = RelyingParty::from_config(&config)
            .map_err(SettingsError)?
            .map(Arc::new);
        Ok(RuntimeSettings {
            config,
            policy,
            claims,
            webauthn,
        })
    }
}

/// A shared, replaceable reference to the current [`RuntimeSettings`]; cheap to clone.
#[derive(Clone)]
pub struct SettingsHandle(Arc<ArcSwap<RuntimeSettings>>);

/// A read-only view of one snapshot's configuration.
pub struct ConfigRef(arc_swap::Guard<Arc<RuntimeSettings>>);

impl std::ops::Deref for ConfigRef {
    type Target = Config;
    fn deref(&self) -> &Config {
        &self.0.config
    }
}

/// A read-only view of one snapshot's policy.
pub struct PolicyRef(arc_swap::Guard<Arc<RuntimeSettings>>);

impl std::ops::Deref for PolicyRef {
    type Target = Policy;
    fn deref(&self) -> &Policy {
        &self.0.policy
    }
}

impl SettingsHandle {
    pub fn new(settings: RuntimeSettings) -> SettingsHandle {
        SettingsHandle(Arc::new(ArcSwap::from_pointee(settings)))
    }

    pub fn config(&self) -> ConfigRef {
        ConfigRef(self.0.load())
    }

    pub fn policy(&self) -> PolicyRef {
        PolicyRef(self.0.load())
    }

    /// The current settings as one snapshot (config and policy that belong together).
    pub fn snapshot(&self) -> Arc<RuntimeSettings> {
        self.0.load_full()
    }

    /// Replaces the settings for the requests that start after this call.
    pub fn replace(&self, settings: RuntimeSettings) {
        self.0.store(Arc::new(settings));
    }
}
