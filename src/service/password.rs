//! Password reset (`POST /user/password/reset`) and change (`POST /user/password`).

use crate::adapters::email::TemplateName;
use crate::db::{email_flows, users};
use crate::domain::options::RedirectOptionsInput;
use crate::domain::{CodeChallenge, Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::accounts::Elevation;
use crate::service::audit::{self, Outcome};
use crate::service::email::LinkTarget;
use crate::service::lockout::Lockout;
use crate::service::tickets::{Ticket, TicketKind};
use crate::service::user_check::Tolerate;
use crate::tokens::VerifiedToken;

/// Password reset and change.
#[derive(Clone)]
pub struct PasswordChange {
    pub(crate) db: crate::db::DbPool,
    pub(crate) passwords: std::sync::Arc<crate::tokens::password_hash::PasswordHasher>,
    pub(crate) password_rules: crate::service::password_check::NewPasswordRules,
    pub(crate) mail: crate::service::email::Mail,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) settings: crate::settings::SettingsHandle,
    /// Whether OAuth2 refresh tokens exist to revoke (level 20 and above).
    pub(crate) schema: crate::db::schema_level::SchemaLevel,
    pub(crate) lockout: Lockout,
}

impl PasswordChange {
    /// "Your password was changed", in the background, when switched on.
    fn notify_password_changed(&self, user: &crate::db::users::UserRow) {
        use crate::service::email::{Notice, NoticeEmail};
        let Some(email) = user.email.clone().filter(|e| !e.is_empty()) else {
            return;
        };
        if !self.mail.notice_enabled(Notice::PasswordChanged) {
            return;
        }
        self.mail.send_notice(
            Notice::PasswordChanged,
            NoticeEmail {
                to: email.clone(),
                locale: user.locale.clone(),
                display_name: user.display_name.clone(),
                email,
                ..Default::default()
            },
            std::future::ready(true),
        );
    }

    /// `POST /user/password/reset`: emails a `passwordReset` link (one hour). Whether the
    /// address belongs to a usable account is never revealed: unknown, blocked, disabled
    /// or unverified accounts get the same `"OK"`, and nothing is sent.
    pub async fn request_password_reset(
        &self,
        email: Email,
        options: Option<RedirectOptionsInput>,
        code_challenge: Option<CodeChallenge>,
    ) -> Result<(), ApiError> {
        let redirect_to = self
            .settings
            .policy()
            .resolve_redirect_options(options.as_ref())?;
        if self.settings.policy().check_email(email.as_str()).is_err() {
            return Ok(());
        }
        let mut mail = self.mail.connection().await?;
        let client = &mut mail.client;
        let Some(user) = users::find_by_email(&*client, &email).await? else {
            return Ok(());
        };
        if self.accounts.check(&user, Tolerate::default()).is_err() {
            return Ok(());
        }
        let to = user
            .email
            .clone()
            .unwrap_or_else(|| email.as_str().to_owned());
        self.mail
            .new_ticket(
                client,
                &user,
                &to,
                TicketKind::PasswordReset,
                TemplateName::PasswordReset,
                LinkTarget {
                    redirect_to: &redirect_to,
                    code_challenge: code_challenge.as_ref(),
                },
            )
            .await?;
        Ok(())
    }

    /// `POST /user/password`. With an access token that satisfies the elevated-claim
    /// policy, the token's user changes their password. Otherwise (no token, an invalid
    /// one, or one lacking elevation, as upstream) a `passwordReset:` ticket is needed.
    ///
    /// The new password is checked before the ticket is touched, and the ticket is
    /// consumed in the same transaction as the change, so a refused password or an
    /// account that fails the user check leaves the ticket usable (upstream burns it).
    ///
    /// Either way the user's sessions end with the change, as in Nhost Auth 0.50.1: every
    /// regular refresh token (and OAuth2 refresh token) is deleted; PATs are kept.
    pub async fn change_password(
        &self,
        token: Option<VerifiedToken>,
        new_password: Password,
        ticket: Option<Ticket>,
    ) -> Result<(), ApiError> {
        let authenticated = match token {
            Some(t)
                if self
                    .accounts
                    .satisfies_elevation(&t, Elevation::Policy)
                    .await? =>
            {
                Some(t)
            }
            _ => None,
        };
        if let Some(token) = authenticated {
            let user = self
                .accounts
                .user_from_token(&token, Tolerate::default())
                .await?;
            self.password_rules.check(&new_password).await?;
            let hash = self.passwords.hash(new_password.expose()).await?;
            let db = self.db.get().await?;
            email_flows::change_password_revoking_sessions(
                &db,
                user.id,
                &hash,
                self.schema.has_oauth2_tables(),
            )
            .await?;
            drop(db);
            audit::event("password-change", Outcome::Success)
                .user(user.id)
                .record();
            self.notify_password_changed(&user);
            self.lockout.clear(user.id, "password-change").await;
            return Ok(());
        }

        let ticket = ticket.ok_or(ErrorCode::InvalidRequest)?;
        if ticket.kind() != Some(TicketKind::PasswordReset) {
            return Err(ErrorCode::InvalidTicket.into());
        }
        self.password_rules.check(&new_password).await?;
        let forms = ticket.lookup_forms();
        let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        let user = users::consume_ticket(&tx, &forms)
            .await?
            .ok_or(ErrorCode::InvalidTicket)?;
        self.accounts.check(&user, Tolerate::default())?;
        // Hashed only once the ticket is known good: bogus tickets cost no bcrypt time.
        let hash = self.passwords.hash(new_password.expose()).await?;
        email_flows::change_password_revoking_sessions(
            &tx,
            user.id,
            &hash,
            self.schema.has_oauth2_tables(),
        )
        .await?;
        tx.commit().await?;
        drop(client);
        audit::event("password-reset", Outcome::Success)
            .user(user.id)
            .record();
        self.notify_password_changed(&user);
        self.lockout.clear(user.id, "password-reset").await;
        Ok(())
    }
}
