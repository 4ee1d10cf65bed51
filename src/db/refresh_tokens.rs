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

/// What `POST /token` found.
pub struct Refreshed {
    pub token_id: Uuid,
    pub user: UserRow,
    pub roles: Vec<String>,
    /// False when the user failed the database-side checks (disabled, unverified): the
    /// token was left as it was.
    pub rotated: bool,
}

/// `POST /token` in one round trip: finds a live regular token, checks its user (not
/// disabled; verified unless anonymous, without email, or verification is off), rotates it in place
/// (same row id, new hash, sliding expiry), bumps `last_seen` and reads the roles.
/// `FOR UPDATE` serialises concurrent refreshes of one token: the loser no longer finds
/// the old hash.
pub async fn refresh(
    db: &impl GenericClient,
    old_hash: &str,
    new_hash: &str,
    ttl_secs: i64,
    verification_required: bool,
) -> Result<Option<Refreshed>, DbError> {
    let sql = format!(
        "WITH t AS (SELECT r.id, r.user_id FROM auth.refresh_tokens r \
           WHERE r.refresh_token_hash = $1 AND r.type = 'regular' AND r.expires_at > now() \
           LIMIT 1 FOR UPDATE), \
         u AS (SELECT {USER_COLUMNS}, \
             ARRAY(SELECT ur.role FROM auth.user_roles ur WHERE ur.user_id = u.id) AS roles, \
             (NOT u.disabled AND (u.email_verified OR u.is_anonymous OR u.email IS NULL OR NOT $4::bool)) AS allowed \
           FROM auth.users u JOIN t ON t.user_id = u.id), \
         rot AS (UPDATE auth.refresh_tokens r SET refresh_token_hash = $2, \
             expires_at = now() + make_interval(secs => $3::bigint) \
           FROM t, u WHERE r.id = t.id AND u.allowed RETURNING r.id), \
         seen AS (UPDATE auth.users x SET last_seen = now() FROM rot, t WHERE x.id = t.user_id) \
         SELECT t.id, u.*, (SELECT count(*) FROM rot) FROM t JOIN u ON true"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db
        .query_opt(
            &stmt,
            &[&old_hash, &new_hash, &ttl_secs, &verification_required],
        )
        .await?
    else {
        return Ok(None);
    };
    let rotated: i64 = row.try_get(3 + USER_COLUMN_COUNT)?;
    Ok(Some(Refreshed {
        token_id: row.try_get(0)?,
        user: UserRow::from_row(&row, 1)?,
        roles: row.try_get(1 + USER_COLUMN_COUNT)?,
        rotated: rotated == 1,
    }))
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

/// Deletes up to `limit` expired refresh tokens (any type) and returns how many went.
/// PostgreSQL has no `DELETE … LIMIT`: the rows are picked by a bounded subquery, and
/// rows another transaction holds are skipped rather than waited for.
pub async fn delete_expired(db: &impl GenericClient, limit: i64) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM auth.refresh_tokens WHERE id IN (\
               SELECT id FROM auth.refresh_tokens WHERE expires_at < now() \
               LIMIT $1 FOR UPDATE SKIP LOCKED)",
        )
        .await?;
    Ok(db.execute(&stmt, &[&limit]).await?)
}
