//! Hasura: the metadata sync at start-up (SPEC §6) and the GraphQL lookup behind custom
//! claims (SPEC §4.5).
//!
//! The sync sends upstream's nine `pg_track_table` requests, one per table, in upstream's
//! order and field order, to the metadata endpoint derived from `HASURA_GRAPHQL_GRAPHQL_URL`.
//! Unlike upstream, a Hasura that is still starting (connection refused, 5xx, 429) is
//! retried with backoff until `AUTH_HASURA_METADATA_SYNC_TIMEOUT`; other answers fail at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::{Config, Secret};

/// Upstream's HTTP timeout for each metadata request.
const METADATA_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum HasuraError {
    #[error("cannot reach {url}: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("{url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} answered with an unexpected body: {reason}")]
    Body { url: String, reason: String },
}

impl HasuraError {
    /// Worth retrying while Hasura starts: no answer, 5xx or 429.
    fn is_transient(&self) -> bool {
        match self {
            HasuraError::Unreachable { .. } => true,
            HasuraError::Status { status, .. } => *status >= 500 || *status == 429,
            HasuraError::Body { .. } => false,
        }
    }
}

/// `…/v1/graphql` → `…/v1/metadata` (upstream replaces the first occurrence).
pub fn metadata_url(graphql_url: &str) -> String {
    graphql_url.replacen("/v1/graphql", "/v1/metadata", 1)
}

// ---- the nine pg_track_table requests ----

#[derive(Debug, Serialize)]
pub struct TrackTable {
    #[serde(rename = "type")]
    kind: &'static str,
    args: TrackTableArgs,
}

#[derive(Debug, Serialize)]
struct TrackTableArgs {
    source: &'static str,
    table: TableName,
    configuration: TableConfiguration,
}

#[derive(Debug, Serialize)]
struct TableName {
    schema: &'static str,
    name: &'static str,
}

#[derive(Debug, Serialize)]
struct TableConfiguration {
    custom_name: String,
    custom_root_fields: RootFields,
    /// `null` when upstream configures none (refresh_token_types).
    custom_column_names: Option<BTreeMap<&'static str, &'static str>>,
}

#[derive(Debug, Serialize)]
struct RootFields {
    select: String,
    select_by_pk: String,
    select_aggregate: String,
    insert: String,
    insert_one: String,
    update: String,
    update_by_pk: String,
    delete: String,
    delete_by_pk: String,
}

impl TrackTable {
    pub fn table(&self) -> &'static str {
        self.args.table.name
    }
}

/// `plural`/`singular` are the custom names, e.g. `authRoles`/`authRole`.
fn track(
    table: &'static str,
    plural: &str,
    singular: &str,
    columns: Option<&[(&'static str, &'static str)]>,
) -> TrackTable {
    let upper = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    TrackTable {
        kind: "pg_track_table",
        args: TrackTableArgs {
            source: "default",
            table: TableName {
                schema: "auth",
                name: table,
            },
            configuration: TableConfiguration {
                custom_name: plural.to_owned(),
                custom_root_fields: RootFields {
                    select: plural.to_owned(),
                    select_by_pk: singular.to_owned(),
                    select_aggregate: format!("{plural}Aggregate"),
                    insert: format!("insert{}", upper(plural)),
                    insert_one: format!("insert{}", upper(singular)),
                    update: format!("update{}", upper(plural)),
                    update_by_pk: format!("update{}", upper(singular)),
                    delete: format!("delete{}", upper(plural)),
                    delete_by_pk: format!("delete{}", upper(singular)),
                },
                custom_column_names: columns.map(|c| c.iter().copied().collect()),
            },
        },
    }
}

/// Upstream's requests, in upstream's order (go/migrations/hasura.go).
pub fn track_table_requests() -> Vec<TrackTable> {
    vec![
        track(
            "provider_requests",
            "authProviderRequests",
            "authProviderRequest",
            Some(&[("id", "id"), ("options", "options")]),
        ),
        track(
            "refresh_token_types",
            "authRefreshTokenTypes",
            "authRefreshTokenType",
            None,
        ),
        track(
            "refresh_tokens",
            "authRefreshTokens",
            "authRefreshToken",
            Some(&[
                ("refresh_token_hash", "refreshTokenHash"),
                ("created_at", "createdAt"),
                ("expires_at", "expiresAt"),
                ("user_id", "userId"),
            ]),
        ),
        track("roles", "authRoles", "authRole", Some(&[("role", "role")])),
        track(
            "user_providers",
            "authUserProviders",
            "authUserProvider",
            Some(&[
                ("id", "id"),
                ("created_at", "createdAt"),
                ("updated_at", "updatedAt"),
                ("user_id", "userId"),
                ("access_token", "accessToken"),
                ("refresh_token", "refreshToken"),
                ("provider_id", "providerId"),
                ("provider_user_id", "providerUserId"),
            ]),
        ),
        track(
            "user_roles",
            "authUserRoles",
            "authUserRole",
            Some(&[
                ("id", "id"),
                ("created_at", "createdAt"),
                ("user_id", "userId"),
                ("role", "role"),
            ]),
        ),
        track(
            "users",
            "users",
            "user",
            Some(&[
                ("id", "id"),
                ("created_at", "createdAt"),
                ("updated_at", "updatedAt"),
                ("last_seen", "lastSeen"),
                ("disabled", "disabled"),
                ("display_name", "displayName"),
                ("avatar_url", "avatarUrl"),
                ("locale", "locale"),
                ("email", "email"),
                ("phone_number", "phoneNumber"),
                ("password_hash", "passwordHash"),
                ("email_verified", "emailVerified"),
                ("phone_number_verified", "phoneNumberVerified"),
                ("new_email", "newEmail"),
                ("otp_method_last_used", "otpMethodLastUsed"),
                ("otp_hash", "otpHash"),
                ("otp_hash_expires_at", "otpHashExpiresAt"),
                ("default_role", "defaultRole"),
                ("is_anonymous", "isAnonymous"),
                ("totp_secret", "totpSecret"),
                ("active_mfa_type", "activeMfaType"),
                ("ticket", "ticket"),
                ("ticket_expires_at", "ticketExpiresAt"),
                ("webauthn_current_challenge", "currentChallenge"),
            ]),
        ),
        track(
            "providers",
            "authProviders",
            "authProvider",
            Some(&[("id", "id")]),
        ),
        track(
            "user_security_keys",
            "authUserSecurityKeys",
            "authUserSecurityKey",
            Some(&[
                ("id", "id"),
                ("user_id", "userId"),
                ("credential_id", "credentialId"),
                ("credential_public_key", "credentialPublicKey"),
            ]),
        ),
    ]
}

/// One metadata request; `already-tracked`/`already-exists` answers count as success.
async fn post_metadata(
    client: &reqwest::Client,
    url: &str,
    admin_secret: &Secret,
    body: &TrackTable,
) -> Result<(), HasuraError> {
    let body = serde_json::to_vec(body).map_err(|e| HasuraError::Body {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    let res = client
        .post(url)
        .header("Content-Type", "application/json; charset=UTF-8")
        .header("X-Hasura-Admin-Secret", admin_secret.expose())
        .timeout(METADATA_REQUEST_TIMEOUT)
        .body(body)
        .send()
        .await
        .map_err(|e| HasuraError::Unreachable {
            url: url.to_owned(),
            cause: error_chain(&e),
        })?;
    let status = res.status().as_u16();
    if status == 200 {
        return Ok(());
    }
    let text = res.text().await.unwrap_or_default();
    let code = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
    match code.as_deref() {
        Some("already-tracked" | "already-exists") => Ok(()),
        _ => Err(HasuraError::Status {
            url: url.to_owned(),
            status,
            body: text.chars().take(500).collect(),
        }),
    }
}

/// Why the start-up sync failed; the message tells the operator what to do.
#[derive(Debug, thiserror::Error)]
#[error(
    "Hasura metadata sync failed for table auth.{table}: {cause}{hint}. \
     Check HASURA_GRAPHQL_GRAPHQL_URL and HASURA_GRAPHQL_ADMIN_SECRET, or set \
     AUTH_HASURA_METADATA_SYNC=false to start without it"
)]
pub struct MetadataSyncError {
    pub table: &'static str,
    pub cause: HasuraError,
    hint: String,
}

/// Tracks the auth tables, retrying transient failures until `budget` is spent.
pub async fn sync_metadata(
    client: &reqwest::Client,
    graphql_url: &str,
    admin_secret: &Secret,
    budget: Duration,
) -> Result<(), MetadataSyncError> {
    let url = metadata_url(graphql_url);
    let deadline = Instant::now() + budget;
    for request in track_table_requests() {
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            match post_metadata(client, &url, admin_secret, &request).await {
                Ok(()) => break,
                Err(e) if e.is_transient() && Instant::now() + delay < deadline => {
                    tracing::warn!(
                        table = request.table(),
                        error = %e,
                        retry_in_ms = delay.as_millis() as u64,
                        "Hasura not ready for the metadata sync; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY_DELAY);
                }
                Err(e) => {
                    let hint = if e.is_transient() {
                        format!(
                            " (still failing after {attempts} attempts over {})",
                            crate::config::parse::format_go_duration(budget)
                        )
                    } else {
                        String::new()
                    };
                    return Err(MetadataSyncError {
                        table: request.table(),
                        cause: e,
                        hint,
                    });
                }
            }
        }
    }
    tracing::info!(url = %url, tables = 9, "Hasura metadata: auth tables tracked");
    Ok(())
}

/// Start-up step: sync unless disabled or no GraphQL URL is configured.
pub async fn sync_at_startup(
    client: &reqwest::Client,
    config: &Config,
) -> Result<(), MetadataSyncError> {
    if !config.hasura.hasura_metadata_sync {
        tracing::info!("Hasura metadata sync skipped (AUTH_HASURA_METADATA_SYNC=false)");
        return Ok(());
    }
    if config.hasura.graphql_url.trim().is_empty() {
        tracing::info!(
            "Hasura metadata sync skipped: no HASURA_GRAPHQL_GRAPHQL_URL (development mode)"
        );
        return Ok(());
    }
    sync_metadata(
        client,
        &config.hasura.graphql_url,
        &config.hasura.hasura_admin_secret,
        config.hasura.hasura_metadata_sync_timeout,
    )
    .await
}

// ---- GraphQL lookup for custom claims ----

/// Runs `query` with `{"id": user_id}` and returns `data.user` (an object).
pub async fn fetch_user(
    client: &reqwest::Client,
    graphql_url: &str,
    admin_secret: &Secret,
    query: &str,
    user_id: Uuid,
    timeout: Duration,
) -> Result<Value, HasuraError> {
    let body = json!({ "query": query, "variables": { "id": user_id.to_string() } });
    let res = client
        .post(graphql_url)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
        .header("X-Hasura-Admin-Secret", admin_secret.expose())
        .timeout(timeout)
        .json(&body)
        .send()
        .await
        .map_err(|e| HasuraError::Unreachable {
            url: graphql_url.to_owned(),
            cause: error_chain(&e),
        })?;
    let status = res.status().as_u16();
    let text = res.text().await.map_err(|e| HasuraError::Unreachable {
        url: graphql_url.to_owned(),
        cause: error_chain(&e),
    })?;
    if status != 200 {
        return Err(HasuraError::Status {
            url: graphql_url.to_owned(),
            status,
            body: text.chars().take(500).collect(),
        });
    }
    let body_error = |reason: &str| HasuraError::Body {
        url: graphql_url.to_owned(),
        reason: reason.to_owned(),
    };
    let mut value: Value = serde_json::from_str(&text).map_err(|_| body_error("not JSON"))?;
    match value.get_mut("data").and_then(|d| d.get_mut("user")) {
        Some(user @ Value::Object(_)) => Ok(user.take()),
        _ => Err(body_error(&format!(
            "no data.user object: {}",
            text.chars().take(300).collect::<String>()
        ))),
    }
}

/// The error and its sources, for messages that say why a connection failed.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hasura_metadata_url_replaces_the_first_graphql_path() {
        assert_eq!(
            metadata_url("http://graphql:8080/v1/graphql"),
            "http://graphql:8080/v1/metadata"
        );
        assert_eq!(
            metadata_url("https://h/v1/graphql/v1/graphql"),
            "https://h/v1/metadata/v1/graphql"
        );
    }

    #[test]
    fn hasura_requests_follow_upstream_field_order() {
        let all = track_table_requests();
        assert_eq!(all.len(), 9);
        let roles = serde_json::to_string(&all[3]).unwrap();
        assert_eq!(
            roles,
            r#"{"type":"pg_track_table","args":{"source":"default","table":{"schema":"auth","name":"roles"},"configuration":{"custom_name":"authRoles","custom_root_fields":{"select":"authRoles","select_by_pk":"authRole","select_aggregate":"authRolesAggregate","insert":"insertAuthRoles","insert_one":"insertAuthRole","update":"updateAuthRoles","update_by_pk":"updateAuthRole","delete":"deleteAuthRoles","delete_by_pk":"deleteAuthRole"},"custom_column_names":{"role":"role"}}}}"#
        );
        let types = serde_json::to_value(&all[1]).unwrap();
        assert!(types["args"]["configuration"]["custom_column_names"].is_null());
    }
}
