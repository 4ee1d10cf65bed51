//! Who is calling: the user behind an access token (`GET /user`, and every workflow
//! that acts on the caller), upstream's generic user check, and the elevated-claim
//! policy (`AUTH_REQUIRE_ELEVATED_CLAIM`) for the routes that demand it.

use uuid::Uuid;

use crate::config::ElevatedClaimMode;
use crate::db::DbPool;
use crate::db::users::{self, UserRow};
use crate::error::{ApiError, ErrorCode};
use crate::service::session::UserView;
use crate::service::user_check::{Tolerate, check_user};
use crate::settings::SettingsHandle;
use crate::tokens::VerifiedToken;

/// Loads and checks existing users.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) db: DbPool,
    pub(crate) settings: SettingsHandle,
}

/// How strictly a route applies the elevated-claim policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elevation {
    /// The configured mode applies as is.
    Policy,
    /// In `required` mode, behave like `recommended`, so that a user without any
    /// security key can register a first one (`/user/webauthn/add` and `/verify`).
    /// Upstream compares the raw path and loses this with `AUTH_API_PREFIX`; here the
    /// route declares it, whatever the prefix.
    FirstKeyExempt,
}

impl Accounts {
    /// `GET /user`.
    pub async fn current_user(&self, user_id: Uuid) -> Result<UserView, ApiError> {
        let db = self.db.get().await?;
        let (user, roles) = users::find_by_id_with_roles(&db, user_id)
            .await?
            .ok_or(ErrorCode::InvalidEmailPassword)?;
        self.check(&user, Default::default())?;
        Ok(UserView::new(&user, roles))
    }

    /// Upstream's `ValidateUser` under the current settings.
    pub fn check(&self, user: &UserRow, tolerate: Tolerate) -> Result<(), ErrorCode> {
        let settings = self.settings.snapshot();
        check_user(
            user,
            &settings.policy,
            settings.config.signup.email_verification_required,
            tolerate,
        )
    }

    /// Loads the token's user (`sub`) and applies the generic user check.
    pub async fn user_from_token(
        &self,
        token: &VerifiedToken,
        tolerate: Tolerate,
    ) -> Result<UserRow, ApiError> {
        let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
        self.checked_user(user_id, tolerate).await
    }

    pub async fn checked_user(
        &self,
        user_id: Uuid,
        tolerate: Tolerate,
    ) -> Result<UserRow, ApiError> {
        let db = self.db.get().await?;
        let user = users::find_by_id(&db, user_id)
            .await?
            .ok_or(ErrorCode::InvalidEmailPassword)?;
        self.check(&user, tolerate)?;
        Ok(user)
    }

    /// True when the token satisfies the elevated-claim policy for a route.
    pub async fn satisfies_elevation(
        &self,
        token: &VerifiedToken,
        route: Elevation,
    ) -> Result<bool, ApiError> {
        let mode = self.settings.config().security.require_elevated_claim;
        match elevation_rule(mode, route, token.is_elevated()) {
            ElevationRule::Pass => Ok(true),
            ElevationRule::Fail => Ok(false),
            ElevationRule::PassWithoutSecurityKey => {
                let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
                let db = self.db.get().await?;
                Ok(!users::has_security_key(&db, user_id).await?)
            }
        }
    }
}

/// What the policy demands of one request, before looking at the user's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElevationRule {
    Pass,
    Fail,
    /// Passes only if the user has no security key (so cannot elevate yet).
    PassWithoutSecurityKey,
}

/// Upstream's `verifyElevatedClaim`, with the first-key exemption declared by the route
/// instead of matched on the raw path (which broke with `AUTH_API_PREFIX`).
pub fn elevation_rule(mode: ElevatedClaimMode, route: Elevation, elevated: bool) -> ElevationRule {
    match (mode, route) {
        (ElevatedClaimMode::Disabled, _) => ElevationRule::Pass,
        _ if elevated => ElevationRule::Pass,
        (ElevatedClaimMode::Required, Elevation::Policy) => ElevationRule::Fail,
        (ElevatedClaimMode::Recommended, _)
        | (ElevatedClaimMode::Required, Elevation::FirstKeyExempt) => {
            ElevationRule::PassWithoutSecurityKey
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ElevatedClaimMode::*;
    use Elevation::*;

    /// Every (mode, route, elevated token, user has a key) against the expected outcome.
    #[test]
    fn elevation_matrix() {
        #[rustfmt::skip]
        let table = [
            // mode,       route,          elevated, has key, passes
            (Disabled,    Policy,         false,    false,   true),
            (Disabled,    Policy,         false,    true,    true),
            (Disabled,    FirstKeyExempt, false,    true,    true),
            (Disabled,    Policy,         true,     true,    true),
            (Recommended, Policy,         false,    false,   true),
            (Recommended, Policy,         false,    true,    false),
            (Recommended, Policy,         true,     true,    true),
            (Recommended, Policy,         true,     false,   true),
            (Recommended, FirstKeyExempt, false,    false,   true),
            (Recommended, FirstKeyExempt, false,    true,    false),
            (Recommended, FirstKeyExempt, true,     true,    true),
            (Required,    Policy,         false,    false,   false),
            (Required,    Policy,         false,    true,    false),
            (Required,    Policy,         true,     false,   true),
            (Required,    Policy,         true,     true,    true),
            (Required,    FirstKeyExempt, false,    false,   true),
            (Required,    FirstKeyExempt, false,    true,    false),
            (Required,    FirstKeyExempt, true,     true,    true),
            (Required,    FirstKeyExempt, true,     false,   true),
        ];
        for (mode, route, elevated, has_key, passes) in table {
            let outcome = match elevation_rule(mode, route, elevated) {
                ElevationRule::Pass => true,
                ElevationRule::Fail => false,
                ElevationRule::PassWithoutSecurityKey => !has_key,
            };
            assert_eq!(
                outcome, passes,
                "{mode:?} {route:?} elevated={elevated} key={has_key}"
            );
        }
    }
}
