//! SQL on the PKCE authorization codes: `auth.pkce_authorization_codes` from auth level
//! 21 on, `hasura_auth.pkce_codes` (same columns) below it. Codes are stored as SHA-256
//! hashes of the value handed out.

use super::Db;
use uuid::Uuid;

use super::{DbError, SchemaLevel};

fn table(level: SchemaLevel) -> &'static str {
    if level.has_pkce_codes() {
        "auth.pkce_authorization_codes"
    } else {
        "hasura_auth.pkce_codes"
    }
}

/// Stores a code for `user_id`, valid `ttl_secs`; expired rows go on the way.
pub async fn insert(
    db: &impl Db,
    level: SchemaLevel,
    user_id: Uuid,
    code_hash: &str,
    code_challenge: &str,
    redirect_to: Option<&str>,
    ttl_secs: i64,
) -> Result<(), DbError> {
    let table = table(level);
    let sweep = db
        .prepare_cached(&format!("DELETE FROM {table} WHERE expires_at < now()"))
        .await?;
    db.execute(&sweep, &[]).await?;
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO {table} (user_id, code_hash, code_challenge, redirect_to, expires_at) \
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::bigint))"
        ))
        .await?;
    db.execute(
        &stmt,
        &[
            &user_id,
            &code_hash,
            &code_challenge,
            &redirect_to,
            &ttl_secs,
        ],
    )
    .await?;
    Ok(())
}

/// Consumes the live code with this hash **and** challenge and returns its user. A code
/// presented with the wrong verifier matches no row and stays usable (upstream 0.51's
/// `ConsumePKCEAuthorizationCode`); each code is consumed at most once.
pub async fn consume(
    db: &impl Db,
    level: SchemaLevel,
    code_hash: &str,
    code_challenge: &str,
) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "DELETE FROM {} WHERE code_hash = $1 AND code_challenge = $2 \
             AND expires_at > now() RETURNING user_id",
            table(level)
        ))
        .await?;
    let row = db.query_opt(&stmt, &[&code_hash, &code_challenge]).await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}
