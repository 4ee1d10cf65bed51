//! Rules for a password being set (sign-up, password change and reset, deanonymisation):
//! the minimum length, then Have I Been Pwned when `AUTH_PASSWORD_HIBP_ENABLED`.
//!
//! HIBP failure policy (as upstream): if the range API cannot be asked (unreachable,
//! timeout, non-200 after upstream's 429 retries) the password is refused with
//! `internal-server-error`: the check was asked for, so it is never silently skipped.

use crate::adapters::hibp;
use crate::app::AppState;
use crate::domain::Password;
use crate::error::{ApiError, ErrorCode};

impl AppState {
    /// Every rule for a new password; call it wherever a password is set.
    pub async fn check_new_password(&self, password: &Password) -> Result<(), ApiError> {
        let settings = self.settings();
        settings.policy.check_password(password)?;
        if !settings.config.signup.password_hibp_enabled {
            return Ok(());
        }
        match hibp::is_breached(
            &self.http_client,
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
