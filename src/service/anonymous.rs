//! Anonymous users (`POST /signin/anonymous`).

use serde_json::Value;

use crate::db::DbPool;
use crate::db::users::{self, NewUser};
use crate::domain::options::LocaleCode;
use crate::error::{ApiError, ErrorCode};
use crate::service::session::{Session, Sessions};
use crate::settings::SettingsHandle;
use crate::tokens::refresh::RefreshToken;

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
    pub(crate) db: DbPool,
    pub(crate) sessions: Sessions,
    pub(crate) settings: SettingsHandle,
}

impl AnonymousSignIn {
    /// `POST /signin/anonymous`.
    pub async fn signin_anonymous(&self, input: AnonymousInput) -> Result<Session, ApiError> {
        if self.settings.config().disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        if !self.settings.config().enable_anonymous_users {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let locale = self
            .settings
            .policy()
            .resolve_locale(input.locale.as_ref().map(LocaleCode::as_str));
        let display_name = input
            .display_name
            .unwrap_or_else(|| "Anonymous User".to_owned());
        let metadata = input.metadata.map(Value::Object).unwrap_or(Value::Null);
        let roles = vec![ANONYMOUS_ROLE.to_owned()];
        let refresh = RefreshToken::generate();
        let new_user = NewUser {
            id: None,
            email: None,
            password_hash: None,
            display_name: &display_name,
            avatar_url: "",
            locale: &locale,
            default_role: ANONYMOUS_ROLE,
            roles: &roles,
            metadata: &metadata,
            disabled: false,
            is_anonymous: true,
            email_verified: false,
            ticket: None,
        };
        let db = self.db.get().await?;
        let (user_id, token_id, created_at) = users::insert_with_refresh_token(
            &db,
            &new_user,
            &refresh.hash(),
            self.settings.config().refresh_token_expires_in,
        )
        .await?;
        let user = new_user.inserted_row(user_id, created_at);
        self.sessions
            .session_for(&user, roles, refresh, token_id, false)
            .await
    }
}
