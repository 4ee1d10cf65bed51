//! SQL of the OAuth workflows: single-use states, provider links
//! (`auth.user_providers`), users created together with their link, and provider
//! sessions handed out once.

use super::Db;
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::DbError;
use super::users::{USER_COLUMNS, UserRow};

/// A state consumed by a callback.
pub struct TakenState {
    pub provider: String,
    pub data: Value,
    pub expired: bool,
}

/// Records a sign-in in progress (keyed by the hash of its state) and clears expired ones.
pub async fn insert_state(
    db: &impl Db,
    state_hash: &str,
    provider: &str,
    data: &Value,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH gc AS (DELETE FROM hasura_auth.oauth_states WHERE expires_at < now()) \
             INSERT INTO hasura_auth.oauth_states (state_hash, provider, data, expires_at) \
             VALUES ($1, $2, $3, now() + make_interval(secs => $4::bigint))",
        )
        .await?;
    db.execute(&stmt, &[&state_hash, &provider, data, &ttl_secs])
        .await?;
    Ok(())
}

/// Deletes the state and returns what it held: a state can be used once, expired or not.
pub async fn take_state(db: &impl Db, state_hash: &str) -> Result<Option<TakenState>, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.oauth_states WHERE state_hash = $1 \
             RETURNING provider, data, expires_at <= now()",
        )
        .await?;
    let row = db.query_opt(&stmt, &[&state_hash]).await?;
    row.map(|r| {
        Ok(TakenState {
            provider: r.try_get(0)?,
            data: r.try_get(1)?,
            expired: r.try_get(2)?,
        })
    })
    .transpose()
}

/// The user linked to a provider account.
pub async fn find_user_by_provider(
    db: &impl Db,
    provider_id: &str,
    provider_user_id: &str,
) -> Result<Option<UserRow>, DbError> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM auth.user_providers p JOIN auth.users u ON u.id = p.user_id \
         WHERE p.provider_id = $1 AND p.provider_user_id = $2"
    );
    let stmt = db.prepare_cached(&sql).await?;
    let row = db
        .query_opt(&stmt, &[&provider_id, &provider_user_id])
        .await?;
    row.map(|r| UserRow::from_row(&r, 0)).transpose()
}

/// A provider account to link, with the provider's tokens as kept in `auth.user_providers`.
pub struct ProviderLink<'a> {
    pub provider_id: &'a str,
    pub provider_user_id: &'a str,
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
}

/// Links a provider account to a user. `false` when that provider account is already
/// linked (to anyone).
pub async fn insert_link(
    db: &impl Db,
    user_id: Uuid,
    link: &ProviderLink<'_>,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO auth.user_providers (user_id, provider_id, provider_user_id, access_token, refresh_token) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (provider_id, provider_user_id) DO NOTHING RETURNING id",
        )
        .await?;
    let row = db
        .query_opt(
            &stmt,
            &[
                &user_id,
                &link.provider_id,
                &link.provider_user_id,
                &link.access_token,
                &link.refresh_token,
            ],
        )
        .await?;
    Ok(row.is_some())
}

/// Stores the provider's latest tokens on an existing link.
pub async fn update_link_tokens(db: &impl Db, link: &ProviderLink<'_>) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.user_providers SET access_token = $3, refresh_token = $4 \
             WHERE provider_id = $1 AND provider_user_id = $2",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &link.provider_id,
            &link.provider_user_id,
            &link.access_token,
            &link.refresh_token,
        ],
    )
    .await?;
    Ok(())
}

/// After a provider refresh: replaces the tokens of the user's link that held
/// `old_refresh_token` (a provider may or may not rotate its refresh token).
pub async fn update_refreshed_tokens(
    db: &impl Db,
    user_id: Uuid,
    provider_id: &str,
    old_refresh_token: &str,
    access_token: &str,
    refresh_token: Option<&str>,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.user_providers SET access_token = $4, refresh_token = COALESCE($5, refresh_token) \
             WHERE user_id = $1 AND provider_id = $2 AND refresh_token = $3",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &user_id,
            &provider_id,
            &old_refresh_token,
            &access_token,
            &refresh_token,
        ],
    )
    .await?;
    Ok(())
}

/// Makes sure a provider id exists in `auth.providers` (the generic OIDC provider is not
/// one of upstream's seeded rows, and `user_providers.provider_id` references it).
pub async fn ensure_provider(db: &impl Db, provider_id: &str) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached("INSERT INTO auth.providers (id) VALUES ($1) ON CONFLICT (id) DO NOTHING")
        .await?;
    db.execute(&stmt, &[&provider_id]).await?;
    Ok(())
}

/// Provider tokens waiting to be fetched once.
pub struct ProviderSessionRow {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Keeps the latest provider tokens of a user for one retrieval, and deletes the
/// sessions nobody fetched within `max_age_secs`.
pub async fn put_provider_session(
    db: &impl Db,
    user_id: Uuid,
    provider_id: &str,
    session: &ProviderSessionRow,
    max_age_secs: i64,
) -> Result<(), DbError> {
    let gc = db
        .prepare_cached(
            "DELETE FROM hasura_auth.provider_sessions \
             WHERE created_at < now() - make_interval(secs => $1::bigint)",
        )
        .await?;
    db.execute(&gc, &[&max_age_secs]).await?;
    let stmt = db
        .prepare_cached(
            "INSERT INTO hasura_auth.provider_sessions (user_id, provider_id, access_token, refresh_token, expires_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, provider_id) DO UPDATE SET access_token = EXCLUDED.access_token, \
               refresh_token = EXCLUDED.refresh_token, expires_at = EXCLUDED.expires_at, created_at = now()",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &user_id,
            &provider_id,
            &session.access_token,
            &session.refresh_token,
            &session.expires_at,
        ],
    )
    .await?;
    Ok(())
}

/// Takes (deletes and returns) the pending provider session if it is younger than
/// `max_age_secs`; an older one is deleted and not returned.
pub async fn take_provider_session(
    db: &impl Db,
    user_id: Uuid,
    provider_id: &str,
    max_age_secs: i64,
) -> Result<Option<ProviderSessionRow>, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.provider_sessions WHERE user_id = $1 AND provider_id = $2 \
             RETURNING access_token, refresh_token, expires_at, \
               created_at > now() - make_interval(secs => $3::bigint)",
        )
        .await?;
    let Some(row) = db
        .query_opt(&stmt, &[&user_id, &provider_id, &max_age_secs])
        .await?
    else {
        return Ok(None);
    };
    let fresh: bool = row.try_get(3)?;
    if !fresh {
        return Ok(None);
    }
    Ok(Some(ProviderSessionRow {
        access_token: row.try_get(0)?,
        refresh_token: row.try_get(1)?,
        expires_at: row.try_get(2)?,
    }))
}
