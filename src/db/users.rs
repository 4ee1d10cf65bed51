//! SQL on `auth.users` and `auth.user_roles`.

use super::Db;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::oauth::ProviderLink;
use super::webauthn::NewKey;
use super::{DbError, classify};
use crate::domain::{Email, PhoneNumber};

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
    pub email: Option<&'a Email>,
    pub phone_number: Option<&'a PhoneNumber>,
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
    /// An SMS code (stored as a bcrypt hash by PostgreSQL) and its lifetime in seconds.
    pub sms_code: Option<(&'a str, i64)>,
    /// Whether `last_seen` is set to now.
    pub seen: bool,
}

/// What is created together with a user, in the same statement.
#[derive(Default)]
pub struct FirstRows<'a> {
    pub provider_link: Option<&'a ProviderLink<'a>>,
    pub security_key: Option<&'a NewKey<'a>>,
    /// A first refresh token: its hash and lifetime in seconds.
    pub refresh_token: Option<(&'a str, i64)>,
    /// The client (user agent, IP) recorded with the first refresh token, in the same
    /// statement (`hasura_auth.session_clients`).
    pub session_client: (Option<&'a str>, Option<&'a str>),
}

/// What a user insert created.
pub struct InsertedUser {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub refresh_token_id: Option<Uuid>,
}

impl NewUser<'_> {
    /// The row as it was just inserted, so a session can be built without reading it
    /// back. The password hash is not carried along.
    pub fn inserted_row(&self, id: Uuid, created_at: DateTime<Utc>) -> UserRow {
        UserRow {
            id,
            created_at,
            display_name: self.display_name.to_owned(),
            avatar_url: self.avatar_url.to_owned(),
            locale: self.locale.to_owned(),
            email: self.email.map(|e| e.as_str().to_owned()),
            phone_number: self.phone_number.map(|p| p.e164().to_owned()),
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

pub async fn find_by_email(db: &impl Db, email: &Email) -> Result<Option<UserRow>, DbError> {
    let sql =
        format!("SELECT {USER_COLUMNS} FROM auth.users u WHERE u.email = $1::text::public.citext");
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&email.as_str()]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

pub async fn find_by_id(db: &impl Db, id: Uuid) -> Result<Option<UserRow>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM auth.users u WHERE u.id = $1");
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&id]).await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// A user and their `auth.user_roles` rows, in one round trip.
pub async fn find_by_id_with_roles(
    db: &impl Db,
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

/// The only statement that creates users: the user, its roles and whatever
/// [`FirstRows`] asks for (provider link, security key, first refresh token), all or
/// nothing. Unique violations come back as [`DbError::DuplicateEmail`],
/// [`DbError::DuplicatePhoneNumber`] or [`DbError::DuplicateCredential`].
pub async fn insert_user(
    db: &impl Db,
    user: &NewUser<'_>,
    first: &FirstRows<'_>,
) -> Result<InsertedUser, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH u AS ( \
               INSERT INTO auth.users (id, email, phone_number, password_hash, display_name, avatar_url, \
                 locale, default_role, metadata, disabled, is_anonymous, email_verified, ticket, \
                 ticket_expires_at, otp_hash, otp_hash_expires_at, otp_method_last_used, last_seen) \
               VALUES (COALESCE($1, gen_random_uuid()), $2::text::auth.email, $3, $4, $5, $6, $7, $8, \
                 $9, $10, $11, $12, $13, now() + make_interval(secs => $14::bigint), \
                 CASE WHEN $15::text IS NULL THEN NULL ELSE public.crypt($15::text, public.gen_salt('bf')) END, \
                 now() + make_interval(secs => $16::bigint), \
                 CASE WHEN $3::text IS NULL THEN NULL ELSE 'sms' END, \
                 CASE WHEN $17::boolean THEN now() END) \
               RETURNING id, created_at), \
             r AS (INSERT INTO auth.user_roles (user_id, role) SELECT u.id, unnest($18::text[]) FROM u), \
             p AS (INSERT INTO auth.user_providers (user_id, provider_id, provider_user_id, access_token, refresh_token) \
               SELECT u.id, $19::text, $20::text, $21::text, $22::text FROM u WHERE $19::text IS NOT NULL), \
             k AS (INSERT INTO auth.user_security_keys \
               (user_id, credential_id, credential_public_key, counter, transports, nickname) \
               SELECT u.id, $23::text, $24::bytea, $25::bigint, $26::text, $27::text FROM u \
               WHERE $23::text IS NOT NULL \
               RETURNING credential_id), \
             f AS (INSERT INTO hasura_auth.webauthn_credentials \
               (credential_id, user_verified, backup_eligible, backup_state) \
               SELECT credential_id, $28::boolean, $29::boolean, $30::boolean FROM k \
               ON CONFLICT (credential_id) DO UPDATE SET user_verified = EXCLUDED.user_verified, \
                 backup_eligible = EXCLUDED.backup_eligible, backup_state = EXCLUDED.backup_state), \
             t AS (INSERT INTO auth.refresh_tokens (user_id, refresh_token_hash, expires_at) \
               SELECT u.id, $31::text, now() + make_interval(secs => $32::bigint) FROM u \
               WHERE $31::text IS NOT NULL \
               RETURNING id), \
             c AS (INSERT INTO hasura_auth.session_clients (refresh_token_id, user_agent, ip) \
               SELECT t.id, $33::text, $34::text FROM t WHERE $33::text IS NOT NULL OR $34::text IS NOT NULL) \
             SELECT u.id, u.created_at, (SELECT id FROM t) FROM u",
        )
        .await?;
    let (ticket, ticket_ttl) = user.ticket.map_or((None, 0), |(t, ttl)| (Some(t), ttl));
    let (sms_code, sms_code_ttl) = user.sms_code.map_or((None, 0), |(c, ttl)| (Some(c), ttl));
    let link = first.provider_link;
    let key = first.security_key;
    let (token_hash, token_ttl) = first
        .refresh_token
        .map_or((None, 0), |(hash, ttl)| (Some(hash), ttl));
    let row = db
        .query_one(
            &stmt,
            &[
                &user.id,
                &user.email.map(Email::as_str),
                &user.phone_number.map(PhoneNumber::e164),
                &user.password_hash,
                &user.display_name,
                &user.avatar_url,
                &user.locale,
                &user.default_role,
                user.metadata,
                &user.disabled,
                &user.is_anonymous,
                &user.email_verified,
                &ticket,
                &ticket_ttl,
                &sms_code,
                &sms_code_ttl,
                &user.seen,
                &user.roles,
                &link.map(|l| l.provider_id),
                &link.map(|l| l.provider_user_id),
                &link.map(|l| l.access_token),
                &link.and_then(|l| l.refresh_token),
                &key.map(|k| k.credential_id),
                &key.map(|k| k.public_key),
                &key.map(|k| k.counter),
                &key.map(|k| k.transports),
                &key.and_then(|k| k.nickname),
                &key.map(|k| k.flags.user_verified),
                &key.map(|k| k.flags.backup_eligible),
                &key.map(|k| k.flags.backup_state),
                &token_hash,
                &token_ttl,
                &first.session_client.0,
                &first.session_client.1,
            ],
        )
        .await
        .map_err(classify)?;
    Ok(InsertedUser {
        id: row.try_get(0)?,
        created_at: row.try_get(1)?,
        refresh_token_id: row.try_get(2)?,
    })
}

/// Consumes a one-time ticket: clears it and returns the user as it was, if the ticket
/// exists and has not expired. `candidates` are the stored forms to look for.
pub async fn consume_ticket(db: &impl Db, candidates: &[&str]) -> Result<Option<UserRow>, DbError> {
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
    db: &impl Db,
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

pub async fn mark_email_verified(db: &impl Db, user_id: Uuid) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET email_verified = true WHERE id = $1 AND NOT email_verified",
        )
        .await?;
    db.execute(&stmt, &[&user_id]).await?;
    Ok(())
}

pub async fn upsert_roles(db: &impl Db, roles: &[String]) -> Result<(), DbError> {
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
pub async fn confirm_email_change(db: &impl Db, user_id: Uuid) -> Result<(), DbError> {
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
pub async fn has_security_key(db: &impl Db, user_id: Uuid) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM auth.user_security_keys WHERE user_id = $1)")
        .await?;
    Ok(db.query_one(&stmt, &[&user_id]).await?.try_get(0)?)
}

/// A user as an operator sees it (`hasura-auth users …`): the row, its `user_roles` and
/// when it was last seen.
pub struct UserListing {
    pub user: UserRow,
    pub roles: Vec<String>,
    pub last_seen: Option<DateTime<Utc>>,
}

const LISTING_EXTRA: &str = "ARRAY(SELECT r.role FROM auth.user_roles r WHERE r.user_id = u.id ORDER BY r.role), \
     u.last_seen";

impl UserListing {
    fn from_row(row: &Row) -> Result<UserListing, DbError> {
        Ok(UserListing {
            user: UserRow::from_row(row, 0)?,
            roles: row.try_get(USER_COLUMN_COUNT)?,
            last_seen: row.try_get(USER_COLUMN_COUNT + 1)?,
        })
    }
}

pub async fn listing_by_id(db: &impl Db, id: Uuid) -> Result<Option<UserListing>, DbError> {
    let sql = format!("SELECT {USER_COLUMNS}, {LISTING_EXTRA} FROM auth.users u WHERE u.id = $1");
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&id]).await?;
    row.as_ref().map(UserListing::from_row).transpose()
}

pub async fn listing_by_email(db: &impl Db, email: &Email) -> Result<Option<UserListing>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, {LISTING_EXTRA} FROM auth.users u \
         WHERE u.email = $1::text::public.citext"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_opt(&stmt, &[&email.as_str()]).await?;
    row.as_ref().map(UserListing::from_row).transpose()
}

/// One page of users, newest first, and how many match in all. `search` is matched as
/// plain text (no wildcards) against the email and the display name, ignoring case.
pub async fn list(
    db: &impl Db,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<UserListing>, i64), DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, {LISTING_EXTRA}, count(*) OVER () FROM auth.users u \
         WHERE $1::text IS NULL OR u.email::text ILIKE $1 OR u.display_name ILIKE $1 \
         ORDER BY u.created_at DESC, u.id LIMIT $2 OFFSET $3"
    );
    let pattern = search.map(|s| format!("%{}%", escape_like(s)));
    let stmt = db.prepare_cached(&sql).await?;
    let rows = db.query(&stmt, &[&pattern, &limit, &offset]).await?;
    let total = match rows.first() {
        Some(row) => row.try_get(USER_COLUMN_COUNT + 2)?,
        // Past the last page the window has no row to count on.
        None => count(db, pattern.as_deref()).await?,
    };
    let users = rows
        .iter()
        .map(UserListing::from_row)
        .collect::<Result<_, _>>()?;
    Ok((users, total))
}

async fn count(db: &impl Db, pattern: Option<&str>) -> Result<i64, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT count(*) FROM auth.users u \
             WHERE $1::text IS NULL OR u.email::text ILIKE $1 OR u.display_name ILIKE $1",
        )
        .await?;
    Ok(db.query_one(&stmt, &[&pattern]).await?.try_get(0)?)
}

/// `%`, `_` and `\` taken literally in a LIKE pattern (backslash is the default escape).
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub async fn set_disabled(db: &impl Db, user_id: Uuid, disabled: bool) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("UPDATE auth.users SET disabled = $2 WHERE id = $1")
        .await?;
    db.execute(&stmt, &[&user_id, &disabled]).await?;
    Ok(())
}

/// Adds `user_roles` rows (existing ones are kept as they are).
pub async fn add_roles(db: &impl Db, user_id: Uuid, roles: &[String]) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO auth.user_roles (user_id, role) SELECT $1, unnest($2::text[]) \
             ON CONFLICT (user_id, role) DO NOTHING",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &roles]).await?;
    Ok(())
}

pub async fn remove_roles(db: &impl Db, user_id: Uuid, roles: &[String]) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("DELETE FROM auth.user_roles WHERE user_id = $1 AND role = ANY($2::text[])")
        .await?;
    db.execute(&stmt, &[&user_id, &roles]).await?;
    Ok(())
}

pub async fn set_default_role(db: &impl Db, user_id: Uuid, role: &str) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("UPDATE auth.users SET default_role = $2 WHERE id = $1")
        .await?;
    db.execute(&stmt, &[&user_id, &role]).await?;
    Ok(())
}

/// Deletes a user; its roles, sessions, provider links, security keys and codes go with
/// it (`ON DELETE CASCADE`). False when there was no such user.
pub async fn delete(db: &impl Db, user_id: Uuid) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached("DELETE FROM auth.users WHERE id = $1")
        .await?;
    Ok(db.execute(&stmt, &[&user_id]).await? == 1)
}
