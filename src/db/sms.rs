//! SQL of passwordless SMS: users found by phone number, and their one-time code.
//!
//! The code is kept as upstream keeps it, `otp_hash = crypt(code, gen_salt('bf'))` with
//! `otp_hash_expires_at` and `otp_method_last_used = 'sms'`, so codes sent by either
//! implementation can be checked by the other.

use super::Db;
use uuid::Uuid;

use super::DbError;
use super::users::{USER_COLUMNS, UserRow};

/// The user whose phone number is one of `forms` (the normalised form wins).
pub async fn find_by_phone(db: &impl Db, forms: &[String]) -> Result<Option<UserRow>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM auth.users u WHERE u.phone_number = ANY($1::text[]) \
         ORDER BY u.phone_number = ($1::text[])[1] DESC LIMIT 1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&forms]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// Stores a new code (replacing any pending one) and forgets earlier wrong attempts.
/// `code = None` keeps no code here (the provider checks it).
pub async fn set_code(
    db: &impl Db,
    user_id: Uuid,
    code: Option<&str>,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH f AS (DELETE FROM hasura_auth.sms_otp_failures WHERE user_id = $1) \
             UPDATE auth.users SET \
               otp_hash = CASE WHEN $2::text IS NULL THEN NULL ELSE public.crypt($2::text, public.gen_salt('bf')) END, \
               otp_hash_expires_at = now() + make_interval(secs => $3::bigint), \
               otp_method_last_used = 'sms' \
             WHERE id = $1",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &code, &ttl_secs]).await?;
    Ok(())
}

/// Voids `code` if it is still the user's pending one (its SMS could not be sent).
pub async fn void_code(db: &impl Db, user_id: Uuid, code: &str) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET otp_hash = NULL, otp_hash_expires_at = now() \
             WHERE id = $1 AND otp_hash = public.crypt($2::text, otp_hash)",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &code]).await?;
    Ok(())
}

/// Consumes a valid, unexpired code for one of the phone `forms`: the code is voided,
/// the phone marked verified, and the user returned as updated. `None` when the code is
/// wrong, expired, already used, or voided by too many failures.
pub async fn consume_code(
    db: &impl Db,
    forms: &[String],
    code: &str,
    max_failures: i32,
) -> Result<Option<UserRow>, DbError> {
    let sql = format!(
        "WITH t AS ( \
           SELECT c.id FROM auth.users c \
           WHERE c.phone_number = ANY($1::text[]) AND c.otp_method_last_used = 'sms' \
             AND c.otp_hash_expires_at > now() AND c.otp_hash = public.crypt($2::text, c.otp_hash) \
             AND COALESCE((SELECT f.failures FROM hasura_auth.sms_otp_failures f WHERE f.user_id = c.id), 0) < $3 \
           LIMIT 1 FOR UPDATE), \
         d AS (DELETE FROM hasura_auth.sms_otp_failures f USING t WHERE f.user_id = t.id) \
         UPDATE auth.users u SET otp_hash = NULL, otp_hash_expires_at = now(), phone_number_verified = true \
         FROM t WHERE u.id = t.id AND u.otp_hash IS NOT NULL RETURNING {USER_COLUMNS}"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&forms, &code, &max_failures]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// Counts a wrong code against the pending code of one of the phone `forms`; at
/// `max_failures` the code is voided.
pub async fn record_failure(
    db: &impl Db,
    forms: &[String],
    max_failures: i32,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH t AS ( \
               SELECT c.id FROM auth.users c \
               WHERE c.phone_number = ANY($1::text[]) AND c.otp_method_last_used = 'sms' \
                 AND c.otp_hash IS NOT NULL AND c.otp_hash_expires_at > now() LIMIT 1), \
             f AS (INSERT INTO hasura_auth.sms_otp_failures (user_id, failures) SELECT id, 1 FROM t \
               ON CONFLICT (user_id) DO UPDATE SET failures = hasura_auth.sms_otp_failures.failures + 1 \
               RETURNING user_id, failures) \
             UPDATE auth.users u SET otp_hash = NULL, otp_hash_expires_at = now() \
             FROM f WHERE u.id = f.user_id AND f.failures >= $2",
        )
        .await?;
    db.execute(&stmt, &[&forms, &max_failures]).await?;
    Ok(())
}

/// The phone number was proven by the provider (Twilio Verify).
pub async fn mark_phone_verified(db: &impl Db, user_id: Uuid) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET phone_number_verified = true WHERE id = $1 AND NOT phone_number_verified",
        )
        .await?;
    db.execute(&stmt, &[&user_id]).await?;
    Ok(())
}
