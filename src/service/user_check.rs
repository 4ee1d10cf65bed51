//! Upstream's generic user check (`ValidateUser`), applied before any session is issued.

use crate::db::users::UserRow;
use crate::domain::policy::Policy;
use crate::error::ErrorCode;

/// Which failures a workflow tolerates.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tolerate {
    pub unverified: bool,
    pub anonymous: bool,
}

/// In upstream's order: email lists (non-anonymous), disabled, unverified, anonymous.
pub fn check_user(
    user: &UserRow,
    policy: &Policy,
    verification_required: bool,
    tolerate: Tolerate,
) -> Result<(), ErrorCode> {
    if !user.is_anonymous
        && let Some(email) = &user.email
        && !policy.email_access.allows(email)
    {
        return Err(ErrorCode::InvalidEmailPassword);
    }
    if user.disabled {
        return Err(ErrorCode::DisabledUser);
    }
    // Anonymous users have no email to verify; upstream's check order rejected them here,
    // which stopped anonymous sessions from refreshing (SPEC §11.8). They are handled by
    // the anonymity rule below instead. Users without any email (Strava, some GitHub or
    // Twitter accounts) cannot verify one either (upstream's `ValidateUserEmailOptional`).
    if verification_required
        && !user.email_verified
        && !user.is_anonymous
        && user.email.is_some()
        && !tolerate.unverified
    {
        return Err(ErrorCode::UnverifiedUser);
    }
    if user.is_anonymous && !tolerate.anonymous {
        return Err(ErrorCode::ForbiddenAnonymous);
    }
    Ok(())
}
