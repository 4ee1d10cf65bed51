//! SQL of the phone-number change (`POST /user/phone-number/change` and `/verify`).
//!
//! The code is kept as every SMS code is (`otp_hash`, `otp_hash_expires_at`), with
//! `otp_method_last_used = 'sms-change'`, as Nhost Auth 0.52 keeps it. The number asked
//! for is staged in `auth.users.new_phone_number` from schema level 24 on (0.52's
//! column, so a database handed back to 0.52 holds what 0.52 expects), below that in
//! `hasura_auth.phone_changes`. A staged number is never unique: only an owned
//! `phone_number` blocks another user.

use super::Db;
use uuid::Uuid;

use super::DbError;
use super::otp_attempts::OtpCounter;
use super::schema_level::SchemaLevel;

/// The `otp_method_last_used` of a phone-change code.
pub const METHOD: &str = "sms-change";

/// Where the staged number of a schema level lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneStage {
    /// `auth.users.new_phone_number` (schema 24 and later).
    Users,
    /// `hasura_auth.phone_changes` (schema below 24).
    Internal,
}

impl PhoneStage {
    pub fn for_level(level: SchemaLevel) -> PhoneStage {
        if level.has_new_phone_number() {
            PhoneStage::Users
        } else {
            PhoneStage::Internal
        }
    }
}

/// SQL true when the user row `x` is a never-used SMS sign-up placeholder: a number
/// nobody has proven (unverified), no other credential or identity, never signed in.
/// Such a row is what anyone can create for any number (`POST /signin/passwordless/sms`
/// without the code), so it must not block the number's owner: it does not count as
/// owning its `phone_number`, and proving the number elsewhere releases it. (Nhost
/// Auth 0.52 keeps such rows in `new_phone_number`; this rule gives the same guarantee
/// at every schema level, for rows written by either implementation.)
pub const PLACEHOLDER: &str = "(NOT x.phone_number_verified AND x.email IS NULL      AND x.new_email IS NULL AND x.password_hash IS NULL AND NOT x.is_anonymous      AND x.last_seen IS NULL AND x.totp_secret IS NULL      AND NOT EXISTS (SELECT 1 FROM auth.refresh_tokens r WHERE r.user_id = x.id)      AND NOT EXISTS (SELECT 1 FROM auth.user_providers p WHERE p.user_id = x.id)      AND NOT EXISTS (SELECT 1 FROM auth.user_security_keys k WHERE k.user_id = x.id))";

/// True when a user other than `except` owns one of the phone `forms` (its
/// `phone_number`, not a [`PLACEHOLDER`]; staged numbers do not count).
pub async fn owned_by_other(db: &impl Db, forms: &[String], except: Uuid) -> Result<bool, DbError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM auth.users x WHERE x.phone_number = ANY($1::text[]) \
         AND x.id <> $2 AND NOT {PLACEHOLDER})"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db.query_one(&stmt, &[&forms, &except]).await?;
    Ok(row.try_get(0)?)
}

/// Stages `number` for the user with a new code (`None`: no code kept here, the
/// provider checks it), forgetting earlier wrong guesses. One statement: no guess can be
/// counted between the reset and the new code.
pub async fn stage(
    db: &impl Db,
    stage: PhoneStage,
    counter: OtpCounter,
    user_id: Uuid,
    number: &str,
    code: Option<&str>,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let mut ctes = Vec::new();
    let mut set = String::new();
    match counter {
        OtpCounter::Users => set.push_str(", otp_attempts = 0"),
        OtpCounter::Internal => ctes
            .push("f AS (DELETE FROM hasura_auth.sms_otp_failures WHERE user_id = $1)".to_owned()),
    }
    match stage {
        PhoneStage::Users => set.push_str(", new_phone_number = $4"),
        PhoneStage::Internal => ctes.push(
            "p AS (INSERT INTO hasura_auth.phone_changes (user_id, new_phone_number) \
             VALUES ($1, $4) ON CONFLICT (user_id) DO UPDATE \
             SET new_phone_number = EXCLUDED.new_phone_number, created_at = now())"
                .to_owned(),
        ),
    }
    let with = if ctes.is_empty() {
        String::new()
    } else {
        format!("WITH {} ", ctes.join(", "))
    };
    let sql = format!(
        "{with}UPDATE auth.users SET \
           otp_hash = CASE WHEN $2::text IS NULL THEN NULL ELSE public.crypt($2::text, public.gen_salt('bf')) END, \
           otp_hash_expires_at = now() + make_interval(secs => $3::bigint), \
           otp_method_last_used = '{METHOD}'{set} \
         WHERE id = $1"
    );
    let stmt = db.prepare_cached(&sql).await?;
    db.execute(&stmt, &[&user_id, &code, &ttl_secs, &number])
        .await
        .map_err(super::classify)?;
    Ok(())
}

/// The number the user staged, if any.
pub async fn staged(
    db: &impl Db,
    stage: PhoneStage,
    user_id: Uuid,
) -> Result<Option<String>, DbError> {
    let sql = match stage {
        PhoneStage::Users => "SELECT new_phone_number FROM auth.users WHERE id = $1",
        PhoneStage::Internal => {
            "SELECT new_phone_number FROM hasura_auth.phone_changes WHERE user_id = $1"
        }
    };
    let stmt = db.prepare_cached(sql).await?;
    let row = db.query_opt(&stmt, &[&user_id]).await?;
    Ok(row
        .map(|r| r.try_get::<_, Option<String>>(0))
        .transpose()?
        .flatten())
}

/// The user `$1` whose live phone-change code is `$2` (`NULL`: the provider approved
/// it) for the staged number `$3`, with fewer than `$4` wrong guesses counted. With the
/// provider's approval the expiry still bounds the request.
fn live_code_sql(stage: PhoneStage, counter: OtpCounter) -> String {
    let below = counter.below_limit_sql("c", "$4::int");
    let staged_match = match stage {
        PhoneStage::Users => "c.new_phone_number = $3",
        PhoneStage::Internal => {
            "EXISTS (SELECT 1 FROM hasura_auth.phone_changes p \
             WHERE p.user_id = c.id AND p.new_phone_number = $3)"
        }
    };
    format!(
        "SELECT c.id FROM auth.users c \
         WHERE c.id = $1 AND c.otp_method_last_used = '{METHOD}' \
           AND c.otp_hash_expires_at > now() \
           AND ($2::text IS NULL OR c.otp_hash = public.crypt($2::text, c.otp_hash)) \
           AND {staged_match} AND {below}"
    )
}

/// Deletes the [`PLACEHOLDER`]s holding `number` when the user's code for it is right
/// (the number is proven): run in the transaction of [`confirm`], before it, with the
/// same arguments. Returns how many went.
pub async fn release_placeholders(
    db: &impl Db,
    stage: PhoneStage,
    counter: OtpCounter,
    user_id: Uuid,
    number: &str,
    code: Option<&str>,
    limit: i32,
) -> Result<u64, DbError> {
    let live = live_code_sql(stage, counter);
    let sql = format!(
        "DELETE FROM auth.users x WHERE x.phone_number = $3 AND x.id <> $1 \
         AND {PLACEHOLDER} AND EXISTS ({live})"
    );
    let stmt = db.prepare_cached(&sql).await?;
    Ok(db
        .execute(&stmt, &[&user_id, &code, &number, &limit])
        .await?)
}

/// What [`confirm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    /// `phone_number` is now the staged number, verified; staging and code cleared.
    Changed,
    /// Wrong, expired, used or burned code, or not the staged number.
    NoMatch,
    /// Another user owns the number now.
    Taken,
}

/// Promotes the staged `number` when `code` is the user's live phone-change code (and
/// the wrong-guess count is below `limit`). `code = None`: the provider approved it.
pub async fn confirm(
    db: &impl Db,
    stage: PhoneStage,
    counter: OtpCounter,
    user_id: Uuid,
    number: &str,
    code: Option<&str>,
    limit: i32,
) -> Result<Confirmed, DbError> {
    let mut ctes = Vec::new();
    let mut set = String::new();
    match counter {
        OtpCounter::Users => set.push_str(", otp_attempts = 0"),
        OtpCounter::Internal => ctes.push(
            "d AS (DELETE FROM hasura_auth.sms_otp_failures f USING t WHERE f.user_id = t.id)"
                .to_owned(),
        ),
    }
    match stage {
        PhoneStage::Users => set.push_str(", new_phone_number = NULL"),
        PhoneStage::Internal => ctes.push(
            "s AS (DELETE FROM hasura_auth.phone_changes p USING t WHERE p.user_id = t.id)"
                .to_owned(),
        ),
    }
    let extra = if ctes.is_empty() {
        String::new()
    } else {
        format!(", {}", ctes.join(", "))
    };
    let live = live_code_sql(stage, counter);
    let sql = format!(
        "WITH t AS ({live} FOR UPDATE){extra} \
         UPDATE auth.users u SET phone_number = $3, phone_number_verified = true, \
           otp_hash = NULL, otp_hash_expires_at = now(){set} \
         FROM t WHERE u.id = t.id RETURNING u.id"
    );
    let stmt = db.prepare_cached(&sql).await?;
    match db
        .query_opt(&stmt, &[&user_id, &code, &number, &limit])
        .await
    {
        Ok(Some(_)) => Ok(Confirmed::Changed),
        Ok(None) => Ok(Confirmed::NoMatch),
        Err(e) => match super::classify(e) {
            DbError::DuplicatePhoneNumber => Ok(Confirmed::Taken),
            other => Err(other),
        },
    }
}
