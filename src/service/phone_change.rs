//! Phone-number change (Nhost Auth 0.52): `POST /user/phone-number/change` sends a code
//! to the new number and stages it; `POST /user/phone-number/change/verify` moves the
//! user to it for the right code. Part of passwordless SMS (same switch, provider,
//! code lifetime and wrong-guess limit).

use crate::db::otp_attempts;
use crate::db::phone_change::{self, Confirmed};
use crate::db::users::UserRow;
use crate::domain::{OneTimeCode, PhoneNumber};
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::sms::{CODE_TTL_SECS, INVALID_OTP, MAX_FAILURES, SmsSignIn, TOO_MANY_ATTEMPTS};
use crate::service::user_check::Tolerate;
use crate::tokens::VerifiedToken;

/// Email rules only for users with an email (upstream's "email optional" user check);
/// anonymous users deanonymise instead.
fn tolerate_for(email: Option<&str>) -> Tolerate {
    Tolerate {
        unverified: email.is_none(),
        anonymous: false,
    }
}

impl SmsSignIn {
    /// `POST /user/phone-number/change`: `new_phone = None` is a number no SMS can reach
    /// (400 `cannot-send-sms`). 409 `email-already-in-use` (0.52: `user-already-exists`)
    /// when another user owns the number; a number merely staged elsewhere does not
    /// block. The code is stored before it is sent and void if the send fails.
    pub async fn change_phone_request(
        &self,
        token: &VerifiedToken,
        new_phone: Option<PhoneNumber>,
    ) -> Result<(), ApiError> {
        let sms = self.sms_sender()?;
        let user = self.change_user(token).await?;
        let phone = new_phone.ok_or(ErrorCode::CannotSendSms)?;
        let db = self.db.get().await?;
        if phone_change::owned_by_other(&db, &phone.lookup_forms(), user.id).await? {
            return Err(ErrorCode::EmailAlreadyInUse.into());
        }
        let code = (!sms.checks_codes()).then(crate::service::sms::new_code);
        phone_change::stage(
            &db,
            self.phone_stage,
            self.otp_counter,
            user.id,
            phone.e164(),
            code.as_deref(),
            CODE_TTL_SECS,
        )
        .await?;
        drop(db);
        if let Err(e) = self
            .deliver_code(&sms, &phone, &user.locale, code.as_deref())
            .await
        {
            if let Some(code) = &code {
                let db = self.db.get().await?;
                crate::db::sms::void_code(&db, user.id, code).await?;
            }
            return Err(e);
        }
        audit::event("phone-number-change", Outcome::Success)
            .user(user.id)
            .reason("requested")
            .record();
        Ok(())
    }

    /// `POST /user/phone-number/change/verify`: the staged number becomes the user's
    /// (verified) for the right code. Wrong, expired or used codes and numbers other than
    /// the staged one: 400 `invalid-request` under v0.42, `invalid-otp` under 0.52; the
    /// fifth wrong guess burns the code (0.52: `otp-too-many-attempts`). A number another
    /// user took meanwhile: 409 `email-already-in-use` (0.52: `user-already-exists`).
    pub async fn change_phone_verify(
        &self,
        token: &VerifiedToken,
        new_phone: Option<PhoneNumber>,
        code: &OneTimeCode,
    ) -> Result<(), ApiError> {
        let sms = self.sms_sender()?;
        let user = self.change_user(token).await?;
        let db = self.db.get().await?;
        let Some(phone) = new_phone else {
            return Err(self.wrong_change_guess(&db, user.id).await?);
        };
        let code = code.expose();
        let checked_here = if sms.checks_codes() {
            let staged = phone_change::staged(&db, self.phone_stage, user.id).await?;
            if staged.as_deref() != Some(phone.e164()) {
                return Err(self.wrong_change_guess(&db, user.id).await?);
            }
            drop(db);
            let approved = sms
                .check_code(phone.e164(), code)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, provider = sms.name(), "SMS code check failed");
                    false
                });
            if !approved {
                let db = self.db.get().await?;
                return Err(self.wrong_change_guess(&db, user.id).await?);
            }
            None
        } else {
            drop(db);
            Some(code)
        };
        let mut db = self.db.get().await?;
        if phone_change::owned_by_other(&db, &phone.lookup_forms(), user.id).await? {
            audit::event("phone-number-change", Outcome::Failure)
                .user(user.id)
                .reason("user-already-exists")
                .record();
            return Err(ErrorCode::EmailAlreadyInUse.into());
        }
        // Two statements, one transaction: a placeholder's unique number must be gone
        // before the update takes it.
        let tx = db.transaction().await?;
        phone_change::release_placeholders(
            &tx,
            self.phone_stage,
            self.otp_counter,
            user.id,
            phone.e164(),
            checked_here,
            MAX_FAILURES,
        )
        .await?;
        let confirmed = phone_change::confirm(
            &tx,
            self.phone_stage,
            self.otp_counter,
            user.id,
            phone.e164(),
            checked_here,
            MAX_FAILURES,
        )
        .await?;
        tx.commit().await?;
        match confirmed {
            Confirmed::Changed => {
                audit::event("phone-number-change", Outcome::Success)
                    .user(user.id)
                    .reason("confirmed")
                    .record();
                Ok(())
            }
            Confirmed::Taken => {
                audit::event("phone-number-change", Outcome::Failure)
                    .user(user.id)
                    .reason("user-already-exists")
                    .record();
                Err(ErrorCode::EmailAlreadyInUse.into())
            }
            Confirmed::NoMatch => Err(self.wrong_change_guess(&db, user.id).await?),
        }
    }

    /// The token's user, checked as upstream's email-optional check does: the email
    /// rules apply only to a user with an email. Anonymous users deanonymise instead
    /// (403 `forbidden-anonymous`).
    async fn change_user(&self, token: &VerifiedToken) -> Result<UserRow, ApiError> {
        let id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
        let user = self.accounts.checked_user(id, tolerate_for(None)).await?;
        if user.email.is_some() {
            self.accounts
                .checked_user(id, tolerate_for(user.email.as_deref()))
                .await?;
        }
        if user.is_anonymous {
            return Err(ErrorCode::ForbiddenAnonymous.into());
        }
        Ok(user)
    }

    /// Counts a wrong guess against the user's phone-change code: the answer for it.
    async fn wrong_change_guess(
        &self,
        db: &impl crate::db::Db,
        user_id: uuid::Uuid,
    ) -> Result<ApiError, ApiError> {
        let attempts = otp_attempts::record_wrong_guess(
            db,
            self.otp_counter,
            user_id,
            phone_change::METHOD,
            MAX_FAILURES,
        )
        .await?;
        Ok(match attempts {
            Some(n) if n >= MAX_FAILURES => TOO_MANY_ATTEMPTS,
            _ => INVALID_OTP,
        })
    }
}
