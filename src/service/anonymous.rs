//! Anonymous users (`POST /signin/anonymous`).

use serde_json::Value;

use crate::domain::SignUpOptions;
use crate::domain::options::LocaleCode;
use crate::error::{ApiError, ErrorCode};
use crate::service::registration::{Credential, NewAccount, Origin, Registered, Registration};
use crate::service::session::Session;
use crate::settings::SettingsHandle;

pub const ANONYMOUS_ROLE: &str = "anonymous";

/// Input of `POST /signin/anonymous`.
pub struct AnonymousInput {
    pub display_name: Option<String>,
    pub locale: Option<LocaleCode>,
    pub metadata: Option<serde_json::Map<String, Value>>,
}

/// Anonymous sign-in: a new user without email or password.
#[derive(Clone)]
pub struct AnonymousSignIn {
    pub(crate) registration: Registration,
    pub(crate) settings: SettingsHandle,
}

impl AnonymousSignIn {
    /// `POST /signin/anonymous`.
    pub async fn signin_anonymous(&self, input: AnonymousInput) -> Result<Session, ApiError> {
        self.registration.check_open()?;
        if !self.settings.config().signup.enable_anonymous_users {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let options = SignUpOptions {
            allowed_roles: vec![ANONYMOUS_ROLE.to_owned()],
            default_role: ANONYMOUS_ROLE.to_owned(),
            display_name: input
                .display_name
                .unwrap_or_else(|| "Anonymous User".to_owned()),
            locale: self
                .settings
                .policy()
                .resolve_locale(input.locale.as_ref().map(LocaleCode::as_str)),
            metadata: input.metadata.map(Value::Object).unwrap_or(Value::Null),
            redirect_to: String::new(),
        };
        let registered = self
            .registration
            .register(NewAccount {
                id: None,
                email: None,
                email_verified: false,
                credential: Credential::Anonymous,
                options: &options,
                avatar_url: "",
                code_challenge: None,
                origin: Origin::SignUp,
            })
            .await?;
        match registered {
            Registered::Session { session, .. } => Ok(*session),
            Registered::PendingVerification { .. } => Err(ApiError::internal(
                "an anonymous sign-up asked for email verification",
            )),
        }
    }
}
