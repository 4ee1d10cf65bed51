//! `GET /user`, and `/user/*` in the submodules.

pub mod deanonymize;
pub mod email;
pub mod password;
pub mod phone_number;
pub mod sessions;

pub mod mfa;

pub mod webauthn;

use std::sync::Arc;

use axum::{Json, extract::State};

use crate::error::{ApiError, ErrorCode};
use crate::http::extract::Bearer;
use crate::service::accounts::Accounts;
use crate::service::session::UserView;

pub async fn get(
    State(accounts): State<Arc<Accounts>>,
    Bearer(token): Bearer,
) -> Result<Json<UserView>, ApiError> {
    let user_id = token.subject_id().ok_or(ErrorCode::InvalidRequest)?;
    Ok(Json(accounts.current_user(user_id).await?))
}
