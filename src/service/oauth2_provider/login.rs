//! The consent UI's API (reference §2.1.3): `GET /oauth2/login` shows the application a
//! pending authorization request (which client, which scopes, where the code goes), and
//! `POST /oauth2/login`, called with the signed-in user's access token, approves it: the
//! request is completed for that user and a code is issued, in one statement. The page
//! itself (sign-in, approve or deny) is the application's; denying is not calling POST.
//!
//! These answers use the service's usual error body (`{"status","error","message"}`), as
//! upstream's do: `invalid-request` with the status of the OAuth2 mapping (400).

use axum::http::StatusCode;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::DISABLED;
use super::{AUTH_CODE_TTL_SECS, OAuth2Provider};
use crate::db::oauth2_provider as sql;
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::tokens::VerifiedToken;

/// `GET /oauth2/login`'s answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRequest {
    pub request_id: Uuid,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
}

/// `POST /oauth2/login`'s answer: where the consent page sends the browser.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Approved {
    pub redirect_uri: String,
}

fn invalid(message: &'static str) -> ApiError {
    ApiError::custom(StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest, message)
}

/// The hex SHA-256 a code or token is stored as.
pub fn stored_hash(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A random (CSPRNG) version-4 UUID, as codes and refresh tokens are.
pub fn random_uuid() -> Uuid {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

impl OAuth2Provider {
    /// 400 `disabled-endpoint` "OAuth2 provider is disabled" unless the provider is on.
    pub fn ensure_enabled_for_ui(&self) -> Result<(), ApiError> {
        if self.settings.enabled {
            Ok(())
        } else {
            Err(ApiError::custom(
                StatusCode::BAD_REQUEST,
                ErrorCode::DisabledEndpoint,
                DISABLED,
            ))
        }
    }

    /// `GET /oauth2/login`: the pending request `request_id`.
    pub async fn pending_request(&self, request_id: Uuid) -> Result<PendingRequest, ApiError> {
        self.ensure_enabled_for_ui()?;
        let db = self.db.get().await?;
        let req = sql::find_auth_request(&db, request_id)
            .await?
            .ok_or_else(|| invalid("Unknown authorization request"))?;
        if req.expired {
            return Err(invalid("Authorization request expired"));
        }
        if req.done {
            return Err(invalid("Authorization request already completed"));
        }
        Ok(PendingRequest {
            request_id: req.id,
            client_id: req.client_id,
            scopes: req.scopes,
            redirect_uri: req.redirect_uri,
        })
    }

    /// `POST /oauth2/login`: the token's user approves `request_id`. The user must pass
    /// the usual check of sign-ins (disabled, unverified and anonymous users are refused).
    pub async fn approve(
        &self,
        token: &VerifiedToken,
        request_id: Uuid,
    ) -> Result<Approved, ApiError> {
        self.ensure_enabled_for_ui()?;
        let user = self
            .accounts
            .user_from_token(token, Default::default())
            .await?;
        self.approve_for(user.id, request_id).await
    }

    /// Completes `request_id` for a user who passed the sign-in checks, and issues the
    /// code: `POST /oauth2/login` and the built-in page's approval.
    pub(crate) async fn approve_for(
        &self,
        user_id: Uuid,
        request_id: Uuid,
    ) -> Result<Approved, ApiError> {
        let code = random_uuid().to_string();
        let db = self.db.get().await?;
        let completed = sql::complete_auth_request(
            &db,
            request_id,
            user_id,
            &stored_hash(&code),
            AUTH_CODE_TTL_SECS,
        )
        .await?;
        let Some(completed) = completed else {
            let why = match sql::find_auth_request(&db, request_id).await? {
                None => "Unknown authorization request",
                Some(r) if r.done => "Authorization request already completed",
                Some(_) => "Authorization request expired",
            };
            audit::event("oauth2-authorization", Outcome::Failure)
                .user(user_id)
                .reason(why)
                .record();
            return Err(invalid(why));
        };
        drop(db);
        let mut url = url::Url::parse(&completed.redirect_uri)
            .map_err(|e| ApiError::internal(format!("stored redirect_uri: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("code", &code);
            q.append_pair("iss", &self.settings.issuer);
            if let Some(state) = completed.state.as_deref() {
                q.append_pair("state", state);
            }
        }
        audit::event("oauth2-authorization", Outcome::Success)
            .user(user_id)
            .reason(completed.client_id)
            .record();
        Ok(Approved {
            redirect_uri: url.into(),
        })
    }
}
