//! SQL of passwordless SMS: users found by phone number, and their one-time code.
//!
//! The code is kept as upstream keeps it, `otp_hash = crypt(code, gen_salt('bf'))` with
//! `otp_hash_expires_at` and `otp_method_last_used = 'sms'`, so codes sent by either
//! implementation can be checked by the other.

use deadpool_postgres::GenericClient;
use serde_json::Value;
use uuid::Uuid;

use super::DbError;
use super::users::{USER_COLUMNS, UserRow};

/// The user whose phone number is one of `forms` (the normalised form wins).
pub async fn find_by_phone(
    db: &impl GenericClient,
    forms: &[String],
) -> Result<Option<UserRow>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM auth.users u WHERE u.phone_number = ANY($1::text[]) \
         ORDER BY u.phone_number = ($1::text[])[1] DESC LIMIT 1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&forms]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// A user created by an SMS sign-in request.
pub struct NewPhoneUser<'a> {
    pub phone_number: &'a str,
    pub display_name: &'a str,
    pub avatar_url: &'a str,
    pub locale: &'a str,
    pub default_role: &'a str,
    pub roles: &'a [String],
    pub metadata: &'a Value,
    pub disabled: bool,
    /// The code sent and its lifetime; `None` when no code is kept here.
    pub code: Option<(&'a str, i64)>,
}

/// Inserts the user and its roles. `Ok(None)` when the phone number was taken meanwhile.
pub async fn insert_user(
    db: &impl GenericClient,
    user: &NewPhoneUser<'_>,
) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH u AS ( \
               INSERT INTO auth.users (phone_number, display_name, avatar_url, locale, default_role, \
                 metadata, disabled, is_anonymous, email_verified, otp_hash, otp_hash_expires_at, \
                 otp_method_last_used) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, false, false, \
                 CASE WHEN $8::text IS NULL THEN NULL ELSE public.crypt($8::text, public.gen_salt('bf')) END, \
                 now() + make_interval(secs => $9::bigint), 'sms') \
               RETURNING id), \
             r AS (INSERT INTO auth.user_roles (user_id, role) SELECT u.id, unnest($10::text[]) FROM u) \
             SELECT id FROM u",
        )
        .await?;
    let (code, ttl) = match user.code {
        Some((c, ttl)) => (Some(c), ttl),
        None => (None, 0),
    };
    let result = db
        .query_one(
            &stmt,
            &[
                &user.phone_number,
                &user.display_name,
                &user.avatar_url,
                &user.locale,
                &user.default_role,
                &user.metadata,
                &user.disabled,
                &code,
                &ttl,
                &user.roles,
            ],
        )
        .await;
    match result {
        Ok(row) => Ok(Some(row.try_get(0)?)),
        Err(e) if is_phone_taken(&e) => Ok(None),
        Err(e) => Err(super::classify(e)),
    }
}

fn is_phone_taken(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some("users_phone_number_key")
    })
}

/// Stores a new code (replacing any pending one) and forgets earlier wrong attempts.
/// `code = None` keeps no code here (the provider checks it).
pub async fn set_code(
    db: &impl GenericClient,
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
pub async fn void_code(db: &impl GenericClient, user_id: Uuid, code: &str) -> Result<(), DbError> {
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
    db: &impl GenericClient,
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
    db: &impl GenericClient,
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
pub async fn mark_phone_verified(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET phone_number_verified = true WHERE id = $1 AND NOT phone_number_verified",
        )
        .await?;
    db.execute(&stmt, &[&user_id]).await?;
    Ok(())
}
