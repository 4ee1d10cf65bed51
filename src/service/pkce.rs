//! PKCE for Nhost's own redirect flows (Nhost Auth 0.48): a flow started with a
//! `codeChallenge` ends in a redirect carrying a short-lived `code` instead of a refresh
//! token, and `POST /token/exchange` trades that code plus the verifier for a session.
//! A code lives five minutes, is used once, and is stored hashed; presenting it with a
//! wrong verifier does not use it up.

use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{SchemaLevel, pkce, users};
use crate::domain::{CodeChallenge, CodeVerifier};
use crate::error::{ApiError, ErrorCode};
use crate::service::session::Session;

/// Lifetime of an authorization code (upstream's docs: five minutes).
pub const CODE_TTL_SECS: i64 = 300;

/// Issues and exchanges PKCE authorization codes.
#[derive(Clone)]
pub struct PkceCodes {
    pub(crate) db: crate::db::DbPool,
    /// Where the codes live: upstream's table from level 21, ours below.
    pub(crate) schema: SchemaLevel,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
}

fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

impl PkceCodes {
    /// A new code for `user_id`, bound to `challenge`; the caller puts it in the redirect.
    pub async fn issue(
        &self,
        user_id: Uuid,
        challenge: &CodeChallenge,
        redirect_to: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let code = hex::encode(bytes);
        let db = self.db.get().await?;
        pkce::insert(
            &db,
            self.schema,
            user_id,
            &hash(&code),
            challenge.as_str(),
            redirect_to,
            CODE_TTL_SECS,
        )
        .await?;
        Ok(code)
    }

    /// `POST /token/exchange`: an unknown, expired or used code, or a verifier that does
    /// not match, is `invalid-request`; then the user must pass the ordinary check.
    pub async fn exchange(&self, code: &str, verifier: &CodeVerifier) -> Result<Session, ApiError> {
        if code.is_empty() || code.contains('\0') {
            return Err(ErrorCode::InvalidRequest.into());
        }
        let challenge = CodeChallenge::of(verifier);
        let db = self.db.get().await?;
        let user_id = pkce::consume(&db, self.schema, &hash(code), challenge.as_str())
            .await?
            .ok_or(ErrorCode::InvalidRequest)?;
        let user = users::find_by_id(&db, user_id)
            .await?
            .ok_or(ErrorCode::InvalidRequest)?;
        drop(db);
        self.accounts.check(&user, Default::default())?;
        self.sessions.new_session(&user).await
    }
}
