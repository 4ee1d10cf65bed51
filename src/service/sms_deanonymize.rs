//! SMS deanonymisation (Nhost Auth 0.52): `POST /user/deanonymize/sms` texts a code to
//! the number an anonymous user gives and stages it with the sign-up options; the
//! ordinary `POST /signin/passwordless/sms/otp` completes it (see
//! [`SmsSignIn::signin_sms_verify`]).

use serde_json::json;

use crate::db::phone_change;
use crate::db::sms_deanonymize;
use crate::domain::PhoneNumber;
use crate::domain::options::SignUpOptionsInput;
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::sms::{CODE_TTL_SECS, SmsSignIn};
use crate::tokens::VerifiedToken;

impl SmsSignIn {
    /// `POST /user/deanonymize/sms`: 400 `user-not-anonymous` for a regular user (by the
    /// token, and by the database: a still-valid anonymous token of a user already
    /// deanonymised is refused too), sign-up options as for a sign-up, 409
    /// `email-already-in-use` (0.52: `user-already-exists`) when another user owns the
    /// number, 400 `cannot-send-sms` for a number no SMS reaches or a failed send (the
    /// code is then void). The user stays anonymous until the code is entered.
    pub async fn deanonymize_sms_request(
        &self,
        token: &VerifiedToken,
        phone: Option<PhoneNumber>,
        options: Option<SignUpOptionsInput>,
    ) -> Result<(), ApiError> {
        let sms = self.sms_sender()?;
        if !token.is_anonymous() {
            return Err(ErrorCode::UserNotAnonymous.into());
        }
        let user_id = token
            .user_id()
            .or_else(|| token.subject_id())
            .ok_or(ErrorCode::InvalidRequest)?;
        let default_name = phone.as_ref().map_or("", PhoneNumber::e164);
        let options = self
            .settings
            .policy()
            .resolve_signup_options(options, default_name)?;
        let phone = phone.ok_or(ErrorCode::CannotSendSms)?;
        let db = self.db.get().await?;
        self.sweep_expired_staging(&db).await;
        if phone_change::owned_by_other(&db, &phone.lookup_forms(), user_id).await? {
            return Err(ErrorCode::EmailAlreadyInUse.into());
        }
        let staged = json!({
            "roles": options.allowed_roles,
            "default_role": options.default_role,
            "display_name": options.display_name,
            "locale": options.locale,
            "metadata": options.metadata,
        });
        let code = (!sms.checks_codes()).then(crate::service::sms::new_code);
        let anonymous = sms_deanonymize::stage(
            &db,
            self.sms_layout,
            user_id,
            phone.e164(),
            &staged,
            code.as_deref(),
            CODE_TTL_SECS,
        )
        .await?;
        if !anonymous {
            return Err(ErrorCode::UserNotAnonymous.into());
        }
        drop(db);
        if let Err(e) = self
            .deliver_code(&sms, &phone, &options.locale, code.as_deref())
            .await
        {
            if let Some(code) = &code {
                let db = self.db.get().await?;
                crate::db::sms::void_code(&db, user_id, code).await?;
            }
            return Err(e);
        }
        audit::event("deanonymize", Outcome::Success)
            .user(user_id)
            .reason("sms-requested")
            .record();
        Ok(())
    }
}
