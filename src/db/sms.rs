//! SQL of passwordless SMS: users found by phone number, and their one-time code.
//!
//! The code is kept as upstream keeps it, `otp_hash = crypt(code, gen_salt('bf'))` with
//! `otp_hash_expires_at` and `otp_method_last_used = 'sms'`, so codes sent by either
//! implementation can be checked by the other.

use super::Db;
use uuid::Uuid;

use super::DbError;
use super::otp_attempts::OtpCounter;
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
    counter: OtpCounter,
    user_id: Uuid,
    code: Option<&str>,
    ttl_secs: i64,
) -> Result<(), DbError> {
    // One statement: no guess can be counted between the reset and the new code.
    let (forget, reset) = match counter {
        OtpCounter::Users => ("", ", otp_attempts = 0"),
        OtpCounter::Internal => (
            "WITH f AS (DELETE FROM hasura_auth.sms_otp_failures WHERE user_id = $1) ",
            "",
        ),
    };
    let sql = format!(
        "{forget}UPDATE auth.users SET \
           otp_hash = CASE WHEN $2::text IS NULL THEN NULL ELSE public.crypt($2::text, public.gen_salt('bf')) END, \
           otp_hash_expires_at = now() + make_interval(secs => $3::bigint), \
           otp_method_last_used = 'sms'{reset} \
         WHERE id = $1"
    );
    let stmt = db.prepare_cached(&sql).await?;
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
/// the phone marked verified, the attempt count reset, and the user returned as updated.
/// `None` when the code is wrong, expired, already used, or burned by too many wrong
/// guesses (then [`super::otp_attempts::record_wrong_guess`] tells which).
pub async fn consume_code(
    db: &impl Db,
    counter: OtpCounter,
    forms: &[String],
    code: &str,
    limit: i32,
) -> Result<Option<UserRow>, DbError> {
    let (reset_users, reset_internal) = match counter {
        OtpCounter::Users => (", otp_attempts = 0", ""),
        OtpCounter::Internal => (
            "",
            "d AS (DELETE FROM hasura_auth.sms_otp_failures f USING t WHERE f.user_id = t.id) ",
        ),
    };
    let below = counter.below_limit_sql("c", "$3::int");
    let comma = if reset_internal.is_empty() { "" } else { "," };
    let sql = format!(
        "WITH t AS ( \
           SELECT c.id FROM auth.users c \
           WHERE c.phone_number = ANY($1::text[]) AND c.otp_method_last_used = 'sms' \
             AND c.otp_hash_expires_at > now() AND c.otp_hash = public.crypt($2::text, c.otp_hash) \
             AND {below} \
           LIMIT 1 FOR UPDATE){comma} \
         {reset_internal}\
         UPDATE auth.users u SET otp_hash = NULL, otp_hash_expires_at = now(), \
           phone_number_verified = true{reset_users} \
         FROM t WHERE u.id = t.id AND u.otp_hash IS NOT NULL RETURNING {USER_COLUMNS}"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&forms, &code, &limit]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// The user with a pending SMS code for one of the phone `forms`, if any (whose wrong
/// guess is counted).
pub async fn code_holder(db: &impl Db, forms: &[String]) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT c.id FROM auth.users c \
             WHERE c.phone_number = ANY($1::text[]) AND c.otp_method_last_used = 'sms' \
             ORDER BY c.phone_number = ($1::text[])[1] DESC LIMIT 1",
        )
        .await?;
    let row = db.query_opt(&stmt, &[&forms]).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
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
