//! SQL on `hasura_auth.audit_events`: the audit trail (written in batches, purged by age).

use super::Db;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::DbError;

/// One row of the trail, as the writer hands it over.
pub struct AuditRow<'a> {
    pub at: DateTime<Utc>,
    pub event: &'a str,
    pub outcome: &'a str,
    pub user_id: Option<Uuid>,
    pub method: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Inserts a batch of events in one statement (one round trip, whatever its size).
pub async fn insert_batch(db: &impl Db, rows: &[AuditRow<'_>]) -> Result<u64, DbError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let at: Vec<DateTime<Utc>> = rows.iter().map(|r| r.at).collect();
    let event: Vec<&str> = rows.iter().map(|r| r.event).collect();
    let outcome: Vec<&str> = rows.iter().map(|r| r.outcome).collect();
    let user_id: Vec<Option<Uuid>> = rows.iter().map(|r| r.user_id).collect();
    let method: Vec<Option<&str>> = rows.iter().map(|r| r.method).collect();
    let reason: Vec<Option<&str>> = rows.iter().map(|r| r.reason).collect();
    let ip: Vec<Option<&str>> = rows.iter().map(|r| r.ip).collect();
    let user_agent: Vec<Option<&str>> = rows.iter().map(|r| r.user_agent).collect();
    let stmt = db
        .prepare_cached(
            "INSERT INTO hasura_auth.audit_events \
               (created_at, event, outcome, user_id, method, reason, ip, user_agent) \
             SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::uuid[], \
               $5::text[], $6::text[], $7::text[], $8::text[])",
        )
        .await?;
    Ok(db
        .execute(
            &stmt,
            &[
                &at,
                &event,
                &outcome,
                &user_id,
                &method,
                &reason,
                &ip,
                &user_agent,
            ],
        )
        .await?)
}

/// Deletes at most `batch` events older than `max_age_secs`; returns how many.
pub async fn purge_older_than(db: &impl Db, max_age_secs: i64, batch: i64) -> Result<u64, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.audit_events WHERE id IN (\
               SELECT id FROM hasura_auth.audit_events \
               WHERE created_at < now() - make_interval(secs => $1::bigint) \
               ORDER BY created_at LIMIT $2)",
        )
        .await?;
    Ok(db.execute(&stmt, &[&max_age_secs, &batch]).await?)
}

/// Whether the user signed in before from this user agent and IP: another of their
/// sessions recorded them (`hasura_auth.session_clients`), or an earlier successful
/// sign-in or sign-up in the trail (before `before`, so not the one being checked).
/// An unknown user agent or IP matches an unknown one.
pub async fn device_seen(
    db: &impl Db,
    user_id: Uuid,
    except_session: Uuid,
    user_agent: Option<&str>,
    ip: Option<&str>,
    before: DateTime<Utc>,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM auth.refresh_tokens t \
               JOIN hasura_auth.session_clients c ON c.refresh_token_id = t.id \
               WHERE t.user_id = $1 AND t.id <> $2 \
                 AND c.user_agent IS NOT DISTINCT FROM $3::text AND c.ip IS NOT DISTINCT FROM $4::text) \
             OR EXISTS (SELECT 1 FROM hasura_auth.audit_events a \
               WHERE a.user_id = $1 AND a.event IN ('signin', 'signup') AND a.outcome = 'success' \
                 AND a.user_agent IS NOT DISTINCT FROM $3::text AND a.ip IS NOT DISTINCT FROM $4::text \
                 AND a.created_at < $5)",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[&user_id, &except_session, &user_agent, &ip, &before],
        )
        .await?;
    Ok(row.try_get(0)?)
}
