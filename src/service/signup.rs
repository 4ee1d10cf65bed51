//! Creating users: email + password sign-up and anonymous users.

use serde_json::Value;

use crate::adapters::email::TemplateName;
use crate::app::AppState;
use crate::db::users::{self, NewUser};
use crate::domain::options::{LocaleCode, SignUpOptionsInput};
use crate::domain::{Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::email::TicketEmail;
use crate::service::session::{Session, UserView};
use crate::service::tickets::{self, TicketKind};
use crate::tokens::refresh::RefreshToken;

pub const ANONYMOUS_ROLE: &str = "anonymous";

/// Input of `POST /signin/anonymous`.
pub struct AnonymousSignIn {
    pub display_name: Option<String>,
    pub locale: Option<LocaleCode>,
    pub metadata: Option<serde_json::Map<String, Value>>,
}

impl AppState {
    /// `POST /signup/email-password`: a session, or `None` when the user must first
    /// verify the address (a verification email is sent).
    pub async fn signup_email_password(
        &self,
        email: Email,
        password: Password,
        options: Option<SignUpOptionsInput>,
    ) -> Result<Option<Session>, ApiError> {
        if self.config().signup.disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        self.policy().check_email(email.as_str())?;
        self.check_new_password(&password).await?;
        let options = self
            .policy()
            .resolve_signup_options(options, email.as_str())?;
        let password_hash = self.passwords.hash(password.expose()).await?;
        let avatar_url = self.policy().avatar_url(email.as_str());
        let needs_verification = self.config().signup.email_verification_required;

        let disable_new_users = self.config().signup.disable_new_users;
        if needs_verification || disable_new_users {
            // A disabled user is sent nothing, so it gets no ticket either.
            let ticket = (needs_verification && !disable_new_users)
                .then(|| tickets::issue(TicketKind::VerifyEmail));
            let new_user = NewUser {
                id: None,
                email: Some(email.as_str()),
                password_hash: Some(&password_hash),
                display_name: &options.display_name,
                avatar_url: &avatar_url,
                locale: &options.locale,
                default_role: &options.default_role,
                roles: &options.allowed_roles,
                metadata: &options.metadata,
                disabled: disable_new_users,
                is_anonymous: false,
                email_verified: false,
                ticket: ticket
                    .as_ref()
                    .map(|t| (t.stored.as_str(), TicketKind::VerifyEmail.ttl_secs())),
            };
            // Committed only once the verification email is accepted: a failed send
            // leaves no user that could never verify its address.
            let mut mail = self.mail_connection().await?;
            let client = &mut mail.client;
            let tx = client.transaction().await?;
            users::insert(&tx, &new_user).await?;
            if disable_new_users {
                tx.commit().await?;
                return Err(ErrorCode::DisabledUser.into());
            }
            if let Some(ticket) = ticket {
                self.send_ticket_email(TicketEmail {
                    template: TemplateName::EmailVerify,
                    kind: TicketKind::VerifyEmail,
                    to: email.as_str(),
                    locale: &options.locale,
                    display_name: &options.display_name,
                    email: email.as_str(),
                    new_email: "",
                    ticket: &ticket.value,
                    redirect_to: &options.redirect_to,
                })
                .await?;
            }
            tx.commit().await?;
            return Ok(None);
        }

        let refresh = RefreshToken::generate();
        let new_user = NewUser {
            id: None,
            email: Some(email.as_str()),
            password_hash: Some(&password_hash),
            display_name: &options.display_name,
            avatar_url: &avatar_url,
            locale: &options.locale,
            default_role: &options.default_role,
            roles: &options.allowed_roles,
            metadata: &options.metadata,
            disabled: false,
            is_anonymous: false,
            email_verified: false,
            ticket: None,
        };
        let db = self.db.get().await?;
        let (user_id, token_id, created_at) = users::insert_with_refresh_token(
            &db,
            &new_user,
            &refresh.hash(),
            self.config().jwt.refresh_token_expires_in,
        )
        .await?;
        let user = new_user.inserted_row(user_id, created_at);
        let session = self
            .session_for(&user, options.allowed_roles, refresh, token_id, false)
            .await?;
        Ok(Some(session))
    }

    /// `POST /signin/anonymous`.
    pub async fn signin_anonymous(&self, input: AnonymousSignIn) -> Result<Session, ApiError> {
        if self.config().signup.disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        if !self.config().signup.enable_anonymous_users {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let locale = self
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
            self.config().jwt.refresh_token_expires_in,
        )
        .await?;
        let user = new_user.inserted_row(user_id, created_at);
        self.session_for(&user, roles, refresh, token_id, false)
            .await
    }

    /// `GET /user`.
    pub async fn current_user(&self, user_id: uuid::Uuid) -> Result<UserView, ApiError> {
        let db = self.db.get().await?;
        let (user, roles) = users::find_by_id_with_roles(&db, user_id)
            .await?
            .ok_or(ErrorCode::InvalidEmailPassword)?;
        self.check(&user, Default::default())?;
        Ok(UserView::new(&user, roles))
    }

    pub fn check(
        &self,
        user: &users::UserRow,
        tolerate: crate::service::user_check::Tolerate,
    ) -> Result<(), ErrorCode> {
        crate::service::user_check::check_user(
            user,
            &self.policy(),
            self.config().signup.email_verification_required,
            tolerate,
        )
    }
}
