//! Signing in existing users with a password.

use serde::Serialize;

use crate::db::users;
use crate::domain::{Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::session::Session;
use crate::service::tickets::{self, TicketKind};
use crate::tokens::secret::Redacted;

/// `{"ticket": "mfaTotp:…"}`: the second factor is still to be given.
#[derive(Debug, Serialize)]
pub struct MfaChallenge {
    pub ticket: Redacted,
}

/// The outcome of a password sign-in.
pub enum PasswordSignIn {
    Session(Box<Session>),
    Mfa(MfaChallenge),
}

/// Password sign-in (`POST /signin/email-password`).
#[derive(Clone)]
pub struct EmailPasswordSignIn {
    pub(crate) db: crate::db::DbPool,
    pub(crate) passwords: std::sync::Arc<crate::tokens::password_hash::PasswordHasher>,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
}

impl EmailPasswordSignIn {
    /// `POST /signin/email-password`.
    ///
    /// Unlike upstream, the password is checked before the account status, so a
    /// disabled or unverified account is only revealed to someone who knows its password.
    pub async fn signin_email_password(
        &self,
        email: Email,
        password: Password,
    ) -> Result<PasswordSignIn, ApiError> {
        let db = self.db.get().await?;
        let user = users::find_by_email(&db, &email).await?;
        drop(db);
        let matched = self
            .passwords
            .verify(
                password.expose(),
                user.as_ref().and_then(|u| u.password_hash.as_deref()),
            )
            .await?;
        let user = match user {
            Some(u) if matched => u,
            _ => return Err(ErrorCode::InvalidEmailPassword.into()),
        };
        self.accounts.check(&user, Default::default())?;

        if user.active_mfa_type.as_deref() == Some("totp") {
            let ticket = tickets::issue(TicketKind::MfaTotp);
            let db = self.db.get().await?;
            users::set_ticket(&db, user.id, &ticket.stored, TicketKind::MfaTotp.ttl_secs()).await?;
            return Ok(PasswordSignIn::Mfa(MfaChallenge {
                ticket: Redacted::new(ticket.value),
            }));
        }
        Ok(PasswordSignIn::Session(Box::new(
            self.sessions.new_session(&user).await?,
        )))
    }
}
