//! Personal access tokens: long-lived refresh tokens of type `pat`, stored hashed like
//! every refresh token, exchanged for a regular session at `POST /signin/pat`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::refresh_tokens;
use crate::error::{ApiError, ErrorCode};
use crate::service::audit::{self, Outcome};
use crate::service::session::Session;
use crate::tokens::VerifiedToken;
use crate::tokens::refresh::RefreshToken;
use crate::tokens::secret::Redacted;

/// `{"id": "<refresh_tokens.id>", "personalAccessToken": "<uuid>"}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedPat {
    pub id: Uuid,
    pub personal_access_token: Redacted,
}

/// Personal access tokens: creation and sign-in.
#[derive(Clone)]
pub struct PersonalAccessTokens {
    pub(crate) db: crate::db::DbPool,
    pub(crate) accounts: crate::service::accounts::Accounts,
    pub(crate) sessions: crate::service::session::Sessions,
}

impl PersonalAccessTokens {
    /// `POST /pat`. Any expiry is accepted, as upstream (a past one gives a dead token).
    pub async fn create_pat(
        &self,
        token: &VerifiedToken,
        expires_at: DateTime<Utc>,
        metadata: Option<Map<String, Value>>,
    ) -> Result<CreatedPat, ApiError> {
        let user = self
            .accounts
            .user_from_token(token, Default::default())
            .await?;
        let pat = RefreshToken::generate();
        let metadata = metadata.map(Value::Object);
        let db = self.db.get().await?;
        let id = refresh_tokens::insert_with_expiry(
            &db,
            user.id,
            &pat.hash(),
            refresh_tokens::TYPE_PAT,
            expires_at,
            metadata.as_ref(),
        )
        .await?;
        audit::event("pat-created", Outcome::Success)
            .user(user.id)
            .reason(id.to_string())
            .record();
        Ok(CreatedPat {
            id,
            personal_access_token: Redacted::new(pat.expose()),
        })
    }

    /// `POST /signin/pat`: a new regular session; the PAT itself is not rotated.
    pub async fn signin_pat(&self, presented: &RefreshToken) -> Result<Session, ApiError> {
        let hash = presented.hash();
        let db = self.db.get().await?;
        let owner = refresh_tokens::find_live(&db, &hash, refresh_tokens::TYPE_PAT)
            .await?
            .ok_or(ErrorCode::InvalidPat)?;
        drop(db);
        self.accounts.check(&owner.user, Default::default())?;
        self.sessions.new_session(&owner.user).await
    }
}
