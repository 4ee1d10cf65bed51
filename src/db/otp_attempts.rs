//! SQL of the wrong-guess counter of a user's one-time code in `auth.users.otp_hash`
//! (SMS sign-in now, phone-number change later: any `otp_method_last_used`).
//!
//! Nhost Auth 0.51+ counts wrong guesses in `auth.users.otp_attempts` (migration 23):
//! reset when a code is issued, and the guess that reaches the limit burns the code
//! (`otp_hash` NULL, expiry now). On a schema below 23 the same count lives in
//! `hasura_auth.sms_otp_failures`, so the limit holds whatever the level. Every
//! increment is one atomic statement: concurrent guesses cannot exceed the limit.

use super::Db;
use uuid::Uuid;

use super::DbError;
use super::schema_level::SchemaLevel;

/// Where the counter of a schema level lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCounter {
    /// `auth.users.otp_attempts` (schema 23 and later), as Nhost Auth 0.52 keeps it.
    Users,
    /// `hasura_auth.sms_otp_failures` (schema below 23).
    Internal,
}

impl OtpCounter {
    pub fn for_level(level: SchemaLevel) -> OtpCounter {
        if level.has_otp_attempts() {
            OtpCounter::Users
        } else {
            OtpCounter::Internal
        }
    }

    /// SQL true when the counter of the user row `alias` is below the integer `limit`
    /// (for the statement that consumes a right code).
    pub fn below_limit_sql(self, alias: &str, limit: &str) -> String {
        match self {
            OtpCounter::Users => format!("{alias}.otp_attempts < {limit}"),
            OtpCounter::Internal => format!(
                "COALESCE((SELECT f.failures FROM hasura_auth.sms_otp_failures f \
                 WHERE f.user_id = {alias}.id), 0) < {limit}"
            ),
        }
    }
}

/// Starts a new count for the user: call when a new code is issued.
pub async fn reset(db: &impl Db, counter: OtpCounter, user_id: Uuid) -> Result<(), DbError> {
    let sql = match counter {
        OtpCounter::Users => {
            "UPDATE auth.users SET otp_attempts = 0 WHERE id = $1 AND otp_attempts <> 0"
        }
        OtpCounter::Internal => "DELETE FROM hasura_auth.sms_otp_failures WHERE user_id = $1",
    };
    let stmt = db.prepare_cached(sql).await?;
    db.execute(&stmt, &[&user_id]).await?;
    Ok(())
}

/// Counts one wrong guess against the user's live code of `method` and burns the code
/// when the count reaches `limit`. Returns the count after this guess (unchanged when no
/// code is live: a burned code keeps its count until the next one is issued), or `None`
/// when the user's last code is not of `method`.
pub async fn record_wrong_guess(
    db: &impl Db,
    counter: OtpCounter,
    user_id: Uuid,
    method: &str,
    limit: i32,
) -> Result<Option<i32>, DbError> {
    let sql = match counter {
        // The SET expressions all read the row as it was before this statement, and
        // the row lock makes a concurrent guess re-read it after this one.
        OtpCounter::Users => {
            "UPDATE auth.users SET \
               otp_attempts = CASE WHEN otp_hash IS NOT NULL AND otp_hash_expires_at > now() \
                 THEN otp_attempts + 1 ELSE otp_attempts END, \
               otp_hash = CASE WHEN otp_hash_expires_at > now() AND otp_attempts + 1 >= $3::int \
                 THEN NULL ELSE otp_hash END, \
               otp_hash_expires_at = CASE WHEN otp_hash IS NOT NULL AND otp_hash_expires_at > now() \
                 AND otp_attempts + 1 >= $3::int THEN now() ELSE otp_hash_expires_at END \
             WHERE id = $1 AND otp_method_last_used = $2 \
             RETURNING otp_attempts::int"
        }
        OtpCounter::Internal => {
            "WITH t AS ( \
               SELECT id, (otp_hash IS NOT NULL AND otp_hash_expires_at > now()) AS live \
               FROM auth.users WHERE id = $1 AND otp_method_last_used = $2 FOR UPDATE), \
             f AS (INSERT INTO hasura_auth.sms_otp_failures (user_id, failures) \
               SELECT id, 1 FROM t WHERE live \
               ON CONFLICT (user_id) DO UPDATE SET failures = hasura_auth.sms_otp_failures.failures + 1 \
               RETURNING user_id, failures), \
             b AS (UPDATE auth.users u SET otp_hash = NULL, otp_hash_expires_at = now() \
               FROM f WHERE u.id = f.user_id AND f.failures >= $3::int) \
             SELECT COALESCE((SELECT failures FROM f), \
               (SELECT x.failures FROM hasura_auth.sms_otp_failures x JOIN t ON x.user_id = t.id), 0) \
             FROM t"
        }
    };
    let stmt = db.prepare_cached(sql).await?;
    let row = db.query_opt(&stmt, &[&user_id, &method, &limit]).await?;
    Ok(row.map(|r| r.try_get::<_, i32>(0)).transpose()?)
}
