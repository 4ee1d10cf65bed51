//! Per-account brute-force protection (the anchor is Keycloak's brute-force detection):
//! after `AUTH_LOCKOUT_MAX_FAILURES` failed password, TOTP or OTP attempts on one
//! account, the account is locked for `AUTH_LOCKOUT_DURATION`, twice as long for each
//! further lock in a row, never longer than `AUTH_LOCKOUT_MAX_DURATION`. Complements the
//! per-IP rate limits, which a botnet dodges: the count is per account, whatever the IP.
//!
//! During a lock the credentials are still checked (same timing), and the answer is the
//! wrong-credentials one, so an attacker cannot tell a locked account from a wrong
//! guess, unless `AUTH_LOCKOUT_REVEAL` is set. Attempts during a lock are not counted,
//! so nobody can keep a victim locked beyond the cap; a successful password change or
//! reset lifts the lock at once; a successful sign-in forgets earlier failures.
//!
//! Off (the default), none of this costs a database round trip.

use uuid::Uuid;

use crate::db::{DbPool, lockout as lockout_db};
use crate::error::ApiError;
use crate::service::audit::{self, Outcome};
use crate::settings::SettingsHandle;

#[derive(Clone)]
pub struct Lockout {
    pub(crate) db: DbPool,
    pub(crate) settings: SettingsHandle,
}

/// What [`Lockout::check`] found: whether the account is locked, and whether it has a
/// row of failures at all (only then does a success need to delete it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Standing {
    pub locked: bool,
    has_failures: bool,
}

struct Limits {
    max_failures: i32,
    base_secs: f64,
    cap_secs: f64,
    reveal: bool,
}

impl Lockout {
    fn limits(&self) -> Option<Limits> {
        let config = self.settings.config();
        let s = &config.security;
        if s.lockout_max_failures == 0 {
            return None;
        }
        let cap = s.lockout_max_duration.max(s.lockout_duration);
        Some(Limits {
            max_failures: i32::try_from(s.lockout_max_failures).unwrap_or(i32::MAX),
            base_secs: s.lockout_duration.as_secs_f64(),
            cap_secs: cap.as_secs_f64(),
            reveal: s.lockout_reveal,
        })
    }

    /// The account's standing before its credentials are checked; one round trip when
    /// locking is on, none when it is off.
    pub async fn check(&self, user_id: Uuid) -> Result<Standing, ApiError> {
        if self.limits().is_none() {
            return Ok(Standing::default());
        }
        let db = self.db.get().await?;
        Ok(match lockout_db::state(&db, user_id).await? {
            Some(state) => Standing {
                locked: state.locked_until.is_some(),
                has_failures: true,
            },
            None => Standing::default(),
        })
    }

    /// The answer to an attempt on a locked account: `wrong` (what a wrong credential
    /// gets), or with `AUTH_LOCKOUT_REVEAL` a 429 saying the account is locked.
    pub fn refusal(&self, user_id: Uuid, wrong: impl Into<ApiError>) -> ApiError {
        let wrong = wrong.into();
        audit::event("signin", Outcome::Failure)
            .user(user_id)
            .reason("account-locked")
            .record();
        match self.limits() {
            Some(l) if l.reveal => ApiError::locked(
                wrong.code(),
                "Too many failed attempts: the account is temporarily locked, try again later",
            ),
            _ => wrong,
        }
    }

    /// Counts a failed attempt (not made during a lock); may lock the account.
    /// Best effort: a database failure here is logged, the caller's answer stands.
    pub async fn failed(&self, user_id: Uuid) {
        let Some(l) = self.limits() else {
            return;
        };
        let counted = async {
            let db = self.db.get().await?;
            lockout_db::record_failure(
                &db,
                user_id,
                l.max_failures,
                l.base_secs,
                l.cap_secs,
                l.cap_secs,
            )
            .await
        };
        match counted.await {
            Ok(f) => {
                if let Some(until) = f.locked_until {
                    tracing::warn!(event = "account_locked", user_id = %user_id, until = %until, "account locked after repeated failed attempts");
                    audit::event("account-locked", Outcome::Success)
                        .user(user_id)
                        .reason(format!("until {}", until.to_rfc3339()))
                        .record();
                }
            }
            Err(e) => tracing::warn!(error = %e, "counting a failed attempt failed"),
        }
    }

    /// A successful sign-in: forgets the account's failures (a round trip only when it
    /// has some).
    pub async fn succeeded(&self, user_id: Uuid, standing: Standing) {
        if standing.has_failures {
            self.clear(user_id, "signin").await;
        }
    }

    /// Lifts the lock and forgets the failures (a password change or reset). Best effort.
    pub async fn clear(&self, user_id: Uuid, why: &'static str) {
        if self.limits().is_none() {
            return;
        }
        let cleared = async {
            let db = self.db.get().await?;
            lockout_db::clear(&db, user_id).await
        };
        match cleared.await {
            Ok(true) => audit::event("account-unlocked", Outcome::Success)
                .user(user_id)
                .reason(why)
                .record(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "clearing failed attempts failed"),
        }
    }
}
