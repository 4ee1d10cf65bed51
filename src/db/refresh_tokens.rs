//! SQL on `auth.refresh_tokens`: sessions are rows whose only token material is a hash.

use super::Db;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::DbError;
use super::users::{USER_COLUMN_COUNT, USER_COLUMNS, UserRow};

pub const TYPE_REGULAR: &str = "regular";
pub const TYPE_PAT: &str = "pat";

/// Opens a session for an existing user: inserts a refresh token, bumps `last_seen`
/// and reads the user's roles — one round trip.
///
/// The client's user agent and IP, when known, are recorded in
/// `hasura_auth.session_clients` by the same statement.
pub async fn create_session(
    db: &impl Db,
    user_id: Uuid,
    refresh_token_hash: &str,
    ttl_secs: i64,
    user_agent: Option<&str>,
    ip: Option<&str>,
) -> Result<(Uuid, Vec<String>), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH t AS (INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at) \
               VALUES ($1, $2, now() + make_interval(secs => $3::bigint)) RETURNING id), \
             s AS (UPDATE auth.users SET last_seen = now() WHERE id = $1), \
             c AS (INSERT INTO hasura_auth.session_clients (refresh_token_id, user_agent, ip) \
               SELECT t.id, $4::text, $5::text FROM t WHERE $4::text IS NOT NULL OR $5::text IS NOT NULL) \
             SELECT t.id, ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = $1) FROM t",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[&user_id, &refresh_token_hash, &ttl_secs, &user_agent, &ip],
        )
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
    db: &impl Db,
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
///
/// The old hash is recorded in `hasura_auth.refresh_token_rotations` (reuse detection,
/// a session's last use) by the same statement: no extra round trip.
pub async fn refresh(
    db: &impl Db,
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
         seen AS (UPDATE auth.users x SET last_seen = now() FROM rot, t WHERE x.id = t.user_id), \
         hist AS (INSERT INTO hasura_auth.refresh_token_rotations (previous_hash, refresh_token_id) \
             SELECT $1, rot.id FROM rot ON CONFLICT (previous_hash) DO NOTHING) \
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

/// A former token of a chain, presented again (reuse detection).
pub struct Rotated {
    pub token_id: Uuid,
    /// Rotated no longer ago than the reuse interval.
    pub within_interval: bool,
    /// The chain's live state; `None` when the chain has ended (signed out, revoked,
    /// expired), where there is nothing to hand out or to revoke.
    pub live: Option<LiveChain>,
}

pub struct LiveChain {
    pub current_hash: String,
    pub user: UserRow,
    pub roles: Vec<String>,
    /// The user passes the checks [`refresh`] makes.
    pub allowed: bool,
}

/// Looks a hash up among the former hashes of rotated tokens, with its chain's current
/// state — one round trip, taken only when [`refresh`] found no live token.
pub async fn find_rotated(
    db: &impl Db,
    hash: &str,
    interval_secs: f64,
    verification_required: bool,
) -> Result<Option<Rotated>, DbError> {
    let sql = format!(
        "SELECT h.refresh_token_id, h.rotated_at > now() - make_interval(secs => $2::float8), \
           t.refresh_token_hash, {USER_COLUMNS}, \
           ARRAY(SELECT ur.role FROM auth.user_roles ur WHERE ur.user_id = u.id), \
           (NOT u.disabled AND (u.email_verified OR u.is_anonymous OR u.email IS NULL OR NOT $3::bool)) \
         FROM hasura_auth.refresh_token_rotations h \
         LEFT JOIN auth.refresh_tokens t ON t.id = h.refresh_token_id \
           AND t.type = 'regular' AND t.expires_at > now() \
         LEFT JOIN auth.users u ON u.id = t.user_id \
         WHERE h.previous_hash = $1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db
        .query_opt(&stmt, &[&hash, &interval_secs, &verification_required])
        .await?
    else {
        return Ok(None);
    };
    let current_hash: Option<String> = row.try_get(2)?;
    let live = match current_hash {
        Some(current_hash) => Some(LiveChain {
            current_hash,
            user: UserRow::from_row(&row, 3)?,
            roles: row.try_get(3 + USER_COLUMN_COUNT)?,
            allowed: row.try_get(4 + USER_COLUMN_COUNT)?,
        }),
        None => None,
    };
    Ok(Some(Rotated {
        token_id: row.try_get(0)?,
        within_interval: row.try_get(1)?,
        live,
    }))
}

/// Ends a chain whose former token was replayed after the reuse interval: the session
/// row (so its current token stops working) and the chain's former hashes. Returns the
/// owner when the session was still there.
pub async fn revoke_chain(db: &impl Db, token_id: Uuid) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH d AS (DELETE FROM auth.refresh_tokens WHERE id = $1 RETURNING user_id), \
             h AS (DELETE FROM hasura_auth.refresh_token_rotations WHERE refresh_token_id = $1) \
             SELECT user_id FROM d",
        )
        .await?;
    let row = db.query_opt(&stmt, &[&token_id]).await?;
    Ok(match row {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

/// Deletes up to `limit` records of rotations older than `max_age_secs` (one refresh-token
/// lifetime: a chain idle that long has expired).
pub async fn delete_old_rotations(
    db: &impl Db,
    max_age_secs: i64,
    limit: i64,
) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.refresh_token_rotations WHERE previous_hash IN (\
               SELECT previous_hash FROM hasura_auth.refresh_token_rotations \
               WHERE rotated_at < now() - make_interval(secs => $1::bigint) \
               LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .await?;
    Ok(db.execute(&stmt, &[&max_age_secs, &limit]).await?)
}

pub async fn delete_by_hash(db: &impl Db, hash: &str) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM auth.refresh_tokens WHERE refresh_token_hash = $1 RETURNING user_id",
        )
        .await?;
    let rows = db.query(&stmt, &[&hash]).await?;
    Ok(match rows.first() {
        Some(row) => Some(row.try_get(0)?),
        None => None,
    })
}

/// Deletes every token of a user; returns how many there were.
pub async fn delete_all_for_user(db: &impl Db, user_id: Uuid) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached("DELETE FROM auth.refresh_tokens WHERE user_id = $1")
        .await?;
    Ok(db.execute(&stmt, &[&user_id]).await?)
}

/// Deletes one token of a user, by its id, with what our schema kept about it; false
/// when the user has no such token.
pub async fn delete_one_for_user(
    db: &impl Db,
    user_id: Uuid,
    token_id: Uuid,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH d AS (DELETE FROM auth.refresh_tokens WHERE id = $1 AND user_id = $2 RETURNING id), \
             c AS (DELETE FROM hasura_auth.session_clients WHERE refresh_token_id IN (SELECT id FROM d)), \
             h AS (DELETE FROM hasura_auth.refresh_token_rotations WHERE refresh_token_id IN (SELECT id FROM d)) \
             SELECT count(*) FROM d",
        )
        .await?;
    let deleted: i64 = db
        .query_one(&stmt, &[&token_id, &user_id])
        .await?
        .try_get(0)?;
    Ok(deleted == 1)
}

/// Deletes every regular session of a user but `keep` (personal access tokens stay), with
/// what our schema kept about them; returns how many went.
pub async fn delete_other_sessions(
    db: &impl Db,
    user_id: Uuid,
    keep: Uuid,
) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH d AS (DELETE FROM auth.refresh_tokens \
               WHERE user_id = $1 AND id <> $2 AND type = 'regular' RETURNING id), \
             c AS (DELETE FROM hasura_auth.session_clients WHERE refresh_token_id IN (SELECT id FROM d)), \
             h AS (DELETE FROM hasura_auth.refresh_token_rotations WHERE refresh_token_id IN (SELECT id FROM d)) \
             SELECT count(*) FROM d",
        )
        .await?;
    let deleted: i64 = db.query_one(&stmt, &[&user_id, &keep]).await?.try_get(0)?;
    Ok(u64::try_from(deleted).unwrap_or_default())
}

/// A live session or personal access token as its owner sees it: never its hash.
pub struct SessionListing {
    pub id: Uuid,
    pub token_type: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The latest rotation (refresh), if any.
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub metadata: Option<serde_json::Value>,
}

/// A user's live (unexpired) sessions and personal access tokens, newest first.
pub async fn list_live_for_user(
    db: &impl Db,
    user_id: Uuid,
) -> Result<Vec<SessionListing>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT t.id, t.type::text, t.created_at, t.expires_at, \
               (SELECT max(h.rotated_at) FROM hasura_auth.refresh_token_rotations h \
                 WHERE h.refresh_token_id = t.id), \
               c.user_agent, c.ip, t.metadata \
             FROM auth.refresh_tokens t \
             LEFT JOIN hasura_auth.session_clients c ON c.refresh_token_id = t.id \
             WHERE t.user_id = $1 AND t.expires_at > now() \
             ORDER BY t.created_at DESC, t.id",
        )
        .await?;
    db.query(&stmt, &[&user_id])
        .await?
        .iter()
        .map(|row| {
            Ok(SessionListing {
                id: row.try_get(0)?,
                token_type: row.try_get(1)?,
                created_at: row.try_get(2)?,
                expires_at: row.try_get(3)?,
                last_refreshed_at: row.try_get(4)?,
                user_agent: row.try_get(5)?,
                ip: row.try_get(6)?,
                metadata: row.try_get(7)?,
            })
        })
        .collect()
}

/// Deletes up to `limit` rows of `hasura_auth.session_clients` whose session is gone
/// (signed out, expired and swept, deleted with its user).
pub async fn delete_orphan_session_clients(db: &impl Db, limit: i64) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.session_clients WHERE refresh_token_id IN (\
               SELECT c.refresh_token_id FROM hasura_auth.session_clients c \
               WHERE NOT EXISTS (SELECT 1 FROM auth.refresh_tokens t WHERE t.id = c.refresh_token_id) \
               LIMIT $1 FOR UPDATE SKIP LOCKED)",
        )
        .await?;
    Ok(db.execute(&stmt, &[&limit]).await?)
}

/// A token as an operator sees it: never its hash.
pub struct TokenListing {
    pub id: Uuid,
    pub token_type: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub metadata: Option<serde_json::Value>,
}

/// A user's tokens (expired ones included, until something deletes them), newest first.
pub async fn list_for_user(db: &impl Db, user_id: Uuid) -> Result<Vec<TokenListing>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, type::text, created_at, expires_at, metadata FROM auth.refresh_tokens \
             WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .await?;
    db.query(&stmt, &[&user_id])
        .await?
        .iter()
        .map(|row| {
            Ok(TokenListing {
                id: row.try_get(0)?,
                token_type: row.try_get(1)?,
                created_at: row.try_get(2)?,
                expires_at: row.try_get(3)?,
                metadata: row.try_get(4)?,
            })
        })
        .collect()
}

/// Inserts a token of a given type with an absolute expiry (personal access tokens).
pub async fn insert_with_expiry(
    db: &impl Db,
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
pub async fn delete_expired(db: &impl Db, limit: i64) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM auth.refresh_tokens WHERE id IN (\
               SELECT id FROM auth.refresh_tokens WHERE expires_at < now() \
               LIMIT $1 FOR UPDATE SKIP LOCKED)",
        )
        .await?;
    Ok(db.execute(&stmt, &[&limit]).await?)
}
