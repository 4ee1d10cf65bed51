//! SQL on `hasura_auth.email_otps`: one pending email sign-in code per user, stored as a
//! bcrypt hash, with an expiry and an attempt counter.

use super::Db;
use uuid::Uuid;

use super::DbError;

/// Stores a new code for the user, replacing any pending one (and its attempt count).
pub async fn replace(
    db: &impl Db,
    user_id: Uuid,
    code_hash: &str,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO hasura_auth.email_otps (user_id, code_hash, expires_at, attempts) \
             VALUES ($1, $2, now() + make_interval(secs => $3::bigint), 0) \
             ON CONFLICT (user_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, \
               expires_at = EXCLUDED.expires_at, attempts = 0, created_at = now()",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &code_hash, &ttl_secs])
        .await?;
    Ok(())
}

/// One guess at a user's email code, counted before comparing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// No live code (none sent, expired, or consumed).
    NoCode,
    /// The code was burned by earlier wrong guesses (until a new one is sent).
    Burned,
    /// Compare with this hash; `attempts` counts this guess.
    Check { code_hash: String, attempts: i32 },
}

/// Counts one attempt against the user's live code and returns its hash. Counting before
/// comparing keeps the bound exact under concurrent guesses.
pub async fn take_attempt(
    db: &impl Db,
    user_id: Uuid,
    max_attempts: i32,
) -> Result<Attempt, DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE hasura_auth.email_otps SET attempts = attempts + 1 \
             WHERE user_id = $1 AND expires_at > now() AND attempts < $2 \
             RETURNING code_hash, attempts",
        )
        .await?;
    if let Some(row) = db.query_opt(&stmt, &[&user_id, &max_attempts]).await? {
        return Ok(Attempt::Check {
            code_hash: row.try_get(0)?,
            attempts: row.try_get(1)?,
        });
    }
    // A burned code stays burned, expired or not, until the next one replaces it.
    let stmt = db
        .prepare_cached(
            "SELECT 1 FROM hasura_auth.email_otps WHERE user_id = $1 AND attempts >= $2",
        )
        .await?;
    Ok(
        match db.query_opt(&stmt, &[&user_id, &max_attempts]).await? {
            Some(_) => Attempt::Burned,
            None => Attempt::NoCode,
        },
    )
}

/// Consumes the code whose hash was matched; false when another request consumed or
/// replaced it first.
pub async fn consume(db: &impl Db, user_id: Uuid, code_hash: &str) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.email_otps \
             WHERE user_id = $1 AND code_hash = $2 AND expires_at > now()",
        )
        .await?;
    Ok(db.execute(&stmt, &[&user_id, &code_hash]).await? == 1)
}
