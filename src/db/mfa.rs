//! SQL of TOTP multi-factor authentication: the secret, the active type, and the last
//! time step accepted per user (replay protection, `hasura_auth.totp_used_steps`).

use super::Db;
use uuid::Uuid;

use super::DbError;

/// Stores a new secret. Steps used with the previous secret no longer matter.
pub async fn set_totp_secret(db: &impl Db, user_id: Uuid, secret: &str) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH s AS (DELETE FROM hasura_auth.totp_used_steps WHERE user_id = $1) \
             UPDATE auth.users SET totp_secret = $2 WHERE id = $1",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &secret]).await?;
    Ok(())
}

/// Sets `active_mfa_type` (`None` deactivates; the secret is kept, as upstream).
pub async fn set_active_mfa_type(
    db: &impl Db,
    user_id: Uuid,
    mfa_type: Option<&str>,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("UPDATE auth.users SET active_mfa_type = $2 WHERE id = $1")
        .await?;
    db.execute(&stmt, &[&user_id, &mfa_type]).await?;
    Ok(())
}

/// Records `step` as used if it is later than any step used before; false means the
/// code is a replay (or older than one already accepted).
pub async fn claim_totp_step(db: &impl Db, user_id: Uuid, step: i64) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO hasura_auth.totp_used_steps (user_id, last_step) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET last_step = EXCLUDED.last_step, updated_at = now() \
             WHERE hasura_auth.totp_used_steps.last_step < EXCLUDED.last_step \
             RETURNING 1",
        )
        .await?;
    Ok(db.query_opt(&stmt, &[&user_id, &step]).await?.is_some())
}

/// The `WHERE` test 0.52 applies to tell an encrypted `totp_secret` (hex, 64 characters
/// or more) from a plain base32 one; see `tokens::encryption`.
const ENCRYPTED: &str = "(length(totp_secret) >= 64 AND totp_secret ~ '^[0-9A-Fa-f]+$')";

/// Users whose TOTP secret is stored plain (not empty, not in the encrypted form).
pub async fn plain_totp_secrets(db: &impl Db) -> Result<Vec<(Uuid, String)>, DbError> {
    let sql = format!(
        "SELECT id, totp_secret FROM auth.users \
         WHERE totp_secret IS NOT NULL AND totp_secret <> '' AND NOT {ENCRYPTED}"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let rows = db.query(&stmt, &[]).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// One TOTP secret stored in the encrypted form, if any (the start-up key check).
pub async fn one_encrypted_totp_secret(db: &impl Db) -> Result<Option<String>, DbError> {
    let sql = format!("SELECT totp_secret FROM auth.users WHERE {ENCRYPTED} LIMIT 1");
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[]).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// Replaces the secret only if it is still `old` (compare-and-set): an instance starting
/// at the same time, or a user generating a new secret meanwhile, wins and is kept.
pub async fn replace_totp_secret(
    db: &impl Db,
    user_id: Uuid,
    old: &str,
    new: &str,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached("UPDATE auth.users SET totp_secret = $3 WHERE id = $1 AND totp_secret = $2")
        .await?;
    let n = db.execute(&stmt, &[&user_id, &old, &new]).await?;
    Ok(n == 1)
}
