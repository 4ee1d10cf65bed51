//! Signing in existing users with a password.

use serde::Serialize;

use crate::db::users;
use crate::domain::{Email, Password};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::lockout::Lockout;
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

/// A checked email and password: the user, or the second factor still to give.
pub enum PasswordCheck {
    User(Box<crate::db::users::UserRow>),
    Mfa(MfaChallenge),
}

/// Password sign-in (`POST /signin/email-password`).
#[derive(Clone)]
pub struct EmailPasswordSignIn {
    pub(crate) db: crate::db::DbPool,
    pub(crate) passwords: std::sync::Arc<crate::tokens::password_hash::PasswordHasher>,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) lockout: Lockout,
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
        match self.check_email_password(email, password).await? {
            PasswordCheck::User(user) => Ok(PasswordSignIn::Session(Box::new(
                self.sessions.new_session(&user).await?,
            ))),
            PasswordCheck::Mfa(m) => Ok(PasswordSignIn::Mfa(m)),
        }
    }

    /// The checks of a password sign-in (lockout, password, account, second factor)
    /// without the session: the built-in consent page signs in for one request only.
    pub async fn check_email_password(
        &self,
        email: Email,
        password: Password,
    ) -> Result<PasswordCheck, ApiError> {
        let db = self.db.get().await?;
        let user = users::find_by_email(&db, &email).await?;
        drop(db);
        // An unknown address is looked up too (the nil id has no row), so the answer takes
        // as long whether or not the account exists.
        let standing = self
            .lockout
            .check(user.as_ref().map_or(uuid::Uuid::nil(), |u| u.id))
            .await?;
        // Checked during a lock too: the answer takes the same time either way.
        let matched = self
            .passwords
            .verify(
                password.expose(),
                user.as_ref().and_then(|u| u.password_hash.as_deref()),
            )
            .await?;
        let user = match user {
            Some(u) if standing.locked => {
                return Err(self.lockout.refusal(u.id, ErrorCode::InvalidEmailPassword));
            }
            Some(u) if matched => u,
            Some(u) => {
                audit::event("signin", Outcome::Failure)
                    .user(u.id)
                    .reason(ErrorCode::InvalidEmailPassword.as_str())
                    .record();
                self.lockout.failed(u.id).await;
                return Err(ErrorCode::InvalidEmailPassword.into());
            }
            None => {
                audit::event("signin", Outcome::Failure)
                    .reason("unknown-user")
                    .record();
                return Err(ErrorCode::InvalidEmailPassword.into());
            }
        };
        if let Err(code) = self.accounts.check(&user, Default::default()) {
            audit::event("signin", Outcome::Failure)
                .user(user.id)
                .reason(code.as_str())
                .record();
            return Err(code.into());
        }
        // With a second factor the sign-in is not over: the failures are forgotten only
        // once it succeeds, so someone who has the password cannot reset the TOTP count
        // by signing in with it between guesses.
        if user.active_mfa_type.as_deref() == Some("totp") {
            let ticket = tickets::issue(TicketKind::MfaTotp);
            let db = self.db.get().await?;
            users::set_ticket(&db, user.id, &ticket.stored, TicketKind::MfaTotp.ttl_secs()).await?;
            return Ok(PasswordCheck::Mfa(MfaChallenge {
                ticket: Redacted::new(ticket.value),
            }));
        }
        self.lockout.succeeded(user.id, standing).await;
        Ok(PasswordCheck::User(Box::new(user)))
    }
}
