//! SQL on `auth.refresh_tokens`: sessions are rows whose only token material is a hash.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::DbError;
use super::users::{USER_COLUMN_COUNT, USER_COLUMNS, UserRow};

pub const TYPE_REGULAR: &str = "regular";
pub const TYPE_PAT: &str = "pat";

/// Opens a session for an existing user: inserts a refresh token, bumps `last_seen`
/// and reads the user's roles — one round trip.
pub async fn create_session(
    db: &impl GenericClient,
    user_id: Uuid,
    refresh_token_hash: &str,
    ttl_secs: i64,
) -> Result<(Uuid, Vec<String>), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH t AS (INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at) \
               VALUES ($1, $2, now() + make_interval(secs => $3::bigint)) RETURNING id), \
             s AS (UPDATE auth.users SET last_seen = now() WHERE id = $1) \
             SELECT t.id, ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = $1) FROM t",
        )
        .await?;
    let row = db
        .query_one(&stmt, &[&user_id, &refresh_token_hash, &ttl_secs])
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// A live (unexpired) token of the given type with its user and roles.
pub struct TokenOwner {
    pub token_id: Uuid,
    pub user: UserRow,
    pub roles: Vec<String>,
}

pub async fn find_live(
    db: &impl GenericClient,
    hash: &str,
    token_type: &str,
) -> Result<Option<TokenOwner>, DbError> {
    let sql = format!(
        "SELECT t.id, {USER_COLUMNS}, ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = u.id) \
         FROM auth.refresh_tokens t JOIN auth.users u ON u.id = t.user_id \
         WHERE t.refresh_token_hash = $1 AND t.type = $2 AND t.expires_at > now() LIMIT 1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db.query_opt(&stmt, &[&hash, &token_type]).await? else {
        return Ok(None);
    };
    Ok(Some(TokenOwner {
        token_id: row.try_get(0)?,
        user: UserRow::from_row(&row, 1)?,
        roles: row.try_get(1 + USER_COLUMN_COUNT)?,
    }))
}

/// Rotates a refresh token in place (same row id, new hash, sliding expiry) and bumps
/// the user's `last_seen`. Compare-and-swap on the old hash: of two concurrent
/// refreshes with the same token, exactly one wins.
pub async fn rotate(
    db: &impl GenericClient,
    token_id: Uuid,
    old_hash: &str,
    new_hash: &str,
    ttl_secs: i64,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH t AS (UPDATE auth.refresh_tokens SET refresh_token_hash = $3, \
               expires_at = now() + make_interval(secs => $4::bigint) \
               WHERE id = $1 AND refresh_token_hash = $2 AND expires_at > now() RETURNING user_id), \
             s AS (UPDATE auth.users SET last_seen = now() WHERE id IN (SELECT user_id FROM t)) \
             SELECT count(*) FROM t",
        )
        .await?;
    let row = db
        .query_one(&stmt, &[&token_id, &old_hash, &new_hash, &ttl_secs])
        .await?;
    let n: i64 = row.try_get(0)?;
    Ok(n == 1)
}

pub async fn delete_by_hash(db: &impl GenericClient, hash: &str) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("DELETE FROM auth.refresh_tokens WHERE refresh_token_hash = $1")
        .await?;
    db.execute(&stmt, &[&hash]).await?;
    Ok(())
}

pub async fn delete_all_for_user(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("DELETE FROM auth.refresh_tokens WHERE user_id = $1")
        .await?;
    db.execute(&stmt, &[&user_id]).await?;
    Ok(())
}

/// Inserts a token of a given type with an absolute expiry (personal access tokens).
pub async fn insert_with_expiry(
    db: &impl GenericClient,
    user_id: Uuid,
    hash: &str,
    token_type: &str,
    expires_at: DateTime<Utc>,
    metadata: Option<&serde_json::Value>,
) -> Result<Uuid, DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, type, expires_at, metadata) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[&user_id, &hash, &token_type, &expires_at, &metadata],
        )
        .await?;
    Ok(row.try_get(0)?)
}
