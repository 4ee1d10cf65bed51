//! SQL of the OAuth2/OIDC identity provider (Nhost Auth 0.46+): the tables of migrations
//! 20 and 22 (`auth.oauth2_clients`, `auth.oauth2_auth_requests`,
//! `auth.oauth2_authorization_codes`, `auth.oauth2_refresh_tokens`). The provider only
//! runs from schema level 22 on (checked at start-up), so nothing here asks the level.
//! Codes and refresh tokens are stored as hex SHA-256 of the value handed out.

use super::Db;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::DbError;

/// The columns of [`ClientRow`], in its order.
const CLIENT_COLUMNS: &str = "client_id, client_secret_hash, redirect_uris, scopes, type, \
                              metadata, metadata_document_fetched_at";

/// A row of `auth.oauth2_clients`.
#[derive(Clone)]
pub struct ClientRow {
    pub client_id: String,
    /// bcrypt hash of the secret; `None` for a public client.
    pub client_secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// `registered` or `client_id_metadata_document`.
    pub kind: String,
    pub metadata: Option<Value>,
    pub metadata_document_fetched_at: Option<DateTime<Utc>>,
}

/// Never prints the secret's hash.
impl std::fmt::Debug for ClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRow")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret_hash.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn client_row(r: &tokio_postgres::Row) -> Result<ClientRow, DbError> {
    Ok(ClientRow {
        client_id: r.try_get(0)?,
        client_secret_hash: r.try_get(1)?,
        redirect_uris: r.try_get(2)?,
        scopes: r.try_get(3)?,
        kind: r.try_get(4)?,
        metadata: r.try_get(5)?,
        metadata_document_fetched_at: r.try_get(6)?,
    })
}

/// The client with this id, if any.
pub async fn find_client(db: &impl Db, client_id: &str) -> Result<Option<ClientRow>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {CLIENT_COLUMNS} FROM auth.oauth2_clients WHERE client_id = $1"
        ))
        .await?;
    db.query_opt(&stmt, &[&client_id])
        .await?
        .as_ref()
        .map(client_row)
        .transpose()
}
