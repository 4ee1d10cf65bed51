//! SQL of the SMS deanonymisation (Nhost Auth 0.52, `POST /user/deanonymize/sms`,
//! completed by `POST /signin/passwordless/sms/otp`).
//!
//! The anonymous user keeps `phone_number` NULL; the number is staged as for a phone
//! change ([`super::phone_change::PhoneStage`]) and the sign-up options in
//! `auth.users.pending_sms_deanonymize_options` from level 25 (0.52's column and keys
//! `roles`, `default_role`, `display_name`, `locale`, `metadata`), below that in
//! `hasura_auth.sms_deanonymize_options`. The code is an ordinary SMS code
//! (`otp_method_last_used = 'sms'`).

use serde_json::Value;
use uuid::Uuid;

use super::phone_change::{PLACEHOLDER, PhoneStage};
use super::schema_level::SchemaLevel;
use super::users::{USER_COLUMNS, UserRow};
use super::{Db, DbError};
use crate::db::otp_attempts::OtpCounter;

/// Where the staged options of a schema level live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsStore {
    /// `auth.users.pending_sms_deanonymize_options` (schema 25 and later).
    Users,
    /// `hasura_auth.sms_deanonymize_options`.
    Internal,
}

impl OptionsStore {
    pub fn for_level(level: SchemaLevel) -> OptionsStore {
        if level.has_pending_sms_deanonymize_options() {
            OptionsStore::Users
        } else {
            OptionsStore::Internal
        }
    }
}

/// Where both halves of a staged deanonymisation live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub stage: PhoneStage,
    pub options: OptionsStore,
    pub counter: OtpCounter,
}

impl Layout {
    pub fn for_level(level: SchemaLevel) -> Layout {
        Layout {
            stage: PhoneStage::for_level(level),
            options: OptionsStore::for_level(level),
            counter: OtpCounter::for_level(level),
        }
    }

    /// SQL true when the user row `c` has staged `param` (a text parameter).
    fn staged_is(self, param: &str) -> String {
        match self.stage {
            PhoneStage::Users => format!("c.new_phone_number = {param}"),
            PhoneStage::Internal => format!(
                "EXISTS (SELECT 1 FROM hasura_auth.phone_changes p \
                 WHERE p.user_id = c.id AND p.new_phone_number = {param})"
            ),
        }
    }
}

/// Clears the staging of anonymous users whose code expired (0.52's
/// `ReleaseExpiredStagedSMSDeanonymizations`).
pub async fn release_expired(db: &impl Db, layout: Layout) -> Result<(), DbError> {
    let expired = "c.is_anonymous AND c.otp_method_last_used = 'sms' \
                   AND c.phone_number IS NULL AND c.otp_hash_expires_at <= now()";
    let sqls: Vec<String> = match layout.stage {
        PhoneStage::Users => {
            let opts = match layout.options {
                OptionsStore::Users => ", pending_sms_deanonymize_options = NULL",
                OptionsStore::Internal => "",
            };
            vec![format!(
                "UPDATE auth.users c SET new_phone_number = NULL{opts} \
                 WHERE c.new_phone_number IS NOT NULL AND {expired}"
            )]
        }
        PhoneStage::Internal => vec![format!(
            "DELETE FROM hasura_auth.phone_changes p USING auth.users c \
             WHERE p.user_id = c.id AND {expired}"
        )],
    };
    for sql in sqls {
        let stmt = db.prepare_cached(&sql).await?;
        db.execute(&stmt, &[]).await?;
    }
    if layout.options == OptionsStore::Internal {
        let stmt = db
            .prepare_cached(&format!(
                "DELETE FROM hasura_auth.sms_deanonymize_options o USING auth.users c \
                 WHERE o.user_id = c.id AND {expired}"
            ))
            .await?;
        db.execute(&stmt, &[]).await?;
    }
    Ok(())
}

/// Stages `number` and `options` for the anonymous user with a new code (`None`: the
/// provider keeps it). `false` when the user is not anonymous (any more).
pub async fn stage(
    db: &impl Db,
    layout: Layout,
    user_id: Uuid,
    number: &str,
    options: &Value,
    code: Option<&str>,
    ttl_secs: i64,
) -> Result<bool, DbError> {
    let mut ctes = Vec::new();
    let mut set = String::new();
    match layout.counter {
        OtpCounter::Users => set.push_str(", otp_attempts = 0"),
        OtpCounter::Internal => ctes
            .push("f AS (DELETE FROM hasura_auth.sms_otp_failures WHERE user_id = $1)".to_owned()),
    }
    match layout.stage {
        PhoneStage::Users => set.push_str(", new_phone_number = $4"),
        PhoneStage::Internal => ctes.push(
            "p AS (INSERT INTO hasura_auth.phone_changes (user_id, new_phone_number) \
             SELECT id, $4 FROM auth.users WHERE id = $1 AND is_anonymous \
             ON CONFLICT (user_id) DO UPDATE \
             SET new_phone_number = EXCLUDED.new_phone_number, created_at = now())"
                .to_owned(),
        ),
    }
    match layout.options {
        OptionsStore::Users => set.push_str(", pending_sms_deanonymize_options = $5"),
        OptionsStore::Internal => ctes.push(
            "o AS (INSERT INTO hasura_auth.sms_deanonymize_options (user_id, options) \
             SELECT id, $5 FROM auth.users WHERE id = $1 AND is_anonymous \
             ON CONFLICT (user_id) DO UPDATE \
             SET options = EXCLUDED.options, created_at = now())"
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
           otp_method_last_used = 'sms'{set} \
         WHERE id = $1 AND is_anonymous"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let n = db
        .execute(&stmt, &[&user_id, &code, &ttl_secs, &number, options])
        .await?;
    Ok(n == 1)
}

/// The users that staged `number` with a live SMS code: anonymous users deanonymising,
/// and (at level 27) SMS sign-ups Nhost Auth 0.52 staged before handing the database over (`$2` NULL: any live
/// request, the provider approved the code) and fewer than `limit` wrong guesses.
fn candidates_sql(layout: Layout, with_code: bool) -> String {
    let below = layout.counter.below_limit_sql("c", "$3::int");
    let staged = layout.staged_is("$1");
    let code = if with_code {
        "AND ($2::text IS NULL OR c.otp_hash = public.crypt($2::text, c.otp_hash)) \
         AND c.otp_hash_expires_at > now() AND "
    } else {
        "AND "
    };
    format!(
        "SELECT c.id, c.is_anonymous FROM auth.users c WHERE c.phone_number IS NULL \
         AND c.otp_method_last_used = 'sms' {code}{staged} AND {below}"
    )
}

/// The users with `number` staged under an SMS code (whose wrong guesses are counted).
pub async fn holders(db: &impl Db, layout: Layout, number: &str) -> Result<Vec<Uuid>, DbError> {
    let staged = layout.staged_is("$1");
    let sql = format!(
        "SELECT c.id FROM auth.users c WHERE c.phone_number IS NULL \
         AND c.otp_method_last_used = 'sms' AND {staged}"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let rows = db.query(&stmt, &[&number]).await?;
    rows.iter()
        .map(|r| r.try_get(0).map_err(DbError::from))
        .collect()
}

/// Promotes the single row that staged `number` (an anonymous user deanonymising, or an
/// SMS sign-up placeholder) when `code` is its live code (`None`: the provider approved
/// it): phone set and verified, not anonymous, roles and profile from the staged
/// options (a sign-up has none: its profile stays), staging and code cleared, refresh
/// tokens deleted. Placeholders holding the number in `phone_number` are released
/// first. Run in a transaction. Returns the user and whether it was anonymous; `None`
/// when no single row matches; [`DbError::DuplicatePhoneNumber`] when another user owns
/// the number (roll back).
pub async fn promote(
    db: &impl Db,
    layout: Layout,
    number: &str,
    code: Option<&str>,
    limit: i32,
) -> Result<Option<(UserRow, bool)>, DbError> {
    let candidates = candidates_sql(layout, true);
    let stmt = db
        .prepare_cached(&format!("{candidates} FOR UPDATE"))
        .await?;
    let rows = db.query(&stmt, &[&number, &code, &limit]).await?;
    let [row] = rows.as_slice() else {
        return Ok(None);
    };
    let user_id: Uuid = row.try_get(0)?;
    let was_anonymous: bool = row.try_get(1)?;
    let options_sql = match layout.options {
        OptionsStore::Users => {
            "SELECT pending_sms_deanonymize_options FROM auth.users WHERE id = $1"
        }
        OptionsStore::Internal => {
            "SELECT options FROM hasura_auth.sms_deanonymize_options WHERE user_id = $1"
        }
    };
    let stmt = db.prepare_cached(options_sql).await?;
    let options: Value = db
        .query_opt(&stmt, &[&user_id])
        .await?
        .map(|r| r.try_get::<_, Option<Value>>(0))
        .transpose()?
        .flatten()
        .unwrap_or(Value::Null);
    let text = |k: &str| options.get(k).and_then(Value::as_str).map(str::to_owned);
    let roles: Option<Vec<String>> = options.get("roles").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    let metadata = options.get("metadata").cloned().filter(|m| !m.is_null());

    if super::phone_change::owned_by_other(db, &[number.to_owned()], user_id).await? {
        return Err(DbError::DuplicatePhoneNumber);
    }
    let stmt = db
        .prepare_cached(&format!(
            "DELETE FROM auth.users x WHERE x.phone_number = $1 AND x.id <> $2 AND {PLACEHOLDER}"
        ))
        .await?;
    db.execute(&stmt, &[&number, &user_id]).await?;

    let mut set = String::new();
    if layout.counter == OtpCounter::Users {
        set.push_str(", otp_attempts = 0");
    }
    if layout.stage == PhoneStage::Users {
        set.push_str(", new_phone_number = NULL");
    }
    if layout.options == OptionsStore::Users {
        set.push_str(", pending_sms_deanonymize_options = NULL");
    }
    let sql = format!(
        "UPDATE auth.users u SET phone_number = $2, phone_number_verified = true, \
           is_anonymous = false, otp_hash = NULL, otp_hash_expires_at = now(), \
           default_role = COALESCE($3, u.default_role), \
           display_name = COALESCE($4, u.display_name), \
           locale = COALESCE($5, u.locale), metadata = COALESCE($6, u.metadata){set} \
         WHERE u.id = $1 RETURNING {USER_COLUMNS}"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let user = db
        .query_one(
            &stmt,
            &[
                &user_id,
                &number,
                &text("default_role"),
                &text("display_name"),
                &text("locale"),
                &metadata,
            ],
        )
        .await
        .map_err(super::classify)?;
    let user = UserRow::from_row(&user, 0)?;

    let mut cleanup = vec!["DELETE FROM auth.refresh_tokens WHERE user_id = $1"];
    if layout.counter == OtpCounter::Internal {
        cleanup.push("DELETE FROM hasura_auth.sms_otp_failures WHERE user_id = $1");
    }
    if layout.stage == PhoneStage::Internal {
        cleanup.push("DELETE FROM hasura_auth.phone_changes WHERE user_id = $1");
    }
    if layout.options == OptionsStore::Internal {
        cleanup.push("DELETE FROM hasura_auth.sms_deanonymize_options WHERE user_id = $1");
    }
    for sql in cleanup {
        let stmt = db.prepare_cached(sql).await?;
        db.execute(&stmt, &[&user_id]).await?;
    }
    if let Some(roles) = roles {
        let stmt = db
            .prepare_cached("DELETE FROM auth.user_roles WHERE user_id = $1")
            .await?;
        db.execute(&stmt, &[&user_id]).await?;
        let stmt = db
            .prepare_cached(
                "INSERT INTO auth.user_roles (user_id, role) SELECT $1, unnest($2::text[])",
            )
            .await?;
        db.execute(&stmt, &[&user_id, &roles]).await?;
    }
    Ok(Some((user, was_anonymous)))
}
