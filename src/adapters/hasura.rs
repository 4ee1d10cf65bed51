//! Hasura: the metadata sync at start-up (SPEC §6) and the GraphQL lookup behind custom
//! claims (SPEC §4.5).
//!
//! The sync sends upstream's requests, one at a time, in upstream's order and field order,
//! to the metadata endpoint derived from `HASURA_GRAPHQL_GRAPHQL_URL`: v0.42's nine
//! `pg_track_table` requests on a schema below level 20, Nhost Auth 0.52's thirteen and
//! their relationships from 20 on (the level decides which tables exist).
//! Unlike upstream, a Hasura that is still starting (connection refused, 5xx, 429) is
//! retried with backoff until `AUTH_HASURA_METADATA_SYNC_TIMEOUT`; other answers fail at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::config::{Config, Secret};
use crate::db::SchemaLevel;

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

// ---- the metadata requests ----

#[derive(Debug, Serialize)]
pub struct TrackTable {
    #[serde(rename = "type")]
    kind: &'static str,
    args: TrackTableArgs,
    /// 0.52 marks `refresh_token_types` as an enum table (sent after `args`, as Go's
    /// encoder writes upstream's struct).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_enum: bool,
}

#[derive(Debug, Serialize)]
struct TrackTableArgs {
    source: &'static str,
    table: TableName,
    configuration: TableConfiguration,
    /// 0.52 lists the table's relationships in its track request too (and creates them
    /// with separate requests afterwards).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    object_relationships: Vec<ObjectRelationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    array_relationships: Vec<ArrayRelationship>,
}

#[derive(Debug, Clone, Copy, Serialize)]
struct TableName {
    schema: &'static str,
    name: &'static str,
}

const fn auth(name: &'static str) -> TableName {
    TableName {
        schema: "auth",
        name,
    }
}

#[derive(Debug, Serialize)]
struct TableConfiguration {
    custom_name: String,
    custom_root_fields: RootFields,
    /// `null` when upstream configures none (refresh_token_types in v0.42).
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

/// A many-to-one relationship through a foreign key of the table itself.
#[derive(Debug, Clone, Serialize)]
struct ObjectRelationship {
    name: &'static str,
    using: ObjectUsing,
}

#[derive(Debug, Clone, Serialize)]
struct ObjectUsing {
    foreign_key_constraint_on: &'static str,
}

/// A one-to-many relationship through a foreign key of another table.
#[derive(Debug, Clone, Serialize)]
struct ArrayRelationship {
    name: &'static str,
    using: ArrayUsing,
}

#[derive(Debug, Clone, Serialize)]
struct ArrayUsing {
    foreign_key_constraint_on: RemoteKey,
}

#[derive(Debug, Clone, Serialize)]
struct RemoteKey {
    table: TableName,
    columns: Vec<&'static str>,
}

/// `pg_create_object_relationship` / `pg_create_array_relationship`, with the fields in
/// 0.52's order (table, name, source, using).
#[derive(Debug, Serialize)]
pub struct CreateRelationship {
    #[serde(rename = "type")]
    kind: &'static str,
    args: CreateRelationshipArgs,
}

#[derive(Debug, Serialize)]
struct CreateRelationshipArgs {
    table: TableName,
    name: &'static str,
    source: &'static str,
    using: CreateUsing,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum CreateUsing {
    /// An object relationship names its column(s) as a list in the create request.
    Object {
        foreign_key_constraint_on: Vec<&'static str>,
    },
    Array {
        foreign_key_constraint_on: RemoteKey,
    },
}

/// One request of the start-up sync.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum MetadataRequest {
    Track(Box<TrackTable>),
    Relationship(CreateRelationship),
}

impl MetadataRequest {
    /// The `auth` table the request is about.
    pub fn table(&self) -> &'static str {
        match self {
            MetadataRequest::Track(t) => t.args.table.name,
            MetadataRequest::Relationship(r) => r.args.table.name,
        }
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
            table: auth(table),
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
            object_relationships: Vec::new(),
            array_relationships: Vec::new(),
        },
        is_enum: false,
    }
}

impl TrackTable {
    /// Adds object relationships: (name, column of this table).
    fn object(mut self, rels: &[(&'static str, &'static str)]) -> TrackTable {
        self.args
            .object_relationships
            .extend(rels.iter().map(|&(name, column)| ObjectRelationship {
                name,
                using: ObjectUsing {
                    foreign_key_constraint_on: column,
                },
            }));
        self
    }

    /// Adds array relationships: (name, other table, its column).
    fn array(mut self, rels: &[(&'static str, &'static str, &'static str)]) -> TrackTable {
        self.args
            .array_relationships
            .extend(rels.iter().map(|&(name, table, column)| ArrayRelationship {
                name,
                using: ArrayUsing {
                    foreign_key_constraint_on: RemoteKey {
                        table: auth(table),
                        columns: vec![column],
                    },
                },
            }));
        self
    }

    fn enum_table(mut self) -> TrackTable {
        self.is_enum = true;
        self
    }

    /// The create requests of the table's relationships: object ones first, in order.
    fn relationship_requests(&self) -> impl Iterator<Item = CreateRelationship> + '_ {
        let table = self.args.table;
        let source = self.args.source;
        let objects = self
            .args
            .object_relationships
            .iter()
            .map(move |r| CreateRelationship {
                kind: "pg_create_object_relationship",
                args: CreateRelationshipArgs {
                    table,
                    name: r.name,
                    source,
                    using: CreateUsing::Object {
                        foreign_key_constraint_on: vec![r.using.foreign_key_constraint_on],
                    },
                },
            });
        let arrays = self
            .args
            .array_relationships
            .iter()
            .map(move |r| CreateRelationship {
                kind: "pg_create_array_relationship",
                args: CreateRelationshipArgs {
                    table,
                    name: r.name,
                    source,
                    using: CreateUsing::Array {
                        foreign_key_constraint_on: r.using.foreign_key_constraint_on.clone(),
                    },
                },
            });
        objects.chain(arrays)
    }
}

const USERS_COLUMNS: &[(&str, &str)] = &[
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
];

/// The tables both generations track, in upstream's order (go/migrations/hasura.go),
/// without relationships; `refresh_token_columns` is v0.42's `None` or 0.52's names.
fn common_tables(
    refresh_token_type_columns: Option<&[(&'static str, &'static str)]>,
) -> [TrackTable; 9] {
    [
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
            refresh_token_type_columns,
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
        track("users", "users", "user", Some(USERS_COLUMNS)),
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

/// Upstream v0.42's nine `pg_track_table` requests, in its order, nothing else.
pub fn track_table_requests() -> Vec<TrackTable> {
    common_tables(None).into()
}

/// Nhost Auth 0.52's thirteen tables (hasura.go @92ec54cf): the nine with their
/// relationships, then the identity provider's four.
fn v052_tables() -> Vec<TrackTable> {
    let [
        provider_requests,
        refresh_token_types,
        refresh_tokens,
        roles,
        user_providers,
        user_roles,
        users,
        providers,
        user_security_keys,
    ] = common_tables(Some(&[("value", "value"), ("comment", "comment")]));
    vec![
        provider_requests,
        refresh_token_types
            .enum_table()
            .array(&[("refreshTokens", "refresh_tokens", "type")]),
        refresh_tokens.object(&[("user", "user_id")]),
        roles.array(&[
            ("userRoles", "user_roles", "role"),
            ("usersByDefaultRole", "users", "default_role"),
        ]),
        user_providers.object(&[("user", "user_id"), ("provider", "provider_id")]),
        user_roles.object(&[("user", "user_id"), ("roleByRole", "role")]),
        users
            .object(&[("defaultRoleByRole", "default_role")])
            .array(&[
                ("userProviders", "user_providers", "user_id"),
                ("roles", "user_roles", "user_id"),
                ("refreshTokens", "refresh_tokens", "user_id"),
                ("securityKeys", "user_security_keys", "user_id"),
                ("oauth2AuthRequests", "oauth2_auth_requests", "user_id"),
                ("oauth2RefreshTokens", "oauth2_refresh_tokens", "user_id"),
            ]),
        providers.array(&[("userProviders", "user_providers", "provider_id")]),
        user_security_keys.object(&[("user", "user_id")]),
        track(
            "oauth2_clients",
            "authOauth2Clients",
            "authOauth2Client",
            Some(&[
                ("client_id", "clientId"),
                ("client_secret_hash", "clientSecretHash"),
                ("redirect_uris", "redirectUris"),
                ("scopes", "scopes"),
                ("type", "type"),
                ("metadata", "metadata"),
                ("metadata_document_fetched_at", "metadataDocumentFetchedAt"),
                ("created_by", "createdBy"),
                ("created_at", "createdAt"),
                ("updated_at", "updatedAt"),
            ]),
        )
        .object(&[("createdByUser", "created_by")])
        .array(&[
            ("authRequests", "oauth2_auth_requests", "client_id"),
            ("oauth2RefreshTokens", "oauth2_refresh_tokens", "client_id"),
        ]),
        track(
            "oauth2_auth_requests",
            "authOauth2AuthRequests",
            "authOauth2AuthRequest",
            Some(&[
                ("id", "id"),
                ("client_id", "clientId"),
                ("scopes", "scopes"),
                ("redirect_uri", "redirectUri"),
                ("state", "state"),
                ("nonce", "nonce"),
                ("response_type", "responseType"),
                ("code_challenge", "codeChallenge"),
                ("code_challenge_method", "codeChallengeMethod"),
                ("resource", "resource"),
                ("user_id", "userId"),
                ("done", "done"),
                ("auth_time", "authTime"),
                ("created_at", "createdAt"),
                ("expires_at", "expiresAt"),
            ]),
        )
        .object(&[("client", "client_id"), ("user", "user_id")])
        .array(&[
            (
                "authorizationCodes",
                "oauth2_authorization_codes",
                "auth_request_id",
            ),
            ("refreshTokens", "oauth2_refresh_tokens", "auth_request_id"),
        ]),
        track(
            "oauth2_authorization_codes",
            "authOauth2AuthorizationCodes",
            "authOauth2AuthorizationCode",
            Some(&[
                ("id", "id"),
                ("code_hash", "codeHash"),
                ("auth_request_id", "authRequestId"),
                ("created_at", "createdAt"),
                ("expires_at", "expiresAt"),
            ]),
        )
        .object(&[("authRequest", "auth_request_id")]),
        track(
            "oauth2_refresh_tokens",
            "authOauth2RefreshTokens",
            "authOauth2RefreshToken",
            Some(&[
                ("id", "id"),
                ("token_hash", "tokenHash"),
                ("auth_request_id", "authRequestId"),
                ("client_id", "clientId"),
                ("user_id", "userId"),
                ("scopes", "scopes"),
                ("created_at", "createdAt"),
                ("expires_at", "expiresAt"),
            ]),
        )
        .object(&[
            ("authRequest", "auth_request_id"),
            ("client", "client_id"),
            ("user", "user_id"),
        ]),
    ]
}

/// The requests of the start-up sync for a schema at `level`. Before 20 (no identity
/// provider tables, i.e. a v0.42-generation database) exactly v0.42's nine track
/// requests; from 20 on 0.52's: its thirteen track requests, then the create request of
/// each relationship (table by table, object ones first), as 0.52 sends them.
pub fn metadata_requests(level: SchemaLevel) -> Vec<MetadataRequest> {
    if !level.has_oauth2_tables() {
        return track_table_requests()
            .into_iter()
            .map(|t| MetadataRequest::Track(Box::new(t)))
            .collect();
    }
    let tables = v052_tables();
    let relationships: Vec<MetadataRequest> = tables
        .iter()
        .flat_map(TrackTable::relationship_requests)
        .map(MetadataRequest::Relationship)
        .collect();
    tables
        .into_iter()
        .map(|t| MetadataRequest::Track(Box::new(t)))
        .chain(relationships)
        .collect()
}

/// One metadata request; `already-tracked`/`already-exists` answers count as success.
async fn post_metadata(
    client: &reqwest::Client,
    url: &str,
    admin_secret: &Secret,
    body: &MetadataRequest,
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

/// Tracks the auth tables the schema at `level` has (and 0.52's relationships from
/// level 20 on), retrying transient failures until `budget` is spent.
pub async fn sync_metadata(
    client: &reqwest::Client,
    graphql_url: &str,
    admin_secret: &Secret,
    budget: Duration,
    level: SchemaLevel,
) -> Result<(), MetadataSyncError> {
    let url = metadata_url(graphql_url);
    let deadline = Instant::now() + budget;
    let requests = metadata_requests(level);
    let tables = requests
        .iter()
        .filter(|r| matches!(r, MetadataRequest::Track(_)))
        .count();
    for request in requests {
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
    tracing::info!(
        url = %url,
        tables,
        schema_level = level.version(),
        "Hasura metadata: auth tables tracked"
    );
    Ok(())
}

/// Start-up step: sync unless disabled or no GraphQL URL is configured.
pub async fn sync_at_startup(
    client: &reqwest::Client,
    config: &Config,
    level: SchemaLevel,
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
        level,
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
