//! Passwordless sign-in with a code sent by SMS (`POST /signin/passwordless/sms` and
//! `/signin/passwordless/sms/otp`).

use rand::Rng;

use crate::adapters::sms::{CodeMessage, Sms};
use crate::db::otp_attempts::{self, OtpCounter};
use crate::db::phone_change::PhoneStage;
use crate::db::sms as sms_db;
use crate::db::sms_deanonymize;
use crate::db::sms_staging;
use crate::db::users::UserRow;
use crate::domain::OneTimeCode;
use crate::domain::PhoneNumber;
use crate::domain::options::SignUpOptionsInput;
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::registration::{Created, Origin, PasswordlessAccount};
use crate::service::session::Session;
use crate::service::user_check::Tolerate;

/// Lifetime of a code we make (upstream: 5 minutes).
pub const CODE_TTL_SECS: i64 = 5 * 60;
/// Wrong codes accepted before the pending code is void.
pub const MAX_FAILURES: i32 = 5;

/// A wrong, expired or used code (v0.42: `invalid-request`).
pub(crate) const INVALID_OTP: ApiError = ApiError::Changed {
    v0_42: ErrorCode::InvalidRequest,
    v0_52: ErrorCode::InvalidOtp,
};
/// A code burned by wrong guesses (v0.42: `invalid-request`).
pub(crate) const TOO_MANY_ATTEMPTS: ApiError = ApiError::Changed {
    v0_42: ErrorCode::InvalidRequest,
    v0_52: ErrorCode::OtpTooManyAttempts,
};

/// Six random digits, zero-padded.
pub(crate) fn new_code() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// Passwordless SMS sign-in.
#[derive(Clone)]
pub struct SmsSignIn {
    pub(crate) db: crate::db::DbPool,
    pub(crate) sms: Option<crate::adapters::sms::Sms>,
    pub(crate) templates: std::sync::Arc<crate::adapters::email::Templates>,
    pub(crate) metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
    pub(crate) registration: crate::service::registration::Registration,
    pub(crate) settings: crate::settings::SettingsHandle,
    /// Where wrong guesses are counted (by the schema level).
    pub(crate) otp_counter: OtpCounter,
    /// Where a phone-number change keeps the number asked for (by the schema level).
    pub(crate) phone_stage: crate::db::phone_change::PhoneStage,
    /// Where an SMS deanonymisation is staged (by the schema level).
    pub(crate) sms_layout: crate::db::sms_deanonymize::Layout,
}

impl SmsSignIn {
    pub(crate) fn sms_sender(&self) -> Result<Sms, ApiError> {
        if !self.settings.config().sms.sms_passwordless_enabled {
            return Err(ErrorCode::DisabledEndpoint.into());
        }
        // Enabled at runtime (/change-env) without provider settings at start-up.
        self.sms
            .clone()
            .ok_or_else(|| ApiError::internal("SMS sign-in is enabled but no provider is set up"))
    }

    /// Sends a code to `to`; a failure is upstream's `cannot-send-sms`.
    pub(crate) async fn deliver_code(
        &self,
        sms: &Sms,
        to: &PhoneNumber,
        locale: &str,
        code: Option<&str>,
    ) -> Result<(), ApiError> {
        let body = match code {
            Some(code) => self
                .templates
                .sms_body(locale, code)
                .map_err(ApiError::internal)?,
            None => String::new(),
        };
        let sent = sms
            .send_code(CodeMessage {
                to: to.e164(),
                body: &body,
                locale,
            })
            .await;
        self.metrics.record_delivery("sms", sent.is_ok());
        sent.map_err(|e| {
            tracing::warn!(error = %e, provider = sms.name(), "SMS not sent");
            ApiError::Code(ErrorCode::CannotSendSms)
        })
    }

    /// `POST /signin/passwordless/sms`: sends a code, creating the user when unknown
    /// (`Origin::SignIn`, unless `AUTH_DISABLE_AUTO_SIGNUP`); `POST /signup/passwordless/sms`
    /// (`Origin::SignUp`): only for an unknown number, a known one gets "OK" and nothing.
    ///
    /// `phone` is `None` when the number cannot receive an SMS: 400 `cannot-send-sms`, what
    /// upstream answered once the provider refused it. Unlike upstream, nothing is sent
    /// when the request is refused anyway (sign-up disabled, new users disabled), and a
    /// code whose SMS failed is void.
    pub async fn signin_sms_request(
        &self,
        phone: Option<PhoneNumber>,
        options: Option<SignUpOptionsInput>,
        origin: Origin,
    ) -> Result<(), ApiError> {
        let sms = self.sms_sender()?;
        let default_name = phone.as_ref().map_or("", PhoneNumber::e164);
        let options = self
            .settings
            .policy()
            .resolve_signup_options(options, default_name)?;
        let phone = phone.ok_or(ErrorCode::CannotSendSms)?;
        let db = self.db.get().await?;
        self.sweep_expired_staging(&db).await;
        let existing = sms_db::find_by_phone(&db, &phone.lookup_forms()).await?;
        drop(db);
        let code = (!sms.checks_codes()).then(new_code);

        // A never-used placeholder holding the number is not an account: the request
        // (whoever sends it) re-stages it, so a squatted number reaches its owner.
        if let Some(user_id) = self
            .restage_placeholder(existing.as_ref(), &phone, &options, code.as_deref(), origin)
            .await?
        {
            return self
                .send_or_void(&sms, user_id, &phone, &options.locale, code.as_deref())
                .await;
        }

        let Some(user) = existing else {
            let Some(plan) = self.registration.plan_passwordless(origin)? else {
                // `AUTH_DISABLE_AUTO_SIGNUP`: answered as if a code had been sent.
                return Ok(());
            };
            // Send first: a failed send leaves no user behind (as upstream).
            if plan.may_contact() {
                self.deliver_code(&sms, &phone, &options.locale, code.as_deref())
                    .await?;
            }
            let avatar_url = self.settings.policy().avatar_url("");
            let db = self.db.get().await?;
            let created = self
                .registration
                .create_passwordless(
                    &db,
                    PasswordlessAccount {
                        email: None,
                        phone_number: Some(&phone),
                        phone_staged: self.stages_sign_ups().then_some(CODE_TTL_SECS),
                        sms_code: code.as_deref().map(|c| (c, CODE_TTL_SECS)),
                        options: &options,
                        avatar_url: &avatar_url,
                    },
                    plan,
                )
                .await?;
            match created {
                Created::Ready { .. } => {}
                Created::Disabled => return Err(ErrorCode::DisabledUser.into()),
                Created::PhoneNumberTaken => {
                    // A concurrent request created this number: make the code sent count.
                    let user = sms_db::find_by_phone(&db, &phone.lookup_forms())
                        .await?
                        .ok_or_else(|| ApiError::internal("phone number taken but not found"))?;
                    sms_db::set_code(
                        &db,
                        self.otp_counter,
                        user.id,
                        code.as_deref(),
                        CODE_TTL_SECS,
                    )
                    .await?;
                }
            }
            return Ok(());
        };

        if origin == Origin::SignUp {
            // `POST /signup/passwordless/sms` for a known number: "OK", nothing sent.
            return Ok(());
        }
        if user.disabled {
            return Err(ErrorCode::DisabledUser.into());
        }
        if user.is_anonymous {
            return Err(ErrorCode::ForbiddenAnonymous.into());
        }
        // Store first (the previous code is void from now on), then send; a failed send
        // voids the new code too.
        let db = self.db.get().await?;
        sms_db::set_code(
            &db,
            self.otp_counter,
            user.id,
            code.as_deref(),
            CODE_TTL_SECS,
        )
        .await?;
        drop(db);
        self.send_or_void(&sms, user.id, &phone, &user.locale, code.as_deref())
            .await
    }

    /// Whether new SMS sign-ups stage their number in `new_phone_number` (schema level
    /// 24 and later, as Nhost Auth 0.52) rather than write `phone_number`.
    fn stages_sign_ups(&self) -> bool {
        self.phone_stage == PhoneStage::Users
    }

    /// Sends the code just stored for `user_id`; a failed send voids it.
    async fn send_or_void(
        &self,
        sms: &Sms,
        user_id: uuid::Uuid,
        phone: &PhoneNumber,
        locale: &str,
        code: Option<&str>,
    ) -> Result<(), ApiError> {
        if let Err(e) = self.deliver_code(sms, phone, locale, code).await {
            if let Some(code) = code {
                let db = self.db.get().await?;
                sms_db::void_code(&db, user_id, code).await?;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Re-stages the never-used SMS sign-up placeholder that holds the number, if any:
    /// `existing` when it is one (the number in `phone_number`, as below level 24), else
    /// from level 24 the oldest credential-free row that staged it in
    /// `new_phone_number`. It gets the new code and this request's profile (what a
    /// squatter chose does not survive). `Some(id)` when one was re-staged (the caller
    /// sends the code); `signup-disabled` for the sign-up route when sign-up is closed,
    /// `disabled-user` for a disabled placeholder (nothing sent).
    async fn restage_placeholder(
        &self,
        existing: Option<&UserRow>,
        phone: &PhoneNumber,
        options: &crate::domain::SignUpOptions,
        code: Option<&str>,
        origin: Origin,
    ) -> Result<Option<uuid::Uuid>, ApiError> {
        let mut db = self.db.get().await?;
        let tx = db.transaction().await?;
        let found = match existing {
            Some(user) => sms_staging::lock_legacy(&tx, user.id).await?,
            None if self.stages_sign_ups() => {
                sms_staging::lock_staged(&tx, self.sms_layout, &phone.lookup_forms()).await?
            }
            None => None,
        };
        let Some(placeholder) = found else {
            return Ok(None);
        };
        if origin == Origin::SignUp {
            self.registration.check_open()?;
        }
        if placeholder.disabled {
            return Err(ErrorCode::DisabledUser.into());
        }
        let avatar_url = self.settings.policy().avatar_url("");
        sms_staging::restage(
            &tx,
            self.otp_counter,
            placeholder.id,
            code,
            CODE_TTL_SECS,
            &sms_staging::Profile {
                display_name: &options.display_name,
                avatar_url: &avatar_url,
                locale: &options.locale,
                default_role: &options.default_role,
                roles: &options.allowed_roles,
                metadata: &options.metadata,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Some(placeholder.id))
    }

    /// Releases expired staged deanonymisations and (from level 24) deletes staged
    /// sign-up placeholders whose code expired. Opportunistic, on each SMS code request:
    /// at level 27 both read only the staged rows (partial index), which the SMS rate
    /// limit and the 5-minute lifetime keep few. A failure is logged, not answered: the
    /// request does not depend on it.
    pub(crate) async fn sweep_expired_staging(&self, db: &impl crate::db::Db) {
        if let Err(e) = sms_deanonymize::release_expired(db, self.sms_layout).await {
            tracing::warn!(error = %e, "releasing expired SMS deanonymisations failed");
        }
        if !self.stages_sign_ups() {
            return;
        }
        match sms_staging::sweep_expired(db, self.sms_layout).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "expired staged SMS sign-ups deleted"),
            Err(e) => tracing::warn!(error = %e, "deleting expired staged SMS sign-ups failed"),
        }
    }

    /// `POST /signin/passwordless/sms/otp`: a session for the right code.
    ///
    /// Wrong, expired or used codes, and numbers that cannot have one (`None`): 400
    /// `invalid-request` under v0.42, `invalid-otp` under 0.52; the fifth wrong guess
    /// burns the code (0.52: `otp-too-many-attempts`, until a new code is sent). Account-state failures answer their own 401/403
    /// codes, where upstream answered 500.
    pub async fn signin_sms_verify(
        &self,
        phone: Option<PhoneNumber>,
        code: &OneTimeCode,
    ) -> Result<Session, ApiError> {
        let code = code.expose();
        let sms = self.sms_sender()?;
        let phone = phone.ok_or(INVALID_OTP)?;
        let user = if sms.checks_codes() {
            self.verify_with_provider(&sms, &phone, code).await?
        } else {
            let db = self.db.get().await?;
            let forms = phone.lookup_forms();
            match sms_db::consume_code(&db, self.otp_counter, &forms, code, MAX_FAILURES).await? {
                Some(user) => user,
                None => {
                    drop(db);
                    match self.promote_staged(&phone, Some(code)).await? {
                        Some(user) => user,
                        None => {
                            let db = self.db.get().await?;
                            return Err(self.wrong_guess(&db, &phone).await?);
                        }
                    }
                }
            }
        };
        // Upstream's ValidateUserEmailOptional: email rules only for users with an email.
        self.accounts.check(
            &user,
            Tolerate {
                unverified: user.email.is_none(),
                anonymous: false,
            },
        )?;
        self.sessions.new_session(&user).await
    }

    /// Counts a wrong guess against the number's pending code: the answer for it.
    /// Counts a wrong guess against the pending code of the number's owner or, without
    /// one, of every anonymous user that staged the number (as 0.52: each such row pays
    /// one attempt).
    async fn wrong_guess(
        &self,
        db: &impl crate::db::Db,
        phone: &PhoneNumber,
    ) -> Result<ApiError, ApiError> {
        let holders = match sms_db::code_holder(db, &phone.lookup_forms()).await? {
            Some(user_id) => vec![user_id],
            None => sms_deanonymize::holders(db, self.sms_layout, phone.e164()).await?,
        };
        let mut burned = false;
        for user_id in holders {
            let attempts = otp_attempts::record_wrong_guess(
                db,
                self.otp_counter,
                user_id,
                "sms",
                MAX_FAILURES,
            )
            .await?;
            burned |= matches!(attempts, Some(n) if n >= MAX_FAILURES);
        }
        Ok(if burned {
            TOO_MANY_ATTEMPTS
        } else {
            INVALID_OTP
        })
    }

    /// Completes the SMS deanonymisation of the single anonymous user that staged the
    /// number with this code (`None`: the provider approved it), in one transaction.
    async fn promote_staged(
        &self,
        phone: &PhoneNumber,
        code: Option<&str>,
    ) -> Result<Option<UserRow>, ApiError> {
        let mut db = self.db.get().await?;
        let tx = db.transaction().await?;
        let promoted =
            match sms_deanonymize::promote(&tx, self.sms_layout, phone.e164(), code, MAX_FAILURES)
                .await
            {
                Ok(promoted) => promoted,
                // Owned by another user since the request (the transaction rolls back).
                Err(crate::db::DbError::DuplicatePhoneNumber) => {
                    return Err(ErrorCode::EmailAlreadyInUse.into());
                }
                Err(e) => return Err(e.into()),
            };
        tx.commit().await?;
        match promoted {
            Some((user, was_anonymous)) => {
                if was_anonymous {
                    audit::event("deanonymize", Outcome::Success)
                        .user(user.id)
                        .reason("sms")
                        .record();
                }
                Ok(Some(user))
            }
            None => Ok(None),
        }
    }

    async fn verify_with_provider(
        &self,
        sms: &Sms,
        phone: &PhoneNumber,
        code: &str,
    ) -> Result<UserRow, ApiError> {
        let approved = sms
            .check_code(phone.e164(), code)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, provider = sms.name(), "SMS code check failed");
                false
            });
        if !approved {
            return Err(INVALID_OTP);
        }
        let db = self.db.get().await?;
        let Some(mut user) = sms_db::find_by_phone(&db, &phone.lookup_forms()).await? else {
            drop(db);
            return self.promote_staged(phone, None).await?.ok_or(INVALID_OTP);
        };
        sms_db::mark_phone_verified(&db, user.id).await?;
        user.phone_number_verified = true;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_six_digits() {
        for _ in 0..200 {
            let c = super::new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
