//! Email + password sign-up.

use crate::adapters::email::TemplateName;
use crate::db::users::{self, NewUser};
use crate::domain::options::SignUpOptionsInput;
use crate::domain::{Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::email::TicketEmail;
use crate::service::session::Session;
use crate::service::tickets::{self, TicketKind};
use crate::tokens::refresh::RefreshToken;

/// Email + password sign-up (`POST /signup/email-password`).
#[derive(Clone)]
pub struct SignUp {
    pub(crate) db: crate::db::DbPool,
    pub(crate) passwords: std::sync::Arc<crate::tokens::password_hash::PasswordHasher>,
    pub(crate) password_rules: crate::service::password_check::NewPasswordRules,
    pub(crate) mail: crate::service::email::Mail,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) settings: crate::settings::SettingsHandle,
}

impl SignUp {
    /// `POST /signup/email-password`: a session, or `None` when the user must first
    /// verify the address (a verification email is sent).
    pub async fn signup_email_password(
        &self,
        email: Email,
        password: Password,
        options: Option<SignUpOptionsInput>,
    ) -> Result<Option<Session>, ApiError> {
        if self.settings.config().disable_signup {
            return Err(ErrorCode::SignupDisabled.into());
        }
        self.settings.policy().check_email(email.as_str())?;
        self.password_rules.check(&password).await?;
        let options = self
            .settings
            .policy()
            .resolve_signup_options(options, email.as_str())?;
        let password_hash = self.passwords.hash(password.expose()).await?;
        let avatar_url = self.settings.policy().avatar_url(email.as_str());
        let needs_verification = self.settings.config().email_verification_required;

        let disable_new_users = self.settings.config().disable_new_users;
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
            let mut mail = self.mail.connection().await?;
            let client = &mut mail.client;
            let tx = client.transaction().await?;
            users::insert(&tx, &new_user).await?;
            if disable_new_users {
                tx.commit().await?;
                return Err(ErrorCode::DisabledUser.into());
            }
            if let Some(ticket) = ticket {
                self.mail
                    .send_ticket(TicketEmail {
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
            self.settings.config().refresh_token_expires_in,
        )
        .await?;
        let user = new_user.inserted_row(user_id, created_at);
        let session = self
            .sessions
            .session_for(&user, options.allowed_roles, refresh, token_id, false)
            .await?;
        Ok(Some(session))
    }
}
