//! SQL on `auth.users` and `auth.user_roles`.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{DbError, classify};

/// The columns every workflow reads. Emails are cast to text because the `auth.email`
/// domain is a citext, which the driver does not map to `String`.
pub(crate) const USER_COLUMNS: &str = "u.id, u.created_at, u.display_name, u.avatar_url, u.locale::text, \
     u.email::text, u.phone_number, u.password_hash, u.email_verified, u.phone_number_verified, \
     u.default_role, u.is_anonymous, u.disabled, u.active_mfa_type, u.metadata, u.new_email::text, \
     u.totp_secret";

/// A user as stored.
#[derive(Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub display_name: String,
    pub avatar_url: String,
    pub locale: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub password_hash: Option<String>,
    pub email_verified: bool,
    pub phone_number_verified: bool,
    pub default_role: String,
    pub is_anonymous: bool,
    pub disabled: bool,
    pub active_mfa_type: Option<String>,
    pub metadata: Option<Value>,
    pub new_email: Option<String>,
    pub totp_secret: Option<String>,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No password hash or TOTP secret in logs.
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("disabled", &self.disabled)
            .field("is_anonymous", &self.is_anonymous)
            .finish_non_exhaustive()
    }
}

impl UserRow {
    /// Reads the [`USER_COLUMNS`] starting at column `at`.
    pub(crate) fn from_row(row: &Row, at: usize) -> Result<UserRow, DbError> {
        Ok(UserRow {
            id: row.try_get(at)?,
            created_at: row.try_get(at + 1)?,
            display_name: row.try_get(at + 2)?,
            avatar_url: row.try_get(at + 3)?,
            locale: row.try_get(at + 4)?,
            email: row.try_get(at + 5)?,
            phone_number: row.try_get(at + 6)?,
            password_hash: row.try_get(at + 7)?,
            email_verified: row.try_get(at + 8)?,
            phone_number_verified: row.try_get(at + 9)?,
            default_role: row.try_get(at + 10)?,
            is_anonymous: row.try_get(at + 11)?,
            disabled: row.try_get(at + 12)?,
            active_mfa_type: row.try_get(at + 13)?,
            metadata: row.try_get(at + 14)?,
            new_email: row.try_get(at + 15)?,
            totp_secret: row.try_get(at + 16)?,
        })
    }
}

pub(crate) const USER_COLUMN_COUNT: usize = 17;

/// A user to insert, with its roles.
pub struct NewUser<'a> {
    pub id: Option<Uuid>,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub display_name: &'a str,
    pub avatar_url: &'a str,
    pub locale: &'a str,
    pub default_role: &'a str,
    pub roles: &'a [String],
    pub metadata: &'a Value,
    pub disabled: bool,
    pub is_anonymous: bool,
    pub email_verified: bool,
    /// Stored ticket and its lifetime in seconds (`None`: no ticket).
    pub ticket: Option<(&'a str, i64)>,
}

impl NewUser<'_> {
    /// Parameters `$1..$11` of every user insert (id, email, password hash, display
    /// name, avatar, locale, default role, metadata, disabled, anonymous, verified),
    /// followed by the statement's own `extra` ones.
    pub(crate) fn params_with<'a>(
        &'a self,
        extra: &[&'a (dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
        let mut params: Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &self.id,
            &self.email,
            &self.password_hash,
            &self.display_name,
            &self.avatar_url,
            &self.locale,
            &self.default_role,
            self.metadata,
            &self.disabled,
            &self.is_anonymous,
            &self.email_verified,
        ];
        params.extend_from_slice(extra);
        params
    }

    /// The row as it was just inserted, so a session can be built without reading it
    /// back. The password hash is not carried along.
    pub fn inserted_row(&self, id: Uuid, created_at: DateTime<Utc>) -> UserRow {
        UserRow {
            id,
            created_at,
            display_name: self.display_name.to_owned(),
            avatar_url: self.avatar_url.to_owned(),
            locale: self.locale.to_owned(),
            email: self.email.map(str::to_owned),
            phone_number: None,
            password_hash: None,
            email_verified: self.email_verified,
            phone_number_verified: false,
            default_role: self.default_role.to_owned(),
            is_anonymous: self.is_anonymous,
            disabled: self.disabled,
            active_mfa_type: None,
            metadata: Some(self.metadata.clone()),
            new_email: None,
            totp_secret: None,
        }
    }
}

pub async fn find_by_email(
    db: &impl GenericClient,
    email: &str,
) -> Result<Option<UserRow>, DbError> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM auth.users u WHERE u.email = $1::text::public.citext");
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&email]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

pub async fn find_by_id(db: &impl GenericClient, id: Uuid) -> Result<Option<UserRow>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM auth.users u WHERE u.id = $1");
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&id]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// A user and their `auth.user_roles` rows, in one round trip.
pub async fn find_by_id_with_roles(
    db: &impl GenericClient,
    id: Uuid,
) -> Result<Option<(UserRow, Vec<String>)>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = u.id) \
         FROM auth.users u WHERE u.id = $1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let Some(row) = db.query_opt(&stmt, &[&id]).await? else {
        return Ok(None);
    };
    let user = UserRow::from_row(&row, 0)?;
    let roles: Vec<String> = row.try_get(USER_COLUMN_COUNT)?;
    Ok(Some((user, roles)))
}

/// Inserts a user and its roles in one statement; returns the user id.
pub async fn insert(db: &impl GenericClient, user: &NewUser<'_>) -> Result<Uuid, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH u AS ( \
               INSERT INTO auth.users (id, email, password_hash, display_name, avatar_url, locale, \
                 default_role, metadata, disabled, is_anonymous, email_verified, ticket, ticket_expires_at, last_seen) \
               VALUES (COALESCE($1, gen_random_uuid()), $2::text::auth.email, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 now() + make_interval(secs => $13::bigint), NULL) \
               RETURNING id), \
             r AS (INSERT INTO auth.user_roles (user_id, role) SELECT u.id, unnest($14::text[]) FROM u) \
             SELECT id FROM u",
        )
        .await?;
    let (ticket, ticket_ttl) = match user.ticket {
        Some((t, ttl)) => (Some(t), ttl),
        None => (None, 0),
    };
    let row = db
        .query_one(
            &stmt,
            &user.params_with(&[&ticket, &ticket_ttl, &user.roles]),
        )
        .await
        .map_err(classify)?;
    Ok(row.try_get(0)?)
}

/// Inserts a user, its roles and a first refresh token in one statement.
/// Returns `(user id, refresh token row id)`.
pub async fn insert_with_refresh_token(
    db: &impl GenericClient,
    user: &NewUser<'_>,
    refresh_token_hash: &str,
    refresh_ttl_secs: i64,
) -> Result<(Uuid, Uuid, DateTime<Utc>), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH u AS ( \
               INSERT INTO auth.users (id, email, password_hash, display_name, avatar_url, locale, \
                 default_role, metadata, disabled, is_anonymous, email_verified, last_seen) \
               VALUES (COALESCE($1, gen_random_uuid()), $2::text::auth.email, $3, $4, $5, $6, $7, $8, $9, $10, $11, now()) \
               RETURNING id, created_at), \
             r AS (INSERT INTO auth.user_roles (user_id, role) SELECT u.id, unnest($12::text[]) FROM u), \
             t AS (INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at) \
               SELECT u.id, $13, now() + make_interval(secs => $14::bigint) FROM u RETURNING id) \
             SELECT u.id, t.id, u.created_at FROM u, t",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &user.params_with(&[&user.roles, &refresh_token_hash, &refresh_ttl_secs]),
        )
        .await
        .map_err(classify)?;
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

/// Consumes a one-time ticket: clears it and returns the user as it was, if the ticket
/// exists and has not expired. `candidates` are the stored forms to look for.
pub async fn consume_ticket(
    db: &impl GenericClient,
    candidates: &[&str],
) -> Result<Option<UserRow>, DbError> {
    let sql = format!(
        "WITH old AS (SELECT {USER_COLUMNS} FROM auth.users u \
           WHERE u.ticket = ANY($1::text[]) AND u.ticket_expires_at > now() FOR UPDATE), \
         upd AS (UPDATE auth.users x SET ticket = NULL, ticket_expires_at = now() \
           FROM old WHERE x.id = old.id RETURNING x.id) \
         SELECT old.* FROM old JOIN upd ON upd.id = old.id"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&candidates]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// Stores a ticket (overwriting any pending one) valid for `ttl_secs`.
pub async fn set_ticket(
    db: &impl GenericClient,
    user_id: Uuid,
    ticket: &str,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET ticket = $2, ticket_expires_at = now() + make_interval(secs => $3::bigint) WHERE id = $1",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &ticket, &ttl_secs]).await?;
    Ok(())
}

pub async fn mark_email_verified(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET email_verified = true WHERE id = $1 AND NOT email_verified",
        )
        .await?;
    db.execute(&stmt, &[&user_id]).await?;
    Ok(())
}

pub async fn upsert_roles(db: &impl GenericClient, roles: &[String]) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO auth.roles (role) SELECT unnest($1::text[]) ON CONFLICT (role) DO NOTHING",
        )
        .await?;
    db.execute(&stmt, &[&roles]).await?;
    Ok(())
}

/// Applies a confirmed email change: the pending `new_email` becomes the email, verified
/// by the very link that confirms it.
pub async fn confirm_email_change(db: &impl GenericClient, user_id: Uuid) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET email = new_email, new_email = NULL, email_verified = true \
             WHERE id = $1 AND new_email IS NOT NULL",
        )
        .await?;
    db.execute(&stmt, &[&user_id]).await.map_err(classify)?;
    Ok(())
}

/// Whether the user has registered at least one WebAuthn security key.
pub async fn has_security_key(db: &impl GenericClient, user_id: Uuid) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM auth.user_security_keys WHERE user_id = $1)")
        .await?;
    Ok(db.query_one(&stmt, &[&user_id]).await?.try_get(0)?)
}
