//! SQL of SMS sign-up staging (Nhost Auth 0.52, from schema level 24): a new SMS sign-up
//! keeps its number in `auth.users.new_phone_number` (`phone_number` NULL, unverified)
//! until the code proves it; the completion is the promotion in
//! [`super::sms_deanonymize::promote`], which also handles anonymous users.
//!
//! Below level 24 sign-ups write `phone_number` as v0.42 did, and a never-used one
//! ([`super::phone_change::PLACEHOLDER`]) does not own its number.

use uuid::Uuid;

use super::otp_attempts::OtpCounter;
use super::phone_change::PLACEHOLDER;
use super::sms_deanonymize::{Layout, OptionsStore};
use super::{Db, DbError};

/// Staged sign-up rows deleted by one sweep at most (the request that sweeps waits).
const SWEEP_BATCH: i64 = 100;

/// SQL true when the user row `x` is a credential-free SMS sign-up placeholder that
/// staged a number: 0.52's guards (`UpdateStagedSMSUser`, migration 26) — no owned or
/// verified number, no email, password, TOTP, MFA, ticket or challenge, not anonymous,
/// never seen, no pending deanonymisation, and nothing referencing it (provider link,
/// security key, session, OAuth2 request or token, PKCE code, OAuth2 client). Only
/// used from level 24, where all those tables exist.
fn staged_placeholder(options: OptionsStore) -> String {
    let pending = match options {
        OptionsStore::Users => "AND x.pending_sms_deanonymize_options IS NULL ",
        OptionsStore::Internal => {
            "AND NOT EXISTS (SELECT 1 FROM hasura_auth.sms_deanonymize_options o \
             WHERE o.user_id = x.id) "
        }
    };
    format!(
        "(x.phone_number IS NULL AND x.new_phone_number IS NOT NULL \
          AND NOT x.phone_number_verified AND x.email IS NULL AND x.new_email IS NULL \
          AND NOT x.email_verified AND x.password_hash IS NULL AND NOT x.is_anonymous \
          AND x.last_seen IS NULL AND x.otp_method_last_used = 'sms' {pending}\
          AND x.totp_secret IS NULL AND x.active_mfa_type IS NULL AND x.ticket IS NULL \
          AND x.webauthn_current_challenge IS NULL \
          AND NOT EXISTS (SELECT 1 FROM auth.user_providers p WHERE p.user_id = x.id) \
          AND NOT EXISTS (SELECT 1 FROM auth.user_security_keys k WHERE k.user_id = x.id) \
          AND NOT EXISTS (SELECT 1 FROM auth.refresh_tokens r WHERE r.user_id = x.id) \
          AND NOT EXISTS (SELECT 1 FROM auth.oauth2_auth_requests a WHERE a.user_id = x.id) \
          AND NOT EXISTS (SELECT 1 FROM auth.oauth2_refresh_tokens t WHERE t.user_id = x.id) \
          AND NOT EXISTS (SELECT 1 FROM auth.pkce_authorization_codes c WHERE c.user_id = x.id) \
          AND NOT EXISTS (SELECT 1 FROM auth.oauth2_clients cl WHERE cl.created_by = x.id))"
    )
}

/// Stages `number` on the user just inserted (with `phone_number` NULL) in the same
/// transaction: an SMS sign-up, live for `ttl_secs` (also when the provider keeps the
/// code and none is stored here: promotion needs a live request).
pub async fn stage_new(
    db: &impl Db,
    user_id: Uuid,
    number: &str,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET new_phone_number = $2, otp_method_last_used = 'sms', \
               otp_hash_expires_at = now() + make_interval(secs => $3::bigint) \
             WHERE id = $1",
        )
        .await?;
    db.execute(&stmt, &[&user_id, &number, &ttl_secs]).await?;
    Ok(())
}

/// A placeholder found and locked for re-staging: its id and whether it is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placeholder {
    pub id: Uuid,
    pub disabled: bool,
}

fn placeholder(row: &tokio_postgres::Row) -> Result<Placeholder, DbError> {
    Ok(Placeholder {
        id: row.try_get(0)?,
        disabled: row.try_get(1)?,
    })
}

/// The oldest credential-free placeholder that staged one of the phone `forms`, locked
/// until the transaction ends (run in one).
pub async fn lock_staged(
    db: &impl Db,
    layout: Layout,
    forms: &[String],
) -> Result<Option<Placeholder>, DbError> {
    let guard = staged_placeholder(layout.options);
    let sql = format!(
        "SELECT x.id, x.disabled FROM auth.users x \
         WHERE x.new_phone_number = ANY($1::text[]) AND {guard} \
         ORDER BY x.created_at, x.id LIMIT 1 FOR UPDATE OF x"
    );
    let stmt = db.prepare_cached(&sql).await?;
    db.query_opt(&stmt, &[&forms])
        .await?
        .as_ref()
        .map(placeholder)
        .transpose()
}

/// The user `user_id` (who holds the number in `phone_number`, below level 24) locked
/// until the transaction ends, when it is a never-used placeholder.
pub async fn lock_legacy(db: &impl Db, user_id: Uuid) -> Result<Option<Placeholder>, DbError> {
    let sql = format!(
        "SELECT x.id, x.disabled FROM auth.users x \
         WHERE x.id = $1 AND {PLACEHOLDER} FOR UPDATE OF x"
    );
    let stmt = db.prepare_cached(&sql).await?;
    db.query_opt(&stmt, &[&user_id])
        .await?
        .as_ref()
        .map(placeholder)
        .transpose()
}

/// The profile a re-staged placeholder takes: that of the latest request, so nothing a
/// squatter chose survives on the account its owner completes.
pub struct Profile<'a> {
    pub display_name: &'a str,
    pub avatar_url: &'a str,
    pub locale: &'a str,
    pub default_role: &'a str,
    pub roles: &'a [String],
    pub metadata: &'a serde_json::Value,
}

/// Re-stages a locked placeholder (from [`lock_staged`] or [`lock_legacy`], same
/// transaction): a new code (`None`: the provider keeps it) with its lifetime, wrong
/// guesses forgotten, and the request's profile and roles.
pub async fn restage(
    db: &impl Db,
    counter: OtpCounter,
    user_id: Uuid,
    code: Option<&str>,
    ttl_secs: i64,
    profile: &Profile<'_>,
) -> Result<(), DbError> {
    super::sms::set_code(db, counter, user_id, code, ttl_secs).await?;
    let stmt = db
        .prepare_cached(
            "UPDATE auth.users SET display_name = $2, avatar_url = $3, locale = $4, \
               default_role = $5, metadata = $6 WHERE id = $1",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &user_id,
            &profile.display_name,
            &profile.avatar_url,
            &profile.locale,
            &profile.default_role,
            profile.metadata,
        ],
    )
    .await?;
    let stmt = db
        .prepare_cached("DELETE FROM auth.user_roles WHERE user_id = $1")
        .await?;
    db.execute(&stmt, &[&user_id]).await?;
    let stmt = db
        .prepare_cached("INSERT INTO auth.user_roles (user_id, role) SELECT $1, unnest($2::text[])")
        .await?;
    db.execute(&stmt, &[&user_id, &profile.roles]).await?;
    Ok(())
}

/// Deletes staged sign-up placeholders whose code expired (0.52's
/// `DeleteExpiredStagedPhoneUsers`), at most [`SWEEP_BATCH`] per call, skipping rows
/// another request holds. Disabled ones stay: `AUTH_DISABLE_NEW_USERS` keeps new users
/// for an administrator to enable. The partial index `users_new_phone_number_idx`
/// (level 27) keeps this to the staged rows. Returns how many went.
pub async fn sweep_expired(db: &impl Db, layout: Layout) -> Result<u64, DbError> {
    let guard = staged_placeholder(layout.options);
    let sql = format!(
        "DELETE FROM auth.users d WHERE d.id IN ( \
           SELECT x.id FROM auth.users x \
           WHERE x.new_phone_number IS NOT NULL AND {guard} AND NOT x.disabled \
             AND x.otp_hash_expires_at <= now() \
           LIMIT $1 FOR UPDATE OF x SKIP LOCKED)"
    );
    let stmt = db.prepare_cached(&sql).await?;
    Ok(db.execute(&stmt, &[&SWEEP_BATCH]).await?)
}
