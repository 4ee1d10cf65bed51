//! SQL of the identity provider's device authorization grant (RFC 8628):
//! `hasura_auth.oauth2_device_codes` (internal migration 11). Device and user codes are
//! stored as hex SHA-256. The provider only runs from schema level 22 on, so every
//! statement may join `auth.oauth2_clients`: a code whose client was deleted is unknown.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::users::{USER_COLUMNS, UserRow};
use super::{Db, DbError};

/// What `POST /oauth2/device` stores.
pub struct NewDeviceCode<'a> {
    pub device_code_hash: &'a str,
    pub user_code_hash: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub interval_secs: i32,
    pub ttl_secs: i64,
}

/// Stores a pending device authorization. `false` when the user code is already the
/// code of another pending authorization (the caller draws another).
pub async fn insert(db: &impl Db, code: &NewDeviceCode<'_>) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO hasura_auth.oauth2_device_codes \
               (device_code_hash, user_code_hash, client_id, scopes, interval_secs, expires_at) \
             VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::bigint)) \
             ON CONFLICT (user_code_hash) WHERE status = 'pending' DO NOTHING",
        )
        .await?;
    let n = db
        .execute(
            &stmt,
            &[
                &code.device_code_hash,
                &code.user_code_hash,
                &code.client_id,
                &code.scopes,
                &code.interval_secs,
                &code.ttl_secs,
            ],
        )
        .await?;
    Ok(n == 1)
}

/// An authorization as the verification page sees it.
pub struct DeviceByUserCode {
    pub id: Uuid,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    pub expired: bool,
}

/// The authorization of a user code, expired or not: the pending one, else the latest
/// decided one (a decided code leaves the user code free for a new authorization).
pub async fn find_by_user_code(
    db: &impl Db,
    user_code_hash: &str,
) -> Result<Option<DeviceByUserCode>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT d.client_id, d.scopes, d.status, d.expires_at <= now(), d.id \
             FROM hasura_auth.oauth2_device_codes d \
             JOIN auth.oauth2_clients c ON c.client_id = d.client_id \
             WHERE d.user_code_hash = $1 \
             ORDER BY d.status = 'pending' DESC, d.created_at DESC LIMIT 1",
        )
        .await?;
    let Some(r) = db.query_opt(&stmt, &[&user_code_hash]).await? else {
        return Ok(None);
    };
    Ok(Some(DeviceByUserCode {
        id: r.try_get(4)?,
        client_id: r.try_get(0)?,
        scopes: r.try_get(1)?,
        status: r.try_get(2)?,
        expired: r.try_get(3)?,
    }))
}

/// Approves (`approve`) or denies a pending, unexpired authorization for `user_id`, in
/// one statement: of two concurrent decisions one wins. Returns the client id, `None`
/// when the code is unknown, expired or already decided.
pub async fn decide(
    db: &impl Db,
    user_code_hash: &str,
    user_id: Uuid,
    approve: bool,
) -> Result<Option<String>, DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE hasura_auth.oauth2_device_codes d \
             SET status = CASE WHEN $3 THEN 'approved' ELSE 'denied' END, \
                 user_id = $2, auth_time = now() \
             FROM auth.oauth2_clients c \
             WHERE c.client_id = d.client_id AND d.user_code_hash = $1 \
               AND d.status = 'pending' AND d.expires_at > now() \
             RETURNING d.client_id",
        )
        .await?;
    let row = db
        .query_opt(&stmt, &[&user_code_hash, &user_id, &approve])
        .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// A device code as the token endpoint first reads it.
pub struct DeviceGrant {
    pub id: Uuid,
    pub client_id: String,
    pub expired: bool,
}

/// The device code with this hash, expired or not.
pub async fn find_by_device_code(
    db: &impl Db,
    device_code_hash: &str,
) -> Result<Option<DeviceGrant>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT d.id, d.client_id, d.expires_at <= now() \
             FROM hasura_auth.oauth2_device_codes d \
             JOIN auth.oauth2_clients c ON c.client_id = d.client_id \
             WHERE d.device_code_hash = $1",
        )
        .await?;
    let Some(r) = db.query_opt(&stmt, &[&device_code_hash]).await? else {
        return Ok(None);
    };
    Ok(Some(DeviceGrant {
        id: r.try_get(0)?,
        client_id: r.try_get(1)?,
        expired: r.try_get(2)?,
    }))
}

/// The state of a device code after a poll.
pub struct Poll {
    /// `pending`, `approved` or `denied`.
    pub status: String,
    /// The poll came sooner than the interval after the previous one (pending codes
    /// only); the interval has then grown by `slow_down_secs`.
    pub too_fast: bool,
    pub user_id: Option<Uuid>,
    pub scopes: Vec<String>,
    pub auth_time: Option<DateTime<Utc>>,
}

/// Records a poll of an unexpired code, in one statement (the row is locked, so
/// concurrent polls are ordered): a pending code polled sooner than its interval after
/// the previous poll gets its interval raised by `slow_down_secs` (RFC 8628 §3.5).
/// `None` when the code is gone or expired.
pub async fn poll(db: &impl Db, id: Uuid, slow_down_secs: i32) -> Result<Option<Poll>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH old AS ( \
               SELECT id, status, last_polled_at IS NOT NULL AND status = 'pending' \
                 AND clock_timestamp() < last_polled_at + make_interval(secs => interval_secs) \
                 AS too_fast \
               FROM hasura_auth.oauth2_device_codes \
               WHERE id = $1 AND expires_at > now() FOR UPDATE) \
             UPDATE hasura_auth.oauth2_device_codes d \
             SET last_polled_at = clock_timestamp(), \
                 interval_secs = d.interval_secs + CASE WHEN old.too_fast THEN $2 ELSE 0 END \
             FROM old WHERE d.id = old.id \
             RETURNING d.status, old.too_fast, d.user_id, d.scopes, d.auth_time",
        )
        .await?;
    let Some(r) = db.query_opt(&stmt, &[&id, &slow_down_secs]).await? else {
        return Ok(None);
    };
    Ok(Some(Poll {
        status: r.try_get(0)?,
        too_fast: r.try_get(1)?,
        user_id: r.try_get(2)?,
        scopes: r.try_get(3)?,
        auth_time: r.try_get(4)?,
    }))
}

/// A user with their roles (the Hasura claims of the tokens).
pub async fn user_with_roles(
    db: &impl Db,
    user_id: Uuid,
) -> Result<Option<(UserRow, Vec<String>)>, DbError> {
    let sql = format!(
        "SELECT ARRAY(SELECT ur.role FROM auth.user_roles ur WHERE ur.user_id = u.id), \
           {USER_COLUMNS} FROM auth.users u WHERE u.id = $1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db.query_opt(&stmt, &[&user_id]).await? else {
        return Ok(None);
    };
    Ok(Some((UserRow::from_row(&row, 1)?, row.try_get(0)?)))
}

/// Consumes an approved, unexpired device code and inserts the refresh token of its
/// grant, in one statement: the losing `DELETE` of concurrent polls finds no row, so a
/// device code yields tokens once. `None` when the code is gone.
pub async fn consume(
    db: &impl Db,
    id: Uuid,
    refresh_hash: &str,
    refresh_ttl_secs: i64,
) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH d AS (DELETE FROM hasura_auth.oauth2_device_codes \
               WHERE id = $1 AND status = 'approved' AND expires_at > now() \
               RETURNING client_id, user_id, scopes) \
             INSERT INTO auth.oauth2_refresh_tokens \
               (token_hash, auth_request_id, client_id, user_id, scopes, expires_at) \
             SELECT $2, NULL, d.client_id, d.user_id, d.scopes, \
               now() + make_interval(secs => $3::bigint) \
             FROM d WHERE d.user_id IS NOT NULL \
             RETURNING id",
        )
        .await?;
    let row = db
        .query_opt(&stmt, &[&id, &refresh_hash, &refresh_ttl_secs])
        .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// Deletes up to `batch` expired device codes (the provider's occasional clean-up).
pub async fn delete_expired(db: &impl Db, batch: i64) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.oauth2_device_codes WHERE id IN \
               (SELECT id FROM hasura_auth.oauth2_device_codes \
                WHERE expires_at <= now() LIMIT $1)",
        )
        .await?;
    Ok(db.execute(&stmt, &[&batch]).await?)
}
