//! Email + password sign-up (`POST /signup/email-password`).

use crate::domain::options::SignUpOptionsInput;
use crate::domain::{CodeChallenge, Email, Password};
use crate::error::ApiError;
use crate::service::password_check::NewPasswordRules;
use crate::service::registration::{Credential, NewAccount, Origin, Registered, Registration};
use crate::service::session::Session;
use crate::settings::SettingsHandle;
use crate::tokens::password_hash::PasswordHasher;
use std::sync::Arc;

/// Email + password sign-up.
#[derive(Clone)]
pub struct SignUp {
    pub(crate) passwords: Arc<PasswordHasher>,
    pub(crate) password_rules: NewPasswordRules,
    pub(crate) registration: Registration,
    pub(crate) settings: SettingsHandle,
}

impl SignUp {
    /// A session, or `None` when the user must first verify the address (a verification
    /// email is sent).
    pub async fn signup_email_password(
        &self,
        email: Email,
        password: Password,
        options: Option<SignUpOptionsInput>,
        code_challenge: Option<CodeChallenge>,
    ) -> Result<Option<Session>, ApiError> {
        self.registration.check_open()?;
        self.settings.policy().check_email(email.as_str())?;
        self.password_rules.check(&password).await?;
        let (options, avatar_url) = {
            let policy = self.settings.policy();
            (
                policy.resolve_signup_options(options, email.as_str())?,
                policy.avatar_url(email.as_str()),
            )
        };
        let password_hash = self.passwords.hash(password.expose()).await?;
        let registered = self
            .registration
            .register(NewAccount {
                id: None,
                email: Some(&email),
                email_verified: false,
                credential: Credential::PasswordHash(&password_hash),
                options: &options,
                avatar_url: &avatar_url,
                code_challenge: code_challenge.as_ref(),
                origin: Origin::SignUp,
            })
            .await?;
        Ok(match registered {
            Registered::Session { session, .. } => Some(*session),
            Registered::PendingVerification { .. } => None,
        })
    }
}
