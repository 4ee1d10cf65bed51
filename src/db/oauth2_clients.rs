//! SQL of the operator's client management (`hasura-auth oauth2-clients …`) on
//! `auth.oauth2_clients` (schema level 20 on). The identity provider's own lookups are
//! elsewhere; these statements only create, list, re-key and delete rows. Deleting a client
//! cascades to its authorization requests, codes and refresh tokens (foreign keys).

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::{Db, DbError};

/// A client row, without its secret hash.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub client_id: String,
    pub confidential: bool,
    /// `registered` or `client_id_metadata_document`.
    pub kind: String,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "client_id, client_secret_hash IS NOT NULL, type, redirect_uris, scopes, \
                       created_at, updated_at";

fn client(row: &Row) -> Result<ClientRow, DbError> {
    Ok(ClientRow {
        client_id: row.try_get(0)?,
        confidential: row.try_get(1)?,
        kind: row.try_get(2)?,
        redirect_uris: row.try_get(3)?,
        scopes: row.try_get(4)?,
        created_at: row.try_get(5)?,
        updated_at: row.try_get(6)?,
    })
}

/// Inserts a registered client; the id comes from the column default (`nhoa_…`), the
/// scopes from the column default when `scopes` is `None`.
pub async fn insert(
    db: &impl Db,
    secret_hash: Option<&str>,
    redirect_uris: &[String],
    scopes: Option<&[String]>,
) -> Result<ClientRow, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO auth.oauth2_clients (client_secret_hash, redirect_uris, scopes) \
             VALUES ($1, $2, COALESCE($3, '{{openid,profile,email,phone,offline_access,graphql}}'::text[])) \
             RETURNING {COLUMNS}"
        ))
        .await?;
    let row = db
        .query_one(&stmt, &[&secret_hash, &redirect_uris, &scopes])
        .await?;
    client(&row)
}

/// Every client, oldest first.
pub async fn list(db: &impl Db) -> Result<Vec<ClientRow>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM auth.oauth2_clients ORDER BY created_at, client_id"
        ))
        .await?;
    db.query(&stmt, &[]).await?.iter().map(client).collect()
}

pub async fn find(db: &impl Db, client_id: &str) -> Result<Option<ClientRow>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM auth.oauth2_clients WHERE client_id = $1"
        ))
        .await?;
    db.query_opt(&stmt, &[&client_id])
        .await?
        .as_ref()
        .map(client)
        .transpose()
}

/// Replaces the secret hash of a confidential registered client. `None` when there is no
/// such client (or it is public, or a metadata-document client: neither has a secret).
/// Refresh tokens already issued stay: refreshing them needs the new secret.
pub async fn rotate_secret(
    db: &impl Db,
    client_id: &str,
    secret_hash: &str,
) -> Result<Option<ClientRow>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "UPDATE auth.oauth2_clients SET client_secret_hash = $2 \
              WHERE client_id = $1 AND client_secret_hash IS NOT NULL AND type = 'registered' \
              RETURNING {COLUMNS}"
        ))
        .await?;
    db.query_opt(&stmt, &[&client_id, &secret_hash])
        .await?
        .as_ref()
        .map(client)
        .transpose()
}

/// Deletes a client and (by cascade) its requests, codes and refresh tokens; whether it
/// existed.
pub async fn delete(db: &impl Db, client_id: &str) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached("DELETE FROM auth.oauth2_clients WHERE client_id = $1")
        .await?;
    Ok(db.execute(&stmt, &[&client_id]).await? == 1)
}
