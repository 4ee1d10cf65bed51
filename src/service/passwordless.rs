//! Signing in by email without a password: magic links (`POST /signin/passwordless/email`)
//! and one-time codes (`POST /signin/otp/email` + `/verify`). Both create the user when
//! the address is unknown and sign-up is allowed (unless `AUTH_DISABLE_AUTO_SIGNUP`).
//! Their sign-up twins (`POST /signup/passwordless/email`, `/signup/otp/email`) only
//! create users: for a known address they answer the same `"OK"` and send nothing.
//!
//! The database writes of a request run in one transaction that is committed only once
//! the email has been accepted, so a failed send leaves neither a new user without a way
//! in nor a pending ticket or code nobody received.

use deadpool_postgres::Transaction;
use rand::Rng;
use uuid::Uuid;

use crate::adapters::email::TemplateName;
use crate::db::email_otp::Attempt;
use crate::db::users::UserRow;
use crate::db::{email_otp, users};
use crate::domain::OneTimeCode;
use crate::domain::options::SignUpOptionsInput;
use crate::domain::{CodeChallenge, Email, SignUpOptions};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::email::{OtpEmail, TicketEmail};
use crate::service::registration::{Created, Origin, PasswordlessAccount, Registration};
use crate::service::session::Session;
use crate::service::tickets::{self, Ticket, TicketKind};
use crate::service::user_check::Tolerate;

/// Lifetime of an emailed one-time code (upstream: one hour).
pub const OTP_TTL_SECS: i64 = 3600;
/// Wrong guesses allowed per code; the next attempt finds no code.
pub const OTP_MAX_ATTEMPTS: i32 = 5;

/// A wrong, expired or used email code (v0.42: `invalid-ticket`).
const INVALID_OTP: ApiError = ApiError::Changed {
    v0_42: ErrorCode::InvalidTicket,
    v0_52: ErrorCode::InvalidOtp,
};
/// A code burned by wrong guesses (v0.42: `invalid-ticket`).
const TOO_MANY_ATTEMPTS: ApiError = ApiError::Changed {
    v0_42: ErrorCode::InvalidTicket,
    v0_52: ErrorCode::OtpTooManyAttempts,
};
const OTP_DIGITS: usize = 6;

/// Who receives the email, once found or created (inside the open transaction).
struct Recipient {
    user_id: Uuid,
    locale: String,
    display_name: String,
}

/// The outcome of looking the address up.
enum Lookup {
    Ready(Recipient),
    /// A new user was inserted disabled (`AUTH_DISABLE_NEW_USERS`): keep it, send nothing.
    CreatedDisabled,
    /// Nothing to do, answered as a success: a known address on a sign-up route, or an
    /// unknown one on a sign-in route that may not create users.
    Nothing,
}

/// A random six-digit code, zero-padded, from the operating system's generator.
fn generate_code() -> String {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

fn looks_like_code(s: &str) -> bool {
    s.len() == OTP_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

/// Passwordless email sign-in: magic links and one-time codes.
#[derive(Clone)]
pub struct EmailSignIn {
    pub(crate) db: crate::db::DbPool,
    pub(crate) passwords: std::sync::Arc<crate::tokens::password_hash::PasswordHasher>,
    pub(crate) mail: crate::service::email::Mail,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) registration: Registration,
    pub(crate) settings: crate::settings::SettingsHandle,
    pub(crate) lockout: crate::service::lockout::Lockout,
}

impl EmailSignIn {
    /// `POST /signin/passwordless/email`: emails a magic link (a `passwordlessEmail`
    /// ticket valid one hour).
    pub async fn signin_passwordless_email(
        &self,
        email: Email,
        options: Option<SignUpOptionsInput>,
        code_challenge: Option<CodeChallenge>,
        origin: Origin,
    ) -> Result<(), ApiError> {
        if !self
            .settings
            .config()
            .passwordless
            .email_passwordless_enabled
        {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let options = self.email_signin_options(&email, options)?;
        let ticket = tickets::issue(TicketKind::PasswordlessEmail);
        let mut mail = self.mail.connection().await?;
        let client = &mut mail.client;
        let tx = client.transaction().await?;
        let recipient = match self
            .find_or_create_for_email(&tx, &email, &options, origin)
            .await?
        {
            Lookup::Ready(r) => r,
            Lookup::CreatedDisabled => {
                tx.commit().await?;
                return Err(ErrorCode::DisabledUser.into());
            }
            Lookup::Nothing => return Ok(()),
        };
        let kind = TicketKind::PasswordlessEmail;
        users::set_ticket(&tx, recipient.user_id, &ticket.stored, kind.ttl_secs()).await?;
        self.mail
            .send_ticket(TicketEmail {
                template: TemplateName::SigninPasswordless,
                kind,
                to: email.as_str(),
                locale: &recipient.locale,
                display_name: &recipient.display_name,
                email: email.as_str(),
                new_email: "",
                ticket: &ticket.value,
                redirect_to: &options.redirect_to,
                code_challenge: code_challenge.as_ref(),
            })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether magic links are on (`AUTH_EMAIL_PASSWORDLESS_ENABLED`).
    pub fn magic_links_enabled(&self) -> bool {
        self.settings
            .config()
            .passwordless
            .email_passwordless_enabled
    }

    /// The OAuth2 provider's built-in page: emails an existing user a magic link (a
    /// `passwordlessEmail` ticket) that `link` builds from the ticket. Sign-in only: an
    /// unknown address, or an account that cannot sign in, gets no email and the same
    /// answer.
    pub async fn send_page_link(
        &self,
        email: &Email,
        link: impl FnOnce(&str) -> String,
    ) -> Result<(), ApiError> {
        if !self.magic_links_enabled() {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let db = self.db.get().await?;
        let Some(user) = users::find_by_email(&db, email).await? else {
            return Ok(());
        };
        let tolerate = Tolerate {
            unverified: true,
            anonymous: false,
        };
        if self.accounts.check(&user, tolerate).is_err() {
            return Ok(());
        }
        let kind = TicketKind::PasswordlessEmail;
        let ticket = tickets::issue(kind);
        users::set_ticket(&db, user.id, &ticket.stored, kind.ttl_secs()).await?;
        drop(db);
        let link = link(&ticket.value);
        self.mail
            .send_link(
                TicketEmail {
                    template: TemplateName::SigninPasswordless,
                    kind,
                    to: email.as_str(),
                    locale: &user.locale,
                    display_name: &user.display_name,
                    email: email.as_str(),
                    new_email: "",
                    ticket: &ticket.value,
                    redirect_to: "",
                    code_challenge: None,
                },
                link,
            )
            .await
    }

    /// The built-in page's magic link followed: the ticket's user, whose email is now
    /// verified (as `/verify` does for a magic link).
    pub async fn check_page_link(&self, ticket: &Ticket) -> Result<UserRow, ApiError> {
        if !self.magic_links_enabled() {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        if ticket.kind() != Some(TicketKind::PasswordlessEmail) {
            return Err(ErrorCode::InvalidTicket.into());
        }
        let forms = ticket.lookup_forms();
        let forms: Vec<&str> = forms.iter().map(String::as_str).collect();
        let db = self.db.get().await?;
        let user = users::consume_ticket(&db, &forms)
            .await?
            .ok_or(ErrorCode::InvalidTicket)?;
        self.accounts.check(
            &user,
            Tolerate {
                unverified: true,
                anonymous: false,
            },
        )?;
        users::mark_email_verified(&db, user.id).await?;
        Ok(user)
    }

    /// `POST /signin/otp/email`: emails a six-digit code valid one hour. The code is kept
    /// as a bcrypt hash bound to the user, replacing any code sent before.
    pub async fn signin_otp_email(
        &self,
        email: Email,
        options: Option<SignUpOptionsInput>,
        origin: Origin,
    ) -> Result<(), ApiError> {
        if !self.settings.config().passwordless.otp_email_enabled {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        let options = self.email_signin_options(&email, options)?;
        let code = generate_code();
        let code_hash = self.passwords.hash(&code).await?;
        let mut mail = self.mail.connection().await?;
        let client = &mut mail.client;
        let tx = client.transaction().await?;
        let recipient = match self
            .find_or_create_for_email(&tx, &email, &options, origin)
            .await?
        {
            Lookup::Ready(r) => r,
            Lookup::CreatedDisabled => {
                tx.commit().await?;
                return Err(ErrorCode::DisabledUser.into());
            }
            Lookup::Nothing => return Ok(()),
        };
        email_otp::replace(&tx, recipient.user_id, &code_hash, OTP_TTL_SECS).await?;
        self.mail
            .send_otp(OtpEmail {
                to: email.as_str(),
                locale: &recipient.locale,
                display_name: &recipient.display_name,
                code: &code,
                redirect_to: &options.redirect_to,
            })
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /signin/otp/email/verify`: the code must be the live code sent to this very
    /// address; it works once, and the fifth wrong guess burns it. Every failure is
    /// `invalid-ticket` under v0.42 (as upstream); 0.52 answers `invalid-otp`, and
    /// `otp-too-many-attempts` for a burned code.
    pub async fn signin_otp_email_verify(
        &self,
        email: Email,
        otp: &OneTimeCode,
    ) -> Result<Session, ApiError> {
        let otp = otp.expose();
        if !looks_like_code(otp) {
            return Err(INVALID_OTP);
        }
        let client = self.db.get().await?;
        let user = users::find_by_email(&client, &email).await?;
        let user_id = user.as_ref().map(|u| u.id);
        let attempt = match &user {
            Some(u) => email_otp::take_attempt(&client, u.id, OTP_MAX_ATTEMPTS).await?,
            None => Attempt::NoCode,
        };
        // No connection is held while bcrypt runs: a burst of guesses must not drain
        // the pool.
        drop(client);
        let (hash, attempts) = match &attempt {
            Attempt::Check {
                code_hash,
                attempts,
            } => (Some(code_hash.as_str()), *attempts),
            Attempt::Burned | Attempt::NoCode => (None, 0),
        };
        // Without a live code, still spend one bcrypt check: the answer takes as long
        // whether or not the address has a pending code.
        let matched = self.passwords.verify(otp, hash).await?;
        // The nil id for an unknown address: the same round trip, so the same timing.
        let standing = self
            .lockout
            .check(user_id.unwrap_or_else(Uuid::nil))
            .await?;
        if let Some(u) = user.as_ref().filter(|_| standing.locked) {
            return Err(self.lockout.refusal(u.id, INVALID_OTP));
        }
        let (Some(mut user), Some(code_hash), true) = (user, hash, matched) else {
            if let Some(id) = user_id {
                audit::event("signin", Outcome::Failure)
                    .user(id)
                    .reason("invalid-otp")
                    .record();
                self.lockout.failed(id).await;
            }
            // The guess that used up the attempts burned the code.
            let burned = attempt == Attempt::Burned || attempts >= OTP_MAX_ATTEMPTS;
            return Err(if burned {
                TOO_MANY_ATTEMPTS
            } else {
                INVALID_OTP
            });
        };
        self.lockout.succeeded(user.id, standing).await;
        let code_hash = code_hash.to_owned();
        let mut client = self.db.get().await?;
        let tx = client.transaction().await?;
        if !email_otp::consume(&tx, user.id, &code_hash).await? {
            return Err(INVALID_OTP);
        }
        // The code reached this mailbox: the address is verified.
        users::mark_email_verified(&tx, user.id).await?;
        tx.commit().await?;
        drop(client);
        user.email_verified = true;
        self.accounts.check(&user, Tolerate::default())?;
        self.sessions.new_session(&user).await
    }

    /// Upstream's `signinEmailValidateRequest`: email lists, then sign-up options (checked
    /// for existing users too; only `redirectTo` matters to them).
    fn email_signin_options(
        &self,
        email: &Email,
        options: Option<SignUpOptionsInput>,
    ) -> Result<SignUpOptions, ErrorCode> {
        let policy = self.settings.policy();
        policy.check_email(email.as_str())?;
        policy.resolve_signup_options(options, email.as_str())
    }

    /// The user with this email (an unverified one is fine: the email verifies it), or
    /// a new user without password when sign-up is allowed.
    async fn find_or_create_for_email(
        &self,
        tx: &Transaction<'_>,
        email: &Email,
        options: &SignUpOptions,
        origin: Origin,
    ) -> Result<Lookup, ApiError> {
        if let Some(user) = users::find_by_email(tx, email).await? {
            if origin == Origin::SignUp {
                return Ok(Lookup::Nothing);
            }
            self.accounts.check(
                &user,
                Tolerate {
                    unverified: true,
                    anonymous: false,
                },
            )?;
            return Ok(Lookup::Ready(Recipient {
                user_id: user.id,
                locale: user.locale,
                display_name: user.display_name,
            }));
        }
        let Some(plan) = self.registration.plan_passwordless(origin)? else {
            return Ok(Lookup::Nothing);
        };
        let avatar_url = self.settings.policy().avatar_url(email.as_str());
        let created = self
            .registration
            .create_passwordless(
                tx,
                PasswordlessAccount {
                    email: Some(email),
                    phone_number: None,
                    phone_staged: None,
                    sms_code: None,
                    options,
                    avatar_url: &avatar_url,
                },
                plan,
            )
            .await?;
        match created {
            Created::Ready { user_id } => Ok(Lookup::Ready(Recipient {
                user_id,
                locale: options.locale.clone(),
                display_name: options.display_name.clone(),
            })),
            Created::Disabled => Ok(Lookup::CreatedDisabled),
            Created::PhoneNumberTaken => Err(ApiError::internal(
                "an email sign-up met a phone number conflict",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_zero_padded_digits() {
        for _ in 0..200 {
            let c = generate_code();
            assert!(looks_like_code(&c), "{c}");
        }
        assert!(looks_like_code("000123"));
        for bad in [
            "12345",
            "1234567",
            "12a456",
            "",
            "verifyEmail:1",
            "１２３４５６",
        ] {
            assert!(!looks_like_code(bad), "{bad}");
        }
    }
}
