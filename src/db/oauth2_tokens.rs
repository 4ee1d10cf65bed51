//! SQL of the OAuth2 provider's token side (`/oauth2/token`, `/oauth2/introspect`,
//! `/oauth2/revoke`, the clean-up): authorization codes are exchanged and OAuth2 refresh
//! tokens rotated here. Codes and refresh tokens are stored as the hex SHA-256 of the
//! value the client holds (never the value itself).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::users::{USER_COLUMNS, UserRow};
use super::{Db, DbError};

/// An unexpired authorization code with its authorization request (and, once the
/// request is completed, its user and the user's roles).
pub struct CodeGrant {
    pub code_id: Uuid,
    pub auth_request_id: Uuid,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub done: bool,
    pub auth_time: Option<DateTime<Utc>>,
    /// `None` until the request is completed (`POST /oauth2/login`).
    pub user: Option<(UserRow, Vec<String>)>,
}

/// Finds an unexpired code by its hash.
pub async fn find_code(db: &impl Db, code_hash: &str) -> Result<Option<CodeGrant>, DbError> {
    let sql = format!(
        "SELECT c.id, r.id, r.client_id, r.scopes, r.redirect_uri, r.nonce, r.code_challenge, \
           r.code_challenge_method, r.done, r.auth_time, r.user_id, \
           ARRAY(SELECT ur.role FROM auth.user_roles ur WHERE ur.user_id = r.user_id), \
           {USER_COLUMNS} \
         FROM auth.oauth2_authorization_codes c \
         JOIN auth.oauth2_auth_requests r ON r.id = c.auth_request_id \
         LEFT JOIN auth.users u ON u.id = r.user_id \
         WHERE c.code_hash = $1 AND c.expires_at > now()"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db.query_opt(&stmt, &[&code_hash]).await? else {
        return Ok(None);
    };
    // The user's columns are NULL (left join) until the request is completed.
    let user = match row.try_get::<_, Option<Uuid>>(10)? {
        Some(_) => Some((UserRow::from_row(&row, 12)?, row.try_get(11)?)),
        None => None,
    };
    Ok(Some(CodeGrant {
        code_id: row.try_get(0)?,
        auth_request_id: row.try_get(1)?,
        client_id: row.try_get(2)?,
        scopes: row.try_get(3)?,
        redirect_uri: row.try_get(4)?,
        nonce: row.try_get(5)?,
        code_challenge: row.try_get(6)?,
        code_challenge_method: row.try_get(7)?,
        done: row.try_get(8)?,
        auth_time: row.try_get(9)?,
        user,
    }))
}

/// Consumes a code and inserts the refresh token of its grant, in one statement: the
/// token is bound to the request's client, user and scopes. `None` when the code is gone
/// (used by a concurrent exchange, or expired since it was read): a second use of a
/// code never yields a second token, since the losing `DELETE` finds no row.
pub async fn consume_code(
    db: &impl Db,
    code_id: Uuid,
    refresh_hash: &str,
    ttl_secs: i64,
) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH c AS (DELETE FROM auth.oauth2_authorization_codes \
               WHERE id = $1 AND expires_at > now() RETURNING auth_request_id) \
             INSERT INTO auth.oauth2_refresh_tokens \
               (token_hash, auth_request_id, client_id, user_id, scopes, expires_at) \
             SELECT $2, r.id, r.client_id, r.user_id, r.scopes, \
               now() + make_interval(secs => $3::bigint) \
             FROM c JOIN auth.oauth2_auth_requests r ON r.id = c.auth_request_id \
             WHERE r.done AND r.user_id IS NOT NULL \
             RETURNING id",
        )
        .await?;
    let row = db
        .query_opt(&stmt, &[&code_id, &refresh_hash, &ttl_secs])
        .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// A live OAuth2 refresh token with its user, the user's roles and the authentication
/// time of the authorization that started it.
pub struct RefreshGrant {
    pub token_id: Uuid,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub auth_time: Option<DateTime<Utc>>,
    pub user: UserRow,
    pub roles: Vec<String>,
}

/// Finds an unexpired OAuth2 refresh token by its hash.
pub async fn find_refresh(db: &impl Db, token_hash: &str) -> Result<Option<RefreshGrant>, DbError> {
    let sql = format!(
        "SELECT t.id, t.client_id, t.scopes, r.auth_time, \
           ARRAY(SELECT ur.role FROM auth.user_roles ur WHERE ur.user_id = t.user_id), \
           {USER_COLUMNS} \
         FROM auth.oauth2_refresh_tokens t \
         JOIN auth.users u ON u.id = t.user_id \
         LEFT JOIN auth.oauth2_auth_requests r ON r.id = t.auth_request_id \
         WHERE t.token_hash = $1 AND t.expires_at > now()"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db.query_opt(&stmt, &[&token_hash]).await? else {
        return Ok(None);
    };
    Ok(Some(RefreshGrant {
        token_id: row.try_get(0)?,
        client_id: row.try_get(1)?,
        scopes: row.try_get(2)?,
        auth_time: row.try_get(3)?,
        roles: row.try_get(4)?,
        user: UserRow::from_row(&row, 5)?,
    }))
}

/// Rotates a refresh token in place: the row keeps its id, client, user and scopes and
/// gets a new hash and a new expiry. False when the presented hash is no longer the
/// row's (a concurrent rotation won) or the token expired meanwhile.
pub async fn rotate_refresh(
    db: &impl Db,
    token_id: Uuid,
    old_hash: &str,
    new_hash: &str,
    ttl_secs: i64,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.oauth2_refresh_tokens \
             SET token_hash = $3, expires_at = now() + make_interval(secs => $4::bigint) \
             WHERE id = $1 AND token_hash = $2 AND expires_at > now()",
        )
        .await?;
    let n = db
        .execute(&stmt, &[&token_id, &old_hash, &new_hash, &ttl_secs])
        .await?;
    Ok(n == 1)
}

/// What introspection tells about a live refresh token.
pub struct RefreshSummary {
    pub client_id: String,
    pub user_id: Uuid,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live refresh token of the given client, by hash.
pub async fn find_refresh_of_client(
    db: &impl Db,
    token_hash: &str,
    client_id: &str,
) -> Result<Option<RefreshSummary>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT client_id, user_id, scopes, created_at, expires_at \
             FROM auth.oauth2_refresh_tokens \
             WHERE token_hash = $1 AND client_id = $2 AND expires_at > now()",
        )
        .await?;
    let Some(row) = db.query_opt(&stmt, &[&token_hash, &client_id]).await? else {
        return Ok(None);
    };
    Ok(Some(RefreshSummary {
        client_id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        scopes: row.try_get(2)?,
        created_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
    }))
}

/// Deletes a refresh token of the given client (revocation); its user when there was one.
pub async fn delete_refresh_of_client(
    db: &impl Db,
    token_hash: &str,
    client_id: &str,
) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM auth.oauth2_refresh_tokens \
             WHERE token_hash = $1 AND client_id = $2 RETURNING user_id",
        )
        .await?;
    let row = db.query_opt(&stmt, &[&token_hash, &client_id]).await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// The house-keeping after token calls: deletes up to `batch` expired rows of each kind,
/// in three statements. Expired authorization requests are kept while a live code or
/// a live refresh token still refers to them: the request holds the authentication time
/// the ID tokens of later refreshes carry, and deleting it would delete a live code with
/// it (a code may outlive its request by a few minutes). Returns how many rows went.
pub async fn delete_expired(db: &impl Db, batch: i64) -> Result<u64, DbError> {
    let codes = db
        .prepare_cached(
            "DELETE FROM auth.oauth2_authorization_codes WHERE id IN \
               (SELECT id FROM auth.oauth2_authorization_codes \
                WHERE expires_at <= now() LIMIT $1)",
        )
        .await?;
    let tokens = db
        .prepare_cached(
            "DELETE FROM auth.oauth2_refresh_tokens WHERE id IN \
               (SELECT id FROM auth.oauth2_refresh_tokens \
                WHERE expires_at <= now() LIMIT $1)",
        )
        .await?;
    let requests = db
        .prepare_cached(
            "DELETE FROM auth.oauth2_auth_requests WHERE id IN \
               (SELECT q.id FROM auth.oauth2_auth_requests q \
                WHERE q.expires_at <= now() \
                  AND NOT EXISTS (SELECT 1 FROM auth.oauth2_authorization_codes c \
                                  WHERE c.auth_request_id = q.id AND c.expires_at > now()) \
                  AND NOT EXISTS (SELECT 1 FROM auth.oauth2_refresh_tokens t \
                                  WHERE t.auth_request_id = q.id AND t.expires_at > now()) \
                LIMIT $1)",
        )
        .await?;
    let mut deleted = db.execute(&codes, &[&batch]).await?;
    deleted += db.execute(&tokens, &[&batch]).await?;
    deleted += db.execute(&requests, &[&batch]).await?;
    Ok(deleted)
}
