//! SQL on `hasura_auth.account_lockouts`: failed attempts per account and the temporary
//! lock they lead to (per-account brute-force protection).

use super::Db;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::DbError;

/// The state of an account with recent failures.
pub struct LockState {
    /// Set while the account is locked (in the future).
    pub locked_until: Option<DateTime<Utc>>,
}

/// The account's state, `None` when it has no recent failure (no row).
pub async fn state(db: &impl Db, user_id: Uuid) -> Result<Option<LockState>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT CASE WHEN locked_until > now() THEN locked_until END \
             FROM hasura_auth.account_lockouts WHERE user_id = $1",
        )
        .await?;
    let row = db.query_opt(&stmt, &[&user_id]).await?;
    row.map(|r| {
        Ok(LockState {
            locked_until: r.try_get(0)?,
        })
    })
    .transpose()
}

/// What a failure did.
pub struct Failure {
    /// The account has just been locked, until then.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Counts one failed attempt, in one statement. Failures older than `reset_secs` are
/// forgotten (the count starts again); the `max_failures`-th failure locks the account
/// for `base_secs * 2^n` (n: the locks before this one that ended less than `reset_secs`
/// ago), never longer than `cap_secs`, and starts the count again.
pub async fn record_failure(
    db: &impl Db,
    user_id: Uuid,
    max_failures: i32,
    base_secs: f64,
    cap_secs: f64,
    reset_secs: f64,
) -> Result<Failure, DbError> {
    // In ON CONFLICT DO UPDATE every `l.` is the row before the update, so the three
    // expressions below see the same count.
    let stmt = db
        .prepare_cached(
            "INSERT INTO hasura_auth.account_lockouts AS l \
               (user_id, failures, last_failure_at, locked_until, lock_count) \
             VALUES ($1, CASE WHEN 1 >= $2::int4 THEN 0 ELSE 1 END, now(), \
               CASE WHEN 1 >= $2::int4 THEN now() + make_interval(secs => LEAST($3::float8, $4::float8)) END, \
               CASE WHEN 1 >= $2::int4 THEN 1 ELSE 0 END) \
             ON CONFLICT (user_id) DO UPDATE SET \
               failures = CASE WHEN (CASE WHEN l.last_failure_at < now() - make_interval(secs => $5::float8) \
                   THEN 1 ELSE l.failures + 1 END) >= $2::int4 THEN 0 \
                 ELSE (CASE WHEN l.last_failure_at < now() - make_interval(secs => $5::float8) \
                   THEN 1 ELSE l.failures + 1 END) END, \
               locked_until = CASE WHEN (CASE WHEN l.last_failure_at < now() - make_interval(secs => $5::float8) \
                   THEN 1 ELSE l.failures + 1 END) >= $2::int4 \
                 THEN now() + make_interval(secs => LEAST($4::float8, $3::float8 * power(2, LEAST( \
                   CASE WHEN l.locked_until IS NULL OR l.locked_until < now() - make_interval(secs => $5::float8) \
                     THEN 0 ELSE l.lock_count END, 30)))) \
                 ELSE l.locked_until END, \
               lock_count = CASE WHEN l.locked_until IS NULL OR l.locked_until < now() - make_interval(secs => $5::float8) \
                   THEN 0 ELSE l.lock_count END \
                 + CASE WHEN (CASE WHEN l.last_failure_at < now() - make_interval(secs => $5::float8) \
                   THEN 1 ELSE l.failures + 1 END) >= $2::int4 THEN 1 ELSE 0 END, \
               last_failure_at = now() \
             RETURNING CASE WHEN failures = 0 AND locked_until > now() THEN locked_until END",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[&user_id, &max_failures, &base_secs, &cap_secs, &reset_secs],
        )
        .await?;
    Ok(Failure {
        locked_until: row.try_get(0)?,
    })
}

/// Forgets the account's failures and lifts its lock (a successful sign-in, a password
/// change or reset). Returns whether the account was locked.
pub async fn clear(db: &impl Db, user_id: Uuid) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.account_lockouts WHERE user_id = $1 \
             RETURNING locked_until IS NOT NULL AND locked_until > now()",
        )
        .await?;
    let row = db.query_opt(&stmt, &[&user_id]).await?;
    Ok(match row {
        Some(r) => r.try_get(0)?,
        None => false,
    })
}
