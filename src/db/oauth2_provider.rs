//! SQL of the OAuth2/OIDC identity provider (Nhost Auth 0.46+): the tables of migrations
//! 20 and 22 (`auth.oauth2_clients`, `auth.oauth2_auth_requests`,
//! `auth.oauth2_authorization_codes`, `auth.oauth2_refresh_tokens`). The provider only
//! runs from schema level 22 on (checked at start-up), so nothing here asks the level.
//! Codes and refresh tokens are stored as hex SHA-256 of the value handed out.

use super::Db;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::DbError;

/// The columns of [`ClientRow`], in its order.
const CLIENT_COLUMNS: &str = "client_id, client_secret_hash, redirect_uris, scopes, type, \
                              metadata, metadata_document_fetched_at";

/// A row of `auth.oauth2_clients`.
#[derive(Clone)]
pub struct ClientRow {
    pub client_id: String,
    /// bcrypt hash of the secret; `None` for a public client.
    pub client_secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// `registered` or `client_id_metadata_document`.
    pub kind: String,
    pub metadata: Option<Value>,
    pub metadata_document_fetched_at: Option<DateTime<Utc>>,
}

/// Never prints the secret's hash.
impl std::fmt::Debug for ClientRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRow")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret_hash.is_some())
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn client_row(r: &tokio_postgres::Row) -> Result<ClientRow, DbError> {
    Ok(ClientRow {
        client_id: r.try_get(0)?,
        client_secret_hash: r.try_get(1)?,
        redirect_uris: r.try_get(2)?,
        scopes: r.try_get(3)?,
        kind: r.try_get(4)?,
        metadata: r.try_get(5)?,
        metadata_document_fetched_at: r.try_get(6)?,
    })
}

/// The client with this id, if any.
pub async fn find_client(db: &impl Db, client_id: &str) -> Result<Option<ClientRow>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "SELECT {CLIENT_COLUMNS} FROM auth.oauth2_clients WHERE client_id = $1"
        ))
        .await?;
    db.query_opt(&stmt, &[&client_id])
        .await?
        .as_ref()
        .map(client_row)
        .transpose()
}

/// What an authorization request stores (`auth.oauth2_auth_requests`).
pub struct NewAuthRequest<'a> {
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub redirect_uri: &'a str,
    pub state: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub response_type: &'a str,
    pub code_challenge: Option<&'a str>,
    pub code_challenge_method: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// Stores an authorization request valid `ttl_secs`; returns its id.
pub async fn insert_auth_request(
    db: &impl Db,
    req: &NewAuthRequest<'_>,
    ttl_secs: i64,
) -> Result<uuid::Uuid, DbError> {
    let stmt = db
        .prepare_cached(
            "INSERT INTO auth.oauth2_auth_requests (client_id, scopes, redirect_uri, state, \
             nonce, response_type, code_challenge, code_challenge_method, resource, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             now() + make_interval(secs => $10::bigint)) RETURNING id",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &req.client_id,
                &req.scopes,
                &req.redirect_uri,
                &req.state,
                &req.nonce,
                &req.response_type,
                &req.code_challenge,
                &req.code_challenge_method,
                &req.resource,
                &ttl_secs,
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// An authorization request as the consent UI sees it.
pub struct AuthRequestRow {
    pub id: uuid::Uuid,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    pub done: bool,
    pub expired: bool,
}

/// The authorization request with this id, expired or not.
pub async fn find_auth_request(
    db: &impl Db,
    id: uuid::Uuid,
) -> Result<Option<AuthRequestRow>, DbError> {
    let stmt = db
        .prepare_cached(
            "SELECT id, client_id, scopes, redirect_uri, done, expires_at <= now() \
             FROM auth.oauth2_auth_requests WHERE id = $1",
        )
        .await?;
    let Some(r) = db.query_opt(&stmt, &[&id]).await? else {
        return Ok(None);
    };
    Ok(Some(AuthRequestRow {
        id: r.try_get(0)?,
        client_id: r.try_get(1)?,
        scopes: r.try_get(2)?,
        redirect_uri: r.try_get(3)?,
        done: r.try_get(4)?,
        expired: r.try_get(5)?,
    }))
}

/// A completed authorization request: where the code goes.
pub struct CompletedRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
}

/// Completes a pending, unexpired request for `user_id` and stores the code's hash
/// (valid `code_ttl_secs`), in one statement: of two concurrent completions one wins.
/// `None` when the request is unknown, expired or already completed.
pub async fn complete_auth_request(
    db: &impl Db,
    id: uuid::Uuid,
    user_id: uuid::Uuid,
    code_hash: &str,
    code_ttl_secs: i64,
) -> Result<Option<CompletedRequest>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH req AS ( \
               UPDATE auth.oauth2_auth_requests SET done = true, user_id = $2, auth_time = now() \
               WHERE id = $1 AND NOT done AND expires_at > now() \
               RETURNING id, client_id, redirect_uri, state), \
             code AS ( \
               INSERT INTO auth.oauth2_authorization_codes (code_hash, auth_request_id, expires_at) \
               SELECT $3, id, now() + make_interval(secs => $4::bigint) FROM req) \
             SELECT client_id, redirect_uri, state FROM req",
        )
        .await?;
    let Some(r) = db
        .query_opt(&stmt, &[&id, &user_id, &code_hash, &code_ttl_secs])
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(CompletedRequest {
        client_id: r.try_get(0)?,
        redirect_uri: r.try_get(1)?,
        state: r.try_get(2)?,
    }))
}

/// Ends a pending, unexpired request without a user (the user denied it): it can no
/// longer be completed. `None` when it is unknown, expired or already completed.
pub async fn deny_auth_request(
    db: &impl Db,
    id: uuid::Uuid,
) -> Result<Option<CompletedRequest>, DbError> {
    let stmt = db
        .prepare_cached(
            "UPDATE auth.oauth2_auth_requests SET done = true \
             WHERE id = $1 AND NOT done AND expires_at > now() \
             RETURNING client_id, redirect_uri, state",
        )
        .await?;
    let Some(r) = db.query_opt(&stmt, &[&id]).await? else {
        return Ok(None);
    };
    Ok(Some(CompletedRequest {
        client_id: r.try_get(0)?,
        redirect_uri: r.try_get(1)?,
        state: r.try_get(2)?,
    }))
}

/// What a metadata document gives a client (`type='client_id_metadata_document'`).
pub struct CimdClient<'a> {
    pub client_id: &'a str,
    pub redirect_uris: &'a [String],
    pub scopes: &'a [String],
    pub metadata: &'a Value,
}

/// Creates or refreshes the row of a metadata-document client (always public) and
/// returns it. A registered client that happens to have this id is left alone: `None`.
pub async fn upsert_cimd_client(
    db: &impl Db,
    client: &CimdClient<'_>,
) -> Result<Option<ClientRow>, DbError> {
    let stmt = db
        .prepare_cached(&format!(
            "INSERT INTO auth.oauth2_clients (client_id, client_secret_hash, redirect_uris, \
             scopes, type, metadata, metadata_document_fetched_at) \
             VALUES ($1, NULL, $2, $3, 'client_id_metadata_document', $4, now()) \
             ON CONFLICT (client_id) DO UPDATE SET client_secret_hash = NULL, \
             redirect_uris = EXCLUDED.redirect_uris, scopes = EXCLUDED.scopes, \
             metadata = EXCLUDED.metadata, metadata_document_fetched_at = now() \
             WHERE auth.oauth2_clients.type = 'client_id_metadata_document' \
             RETURNING {CLIENT_COLUMNS}"
        ))
        .await?;
    db.query_opt(
        &stmt,
        &[
            &client.client_id,
            &client.redirect_uris,
            &client.scopes,
            client.metadata,
        ],
    )
    .await?
    .as_ref()
    .map(client_row)
    .transpose()
}
