//! SQL for WebAuthn: security keys in `auth.user_security_keys` (upstream's columns,
//! upstream's encoding), their extra flags in `hasura_auth.webauthn_credentials`, and
//! ceremonies in progress in `hasura_auth.webauthn_ceremonies`.

use super::Db;
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::DbError;

/// The unique constraint on `auth.user_security_keys.credential_id`.
pub(crate) const CREDENTIAL_ID_KEY: &str = "user_security_key_credential_id_key";

/// Flags the relying-party library tracks per credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFlags {
    pub user_verified: bool,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

/// A row of `auth.user_security_keys`, with our flags when we have seen the key.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub id: Uuid,
    pub user_id: Uuid,
    /// base64url without padding of the raw credential id (upstream's encoding).
    pub credential_id: String,
    /// COSE_Key bytes.
    pub public_key: Option<Vec<u8>>,
    pub counter: i64,
    /// Comma-separated W3C transport names (upstream leaves it empty).
    pub transports: String,
    pub flags: Option<KeyFlags>,
}

/// A credential to insert.
pub struct NewKey<'a> {
    pub credential_id: &'a str,
    pub public_key: &'a [u8],
    pub counter: i64,
    pub transports: &'a str,
    pub nickname: Option<&'a str>,
    pub flags: KeyFlags,
}

const KEY_COLUMNS: &str = "k.id, k.user_id, k.credential_id, k.credential_public_key, k.counter, \
     k.transports, f.user_verified, f.backup_eligible, f.backup_state";

fn key_from_row(row: &Row) -> Result<StoredKey, DbError> {
    let user_verified: Option<bool> = row.try_get(6)?;
    let backup_eligible: Option<bool> = row.try_get(7)?;
    let backup_state: Option<bool> = row.try_get(8)?;
    let flags = match (user_verified, backup_eligible, backup_state) {
        (Some(user_verified), Some(backup_eligible), Some(backup_state)) => Some(KeyFlags {
            user_verified,
            backup_eligible,
            backup_state,
        }),
        _ => None,
    };
    Ok(StoredKey {
        id: row.try_get(0)?,
        user_id: row.try_get(1)?,
        credential_id: row.try_get(2)?,
        public_key: row.try_get(3)?,
        counter: row.try_get(4)?,
        transports: row.try_get(5)?,
        flags,
    })
}

/// All keys of a user, in a stable order (the table has no creation time).
pub async fn keys_of_user(db: &impl Db, user_id: Uuid) -> Result<Vec<StoredKey>, DbError> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM auth.user_security_keys k \
         LEFT JOIN hasura_auth.webauthn_credentials f ON f.credential_id = k.credential_id \
         WHERE k.user_id = $1 ORDER BY k.id"
    );
    let stmt = db.prepare_cached(&sql).await?;
    db.query(&stmt, &[&user_id])
        .await?
        .iter()
        .map(key_from_row)
        .collect()
}

/// True when the error is the unique violation on the credential id.
fn is_duplicate_credential(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION
            && db.constraint() == Some(CREDENTIAL_ID_KEY)
    })
}

/// Adds a key to an existing user. `Ok(None)`: that credential id is already registered.
pub async fn insert_key(
    db: &impl Db,
    user_id: Uuid,
    key: &NewKey<'_>,
) -> Result<Option<Uuid>, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH k AS (INSERT INTO auth.user_security_keys \
               (user_id, credential_id, credential_public_key, counter, transports, nickname) \
               VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, credential_id), \
             f AS (INSERT INTO hasura_auth.webauthn_credentials \
               (credential_id, user_verified, backup_eligible, backup_state) \
               SELECT credential_id, $7::boolean, $8::boolean, $9::boolean FROM k \
               ON CONFLICT (credential_id) DO UPDATE SET user_verified = EXCLUDED.user_verified, \
                 backup_eligible = EXCLUDED.backup_eligible, backup_state = EXCLUDED.backup_state) \
             SELECT id FROM k",
        )
        .await?;
    let result = db
        .query_one(
            &stmt,
            &[
                &user_id,
                &key.credential_id,
                &key.public_key,
                &key.counter,
                &key.transports,
                &key.nickname,
                &key.flags.user_verified,
                &key.flags.backup_eligible,
                &key.flags.backup_state,
            ],
        )
        .await;
    match result {
        Ok(row) => Ok(Some(row.try_get(0)?)),
        Err(e) if is_duplicate_credential(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records a successful assertion: the new signature counter (compare-and-swap on the
/// counter that was verified against, so two uses racing with the same counter value
/// cannot both pass) and the credential's flags. Returns false when the counter moved
/// meanwhile.
pub async fn record_use(
    db: &impl Db,
    credential_id: &str,
    verified_against: i64,
    counter: i64,
    flags: KeyFlags,
) -> Result<bool, DbError> {
    let stmt = db
        .prepare_cached(
            "WITH k AS (UPDATE auth.user_security_keys SET counter = $3 \
               WHERE credential_id = $1 AND counter = $2 RETURNING credential_id), \
             f AS (INSERT INTO hasura_auth.webauthn_credentials \
               (credential_id, user_verified, backup_eligible, backup_state) \
               SELECT credential_id, $4::boolean, $5::boolean, $6::boolean FROM k \
               ON CONFLICT (credential_id) DO UPDATE SET \
                 backup_eligible = EXCLUDED.backup_eligible, backup_state = EXCLUDED.backup_state) \
             SELECT count(*) FROM k",
        )
        .await?;
    let row = db
        .query_one(
            &stmt,
            &[
                &credential_id,
                &verified_against,
                &counter,
                &flags.user_verified,
                &flags.backup_eligible,
                &flags.backup_state,
            ],
        )
        .await?;
    let updated: i64 = row.try_get(0)?;
    Ok(updated == 1)
}

/// Which ceremony a challenge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Signup,
    AddKey,
    Signin,
    Elevate,
}

impl CeremonyKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::AddKey => "add-key",
            Self::Signin => "signin",
            Self::Elevate => "elevate",
        }
    }
}

/// A ceremony as stored.
pub struct Ceremony {
    pub user_id: Option<Uuid>,
    pub state: Value,
    pub signup: Option<Value>,
}

/// Stores a new ceremony valid for `ttl_ms`, purging expired ones on the way.
pub async fn insert_ceremony(
    db: &impl Db,
    challenge: &str,
    kind: CeremonyKind,
    user_id: Option<Uuid>,
    state: &Value,
    signup: Option<&Value>,
    ttl_ms: i64,
) -> Result<(), DbError> {
    let stmt = db
        .prepare_cached(
            "WITH purge AS (DELETE FROM hasura_auth.webauthn_ceremonies WHERE expires_at < now()) \
             INSERT INTO hasura_auth.webauthn_ceremonies \
               (challenge, kind, user_id, state, signup, expires_at) \
             VALUES ($1, $2, $3, $4, $5, now() + $6::bigint * interval '1 millisecond')",
        )
        .await?;
    db.execute(
        &stmt,
        &[
            &challenge,
            &kind.as_str(),
            &user_id,
            state,
            &signup,
            &ttl_ms,
        ],
    )
    .await?;
    Ok(())
}

/// Takes a ceremony out of the table: it can be used once. Only a live ceremony of the
/// given kind (and, when given, of that user) is returned; an expired one is deleted
/// all the same.
pub async fn take_ceremony(
    db: &impl Db,
    challenge: &str,
    kind: CeremonyKind,
    user_id: Option<Uuid>,
) -> Result<Option<Ceremony>, DbError> {
    let stmt = db
        .prepare_cached(
            "DELETE FROM hasura_auth.webauthn_ceremonies \
             WHERE challenge = $1 AND kind = $2 AND ($3::uuid IS NULL OR user_id = $3) \
             RETURNING user_id, state, signup, expires_at > now()",
        )
        .await?;
    let Some(row) = db
        .query_opt(&stmt, &[&challenge, &kind.as_str(), &user_id])
        .await?
    else {
        return Ok(None);
    };
    let live: bool = row.try_get(3)?;
    if !live {
        return Ok(None);
    }
    Ok(Some(Ceremony {
        user_id: row.try_get(0)?,
        state: row.try_get(1)?,
        signup: row.try_get(2)?,
    }))
}
