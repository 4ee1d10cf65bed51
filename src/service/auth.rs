//! Who is calling: the user behind an access token, and the elevated-claim policy
//! (`AUTH_REQUIRE_ELEVATED_CLAIM`) for the routes that demand it.

use uuid::Uuid;

use crate::app::AppState;
use crate::config::ElevatedClaimMode;
use crate::db::users::{self, UserRow};
use crate::error::{ApiError, ErrorCode};
use crate::service::user_check::Tolerate;
use crate::tokens::VerifiedToken;

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

impl AppState {
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
        let mode = self.config().require_elevated_claim;
        let required = match (mode, route) {
            (ElevatedClaimMode::Disabled, _) => return Ok(true),
            (_, _) if token.is_elevated() => return Ok(true),
            (ElevatedClaimMode::Required, Elevation::Policy) => return Ok(false),
            // `recommended`, or `required` on a first-key route: only users with a key
            // must elevate.
            _ => true,
        };
        let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
        let db = self.db.get().await?;
        let has_key = users::has_security_key(&db, user_id).await?;
        Ok(!(required && has_key))
    }
}
