//! Rules for a password being set (sign-up, password change and reset, deanonymisation):
//! the minimum length, then Have I Been Pwned when `AUTH_PASSWORD_HIBP_ENABLED`.
//!
//! HIBP failure policy (as upstream): if the range API cannot be asked (unreachable,
//! timeout, non-200 after upstream's 429 retries) the password is refused with
//! `internal-server-error`: the check was asked for, so it is never silently skipped.

use crate::adapters::hibp;
use crate::domain::Password;
use crate::error::{ApiError, ErrorCode};
use crate::settings::SettingsHandle;

/// The rules a new password must pass.
#[derive(Clone)]
pub struct NewPasswordRules {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: SettingsHandle,
}

impl NewPasswordRules {
    /// Every rule for a new password; call it wherever a password is set.
    pub async fn check(&self, password: &Password) -> Result<(), ApiError> {
        let settings = self.settings.snapshot();
        settings.policy.check_password(password)?;
        if !settings.config.signup.password_hibp_enabled {
            return Ok(());
        }
        match hibp::is_breached(
            &self.http,
            &settings.config.signup.hibp_url,
            password.expose(),
        )
        .await
        {
            Ok(false) => Ok(()),
            Ok(true) => Err(ErrorCode::PasswordInHibpDatabase.into()),
            Err(e) => Err(ApiError::internal(format!("breached-password check: {e}"))),
        }
    }
}
