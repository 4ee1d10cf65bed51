//! SQL on `auth.users` / `auth.user_roles` for the email workflows: password change,
//! email change and deanonymisation.

use super::Db;
use serde_json::Value;
use uuid::Uuid;

use super::{DbError, classify};
use crate::domain::Email;

/// Whether some user has this email (case-insensitively, as the citext column compares).
pub async fn email_exists(db: &impl Db, email: &Email) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM auth.users WHERE email = $1::text::public.citext)",
        )
        .await?;
    Ok(db.query_one(&stmt, &[&email.as_str()]).await?.try_get(0)?)
}

/// Sets a new password, sessions untouched (the operator's `users set-password`).
pub async fn set_password_hash(
    db: &impl Db,
    user_id: Uuid,
    password_hash: &str,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("UPDATE auth.users SET password_hash = $2 WHERE id = $1")
        .await?;
    db.execute(&stmt, &[&user_id, &password_hash]).await?;
    Ok(())
}

/// Sets a new password and, in the same statement, revokes the user's sessions as Nhost
/// Auth 0.50.1 does (`UpdateUserChangePassword`): every regular refresh token, and every
/// OAuth2 refresh token when the schema has that table (`oauth2`); personal access
/// tokens are kept.
pub async fn change_password_revoking_sessions(
    db: &impl Db,
    user_id: Uuid,
    password_hash: &str,
    oauth2: bool,
) -> Result<(), DbError> {
    let sql = if oauth2 {
        "WITH u AS (UPDATE auth.users SET password_hash = $2 WHERE id = $1 RETURNING id), \
         r AS (DELETE FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular'), \
         o AS (DELETE FROM auth.oauth2_refresh_tokens WHERE user_id = $1) \
         SELECT count(*) FROM u"
    } else {
        "WITH u AS (UPDATE auth.users SET password_hash = $2 WHERE id = $1 RETURNING id), \
         r AS (DELETE FROM auth.refresh_tokens WHERE user_id = $1 AND type = 'regular') \
         SELECT count(*) FROM u"
    };
    let stmt = db.prepare_cached(sql).await?;
    db.query_one(&stmt, &[&user_id, &password_hash]).await?;
    Ok(())
}

/// Records a pending email change and its confirmation ticket. The current email and
/// its verification state are left alone (upstream marked it verified here).
pub async fn request_email_change(
    db: &impl Db,
    user_id: Uuid,
    new_email: &str,
    ticket: &str,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET new_email = $2::text::auth.email, ticket = $3, \
               ticket_expires_at = now() + make_interval(secs => $4::bigint) \
             WHERE id = $1",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &new_email, &ticket, &ttl_secs])
        .await?;
    Ok(())
}

/// What an anonymous user becomes.
pub struct Deanonymized<'a> {
    pub user_id: Uuid,
    pub email: &'a str,
    /// `None` for passwordless sign-in.
    pub password_hash: Option<&'a str>,
    pub default_role: &'a str,
    pub display_name: &'a str,
    pub locale: &'a str,
    /// `None` stores SQL NULL (upstream's value when no metadata is given).
    pub metadata: Option<&'a Value>,
    /// Stored ticket and its lifetime in seconds.
    pub ticket: Option<(&'a str, i64)>,
    pub roles: &'a [String],
}

/// Turns an anonymous user into a regular one and replaces its roles. Returns false
/// (changing nothing) when the user is not, or no longer, anonymous. Run it inside a
/// transaction: it is three statements.
pub async fn deanonymize(db: &impl Db, d: &Deanonymized<'_>) -> Result<bool, DbError> {
    let (ticket, ttl) = match d.ticket {
        Some((t, ttl)) => (Some(t), ttl),
        None => (None, 0),
    };
    let update = db
        .prepare_cached(
            "UPDATE auth.users SET is_anonymous = false, email = $2::text::auth.email, \
               password_hash = $3, default_role = $4, display_name = $5, locale = $6, \
               metadata = $7, ticket = $8, \
               ticket_expires_at = now() + make_interval(secs => $9::bigint) \
             WHERE id = $1 AND is_anonymous",
        )
        .await?;
    let updated = db
        .execute(
            &update,
            &[
                &d.user_id,
                &d.email,
                &d.password_hash,
                &d.default_role,
                &d.display_name,
                &d.locale,
                &d.metadata,
                &ticket,
                &ttl,
            ],
        )
        .await
        .map_err(classify)?;
    if updated != 1 {
        return Ok(false);
    }
    let delete = db
        .prepare_cached("DELETE FROM auth.user_roles WHERE user_id = $1")
        .await?;
    db.execute(&delete, &[&d.user_id]).await?;
    let insert = db
        .prepare_cached("INSERT INTO auth.user_roles (user_id, role) SELECT $1, unnest($2::text[])")
        .await?;
    db.execute(&insert, &[&d.user_id, &d.roles]).await?;
    Ok(true)
}
