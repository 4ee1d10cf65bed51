//! `GET /mfa/totp/generate`. Elevated since Nhost Auth 0.51 (#4493): with
//! `AUTH_REQUIRE_ELEVATED_CLAIM` on, a user who has a security key needs an elevated
//! token; a user without one may set up TOTP with a plain token (0.52's
//! `isElevatedClaimOptional`, the rule of `/user/webauthn/add`).

use std::sync::Arc;

use axum::{Json, extract::State};

use crate::error::ApiError;
use crate::http::extract::ElevatedBearerFirstKey;
use crate::service::mfa::TotpMfa;
use crate::service::mfa::TotpSetup;

pub async fn generate(
    State(mfa): State<Arc<TotpMfa>>,
    ElevatedBearerFirstKey(token): ElevatedBearerFirstKey,
) -> Result<Json<TotpSetup>, ApiError> {
    Ok(Json(mfa.totp_generate(&token).await?))
}
