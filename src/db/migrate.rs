//! Embedded schema migrations (upstream's 27 versions) and the takeover of databases
//! that upstream hasura-auth (v0.42, last version 18) or Nhost Auth (0.52, last version
//! 27) has run on.
//!
//! * The 27 steps reproduce upstream's `go/migrations/postgres/*.up.sql` history one by
//!   one, so a database upstream left at version N receives exactly versions N+1..=target.
//! * The target is chosen by [`choose_target`]: a database is never moved past the level
//!   it was found at unless the operator opts in (`AUTH_MIGRATE_TO_LATEST`), because an
//!   older release cannot run on (nor roll back) the later schema. An empty database gets
//!   the latest; one found at 1..=18 is brought to 18.
//! * Two ledgers are kept in the same transaction as each step:
//!   `auth.schema_migrations` exactly as golang-migrate keeps it (one row, the latest
//!   version, `dirty = false`), so upstream recognises a database we migrated, and the
//!   Node-era `auth.migrations` (one row per step we apply, SHA-1 of its SQL).
//! * The current version is read from `auth.schema_migrations`, else from
//!   `MAX(id)` of the Node-era `auth.migrations`, else it is 0.
//! * The whole check-and-apply runs under the same session advisory lock golang-migrate
//!   takes, so concurrent starts (ours or upstream's) apply each step once.
//!
//! See `docs/migrations.md`.

use sha1::{Digest, Sha1};
use tokio_postgres::Client;

use super::schema_level::SchemaLevel;
use crate::tls::Tls;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Version found before running (0 on an empty database).
    pub from_version: i64,
    /// Version after running: the level the service runs on.
    pub to_version: i64,
    /// Versions applied by this run, in order.
    pub applied: Vec<i64>,
    /// Why `to_version` was the target.
    pub reason: TargetReason,
}

impl MigrationReport {
    /// What the schema the service runs on offers.
    pub fn level(&self) -> SchemaLevel {
        SchemaLevel::new(self.to_version)
    }
}

/// The operator's choice of how far migrations may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigratePolicy {
    /// `AUTH_MIGRATE_TO_LATEST`: take any level to [`LATEST_VERSION`].
    pub to_latest: bool,
}

/// Why a level was chosen as the target of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetReason {
    /// Nothing there yet: the latest schema.
    EmptyDatabase,
    /// Found at 1..=18 (upstream v0.42's generation): brought to 18 and kept there, so
    /// that v0.42 can still run on it.
    KeepV042Generation,
    /// Found at 19..=26: kept there, since older Nhost releases cannot roll back later
    /// steps.
    KeepFoundLevel,
    /// Found at the latest level.
    AlreadyLatest,
    /// `AUTH_MIGRATE_TO_LATEST=true`.
    OptedIn,
}

impl TargetReason {
    fn describe(self) -> &'static str {
        match self {
            TargetReason::EmptyDatabase => "empty database: it gets the latest schema",
            TargetReason::KeepV042Generation => {
                "a hasura-auth v0.42-generation database is brought to 18 and kept there so \
                 that v0.42 can still run on it; set AUTH_MIGRATE_TO_LATEST=true to go to the latest"
            }
            TargetReason::KeepFoundLevel => {
                "a database is never moved past the level it was found at (older releases \
                 cannot roll back); set AUTH_MIGRATE_TO_LATEST=true to go to the latest"
            }
            TargetReason::AlreadyLatest => "already at the latest schema",
            TargetReason::OptedIn => "AUTH_MIGRATE_TO_LATEST=true",
        }
    }
}

/// The version a run brings a database found at `found` to, and why.
pub fn choose_target(found: i64, policy: MigratePolicy) -> (i64, TargetReason) {
    let v042 = SchemaLevel::V0_42.version();
    if found >= LATEST_VERSION {
        (found, TargetReason::AlreadyLatest)
    } else if policy.to_latest {
        (LATEST_VERSION, TargetReason::OptedIn)
    } else if found == 0 {
        (LATEST_VERSION, TargetReason::EmptyDatabase)
    } else if found <= v042 {
        (v042, TargetReason::KeepV042Generation)
    } else {
        (found, TargetReason::KeepFoundLevel)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database: {}", describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("{0}")]
    State(String),
    /// `auth.schema_migrations` says a previous run failed half-way through `version`.
    #[error(
        "auth.schema_migrations is dirty at version {version}: a previous migration run \
         failed half-way through version {version}; check the auth schema by hand, then \
         set the row to the last fully applied version with dirty = false"
    )]
    Dirty { version: i64 },
    /// The ledgers name a version this build does not know.
    #[error(
        "the auth schema is at version {found}, which this build does not know \
         (it knows versions 0..={latest})"
    )]
    UnknownVersion { found: i64, latest: i64 },
    /// One step failed; its transaction was rolled back, earlier steps stay applied.
    #[error("migration {name} failed and was rolled back: {}", describe(.source))]
    Apply {
        version: i64,
        name: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// One embedded migration step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// golang-migrate version, also the `auth.migrations.id`.
    pub version: i64,
    /// File stem as upstream names it, e.g. `00001_create-initial-tables`
    /// (also the `auth.migrations.name`).
    pub name: &'static str,
    /// The SQL, run inside one transaction together with both ledger updates.
    pub sql: &'static str,
}

impl Migration {
    /// Lowercase hex SHA-1 of the SQL text, stored in `auth.migrations.hash`.
    pub fn hash(&self) -> String {
        hex::encode(Sha1::digest(self.sql.as_bytes()))
    }
}

macro_rules! migration {
    ($version:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("migrations/", $name, ".sql")),
        }
    };
}

/// Every step, in order, versions 1..=27.
pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "00001_create-initial-tables"),
    migration!(2, "00002_custom-user-fields"),
    migration!(3, "00003_discord-twitch-providers"),
    migration!(4, "00004_provider-request-options"),
    migration!(5, "00005_table-comments"),
    migration!(6, "00006_setup-webauthn"),
    migration!(7, "00007_add_authenticator_nickname"),
    migration!(8, "00008_workos-provider"),
    migration!(9, "00009_rename-authenticator-to-security-key"),
    migration!(10, "00010_azuread-provider"),
    migration!(11, "00011_add_refresh_token_hash_column"),
    migration!(12, "00012_add_refresh_token_metadata"),
    migration!(13, "00013_add_refresh_token_type"),
    migration!(14, "00014_alter_refresh_token_type"),
    migration!(15, "00015_rename_refresh_token_column"),
    migration!(16, "00016_index_on_refresh_tokens"),
    migration!(17, "00017_drop_user_providers_user_id_provider_id_key"),
    migration!(18, "00018_entraid-provider"),
    migration!(19, "00019_locale_varchar_3"),
    migration!(20, "00020_oauth2_provider"),
    migration!(21, "00021_pkce_authorization_codes"),
    migration!(22, "00022_oauth2_graphql_role_scopes"),
    migration!(23, "00023_otp_attempts"),
    migration!(24, "00024_user_new_phone_number"),
    migration!(25, "00025_user_pending_sms_deanonymize_options"),
    migration!(26, "00026_user_new_phone_number_data"),
    migration!(27, "00027_user_new_phone_number_index"),
];

/// Migrations of our own `hasura_auth` schema (state upstream kept in memory). They are
/// applied after upstream's steps, under the same lock, and recorded in
/// `hasura_auth.migrations`, never in upstream's ledgers. Features take their own
/// numbers: 1 schema, 2 SMS/MFA, 3 WebAuthn, 4 OAuth, 5 email workflows, 6 sessions
/// (reuse detection, session clients), 7 PKCE codes, 8 audit and lock-out, 9 phone
/// changes, 11 OAuth2 device codes.
pub const INTERNAL_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_schema",
        sql: include_str!("internal_migrations/0001_schema.sql"),
    },
    Migration {
        version: 2,
        name: "0002_sms_mfa",
        sql: include_str!("internal_migrations/0002_sms_mfa.sql"),
    },
    Migration {
        version: 3,
        name: "0003_webauthn",
        sql: include_str!("internal_migrations/0003_webauthn.sql"),
    },
    Migration {
        version: 4,
        name: "0004_oauth",
        sql: include_str!("internal_migrations/0004_oauth.sql"),
    },
    Migration {
        version: 5,
        name: "0005_email_otp",
        sql: include_str!("internal_migrations/0005_email_otp.sql"),
    },
    Migration {
        version: 6,
        name: "0006_sessions",
        sql: include_str!("internal_migrations/0006_sessions.sql"),
    },
    Migration {
        version: 7,
        name: "0007_pkce_codes",
        sql: include_str!("internal_migrations/0007_pkce_codes.sql"),
    },
    Migration {
        version: 8,
        name: "0008_audit_lockout",
        sql: include_str!("internal_migrations/0008_audit_lockout.sql"),
    },
    Migration {
        version: 9,
        name: "0009_phone_changes",
        sql: include_str!("internal_migrations/0009_phone_changes.sql"),
    },
    Migration {
        version: 11,
        name: "0011_oauth2_device_codes",
        sql: include_str!("internal_migrations/0011_oauth2_device_codes.sql"),
    },
];

/// The version a fully migrated database is at (Nhost Auth 0.52).
pub const LATEST_VERSION: i64 = SchemaLevel::V0_52.version();

const LEDGER_COMMENT: &str = "COMMENT ON TABLE auth.{table} IS 'Internal table for tracking migrations. \
Don''t modify its structure as Hasura Auth relies on it to function properly.';\n";

/// golang-migrate's bookkeeping table, created the way its postgres driver creates it.
const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS auth.schema_migrations \
(version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);\n";

/// The Node-era ledger, created the way the `postgres-migrations` library created it.
const CREATE_NODE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS auth.migrations (\
id integer PRIMARY KEY, \
name varchar(100) UNIQUE NOT NULL, \
hash varchar(40) NOT NULL, \
executed_at timestamp DEFAULT CURRENT_TIMESTAMP);\n";

/// Brings the `auth` schema at `database_url` to the version [`choose_target`] picks.
pub async fn migrate(
    database_url: &str,
    tls: &Tls,
    policy: MigratePolicy,
) -> Result<MigrationReport, MigrateError> {
    let mut client = connect(database_url, tls).await?;
    // Identifiers are schema-qualified in every step; these keep the session predictable
    // (the bytea → text cast of version 11 depends on bytea_output).
    client
        .batch_execute("SET bytea_output = 'hex'; SET client_min_messages = warning;")
        .await?;

    let database: String = client
        .query_one("SELECT current_database()", &[])
        .await?
        .get(0);
    let lock_id = advisory_lock_id(&database);
    let locked: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&lock_id])
        .await?
        .get(0);
    if !locked {
        tracing::info!(database = %database, "another instance is migrating the auth schema; waiting for the migration lock");
        client
            .execute("SELECT pg_advisory_lock($1)", &[&lock_id])
            .await?;
    }

    let result = match migrate_locked(&mut client, policy).await {
        Ok(report) => migrate_internal(&mut client).await.map(|()| report),
        Err(e) => Err(e),
    };

    if let Err(e) = client
        .execute("SELECT pg_advisory_unlock($1)", &[&lock_id])
        .await
    {
        // Closing the connection (dropping the client) releases the lock anyway.
        tracing::warn!(error = %e, "could not release the migration lock explicitly");
    }
    result
}

/// Where the schema stands, read without taking the migration lock or writing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Upstream's version (0 on an empty database).
    pub version: i64,
    /// Our own `hasura_auth` migrations not applied yet.
    pub internal_pending: Vec<i64>,
}

impl SchemaStatus {
    /// Everything a start-up under `policy` would apply is in place: a database kept at
    /// v0.42's 18 (or at the 19..=26 level it was found at) is current unless the
    /// operator opts in to the latest.
    pub fn is_current(&self, policy: MigratePolicy) -> bool {
        choose_target(self.version, policy).0 == self.version && self.internal_pending.is_empty()
    }
}

/// Reads the schema version for commands that must not migrate (`hasura-auth users …`).
pub async fn status(database_url: &str, tls: &Tls) -> Result<SchemaStatus, MigrateError> {
    let client = connect(database_url, tls).await?;
    let found = inspect(&client).await?;
    let done: Vec<i32> = if client
        .query_one(
            "SELECT to_regclass('hasura_auth.migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0)
    {
        client
            .query("SELECT version FROM hasura_auth.migrations", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        Vec::new()
    };
    Ok(SchemaStatus {
        version: found.version,
        internal_pending: INTERNAL_MIGRATIONS
            .iter()
            .map(|m| m.version)
            .filter(|v| !done.iter().any(|d| i64::from(*d) == *v))
            .collect(),
    })
}

async fn connect(url: &str, tls: &Tls) -> Result<Client, MigrateError> {
    let target = super::tls::target(url, tls).map_err(MigrateError::State)?;
    let (client, connection) = target.config.connect(target.tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection closed with an error");
        }
    });
    Ok(client)
}

/// What the database holds before anything is applied.
#[derive(Debug)]
struct Found {
    schema_exists: bool,
    schema_migrations_exists: bool,
    node_ledger_exists: bool,
    version: i64,
    ledger: &'static str,
}

async fn inspect(client: &Client) -> Result<Found, MigrateError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth'), \
                    to_regclass('auth.schema_migrations') IS NOT NULL, \
                    to_regclass('auth.migrations') IS NOT NULL",
            &[],
        )
        .await?;
    let mut found = Found {
        schema_exists: row.get(0),
        schema_migrations_exists: row.get(1),
        node_ledger_exists: row.get(2),
        version: 0,
        ledger: "none",
    };

    let mut version = None;
    if found.schema_migrations_exists {
        // golang-migrate keeps a single row; take the highest should there be more.
        let row = client
            .query_opt(
                "SELECT version, dirty FROM auth.schema_migrations ORDER BY version DESC LIMIT 1",
                &[],
            )
            .await?;
        if let Some(row) = row {
            let (v, dirty): (i64, bool) = (row.get(0), row.get(1));
            if dirty {
                return Err(MigrateError::Dirty { version: v });
            }
            version = Some((v, "auth.schema_migrations"));
        }
    }
    if version.is_none() && found.node_ledger_exists {
        let v: i64 = client
            .query_one(
                "SELECT COALESCE(MAX(id), 0)::bigint FROM auth.migrations",
                &[],
            )
            .await?
            .get(0);
        version = Some((v, "auth.migrations (Node.js era)"));
    }
    if let Some((v, ledger)) = version {
        found.version = v;
        found.ledger = ledger;
    }
    if !(0..=LATEST_VERSION).contains(&found.version) {
        return Err(MigrateError::UnknownVersion {
            found: found.version,
            latest: LATEST_VERSION,
        });
    }
    Ok(found)
}

/// SQL creating whatever bookkeeping is missing; runs in the first step's transaction.
fn bootstrap_sql(found: &Found) -> String {
    let mut sql = String::new();
    if !found.schema_exists {
        sql.push_str("CREATE SCHEMA auth;\n");
    }
    if !found.schema_migrations_exists {
        sql.push_str(CREATE_SCHEMA_MIGRATIONS);
        sql.push_str(&LEDGER_COMMENT.replace("{table}", "schema_migrations"));
    }
    if !found.node_ledger_exists {
        sql.push_str(CREATE_NODE_LEDGER);
        sql.push_str(&LEDGER_COMMENT.replace("{table}", "migrations"));
    }
    sql
}

async fn migrate_locked(
    client: &mut Client,
    policy: MigratePolicy,
) -> Result<MigrationReport, MigrateError> {
    let found = inspect(client).await?;
    let (target, reason) = choose_target(found.version, policy);
    tracing::info!(
        version = found.version,
        ledger = found.ledger,
        auth_schema = found.schema_exists,
        target,
        reason = reason.describe(),
        "auth schema found at version {}; target version {} ({})",
        found.version,
        target,
        reason.describe()
    );

    let pending: Vec<&Migration> = MIGRATIONS
        .iter()
        .filter(|m| m.version > found.version && m.version <= target)
        .collect();
    if pending.is_empty() {
        tracing::info!(
            version = found.version,
            "auth schema is at its target version; nothing to apply"
        );
        return Ok(MigrationReport {
            from_version: found.version,
            to_version: found.version,
            applied: Vec::new(),
            reason,
        });
    }

    let mut bootstrap = Some(bootstrap_sql(&found));
    let mut applied = Vec::with_capacity(pending.len());
    for m in pending {
        let fail = |source: tokio_postgres::Error| MigrateError::Apply {
            version: m.version,
            name: m.name,
            source,
        };
        apply_one(client, m, bootstrap.take().as_deref())
            .await
            .map_err(fail)?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied migration {}",
            m.name
        );
        applied.push(m.version);
    }

    let to_version = applied.last().copied().unwrap_or(found.version);
    tracing::info!(
        from = found.version,
        to = to_version,
        count = applied.len(),
        "auth schema migrated from version {} to {}",
        found.version,
        to_version
    );
    Ok(MigrationReport {
        from_version: found.version,
        to_version,
        applied,
        reason,
    })
}

/// Applies the pending [`INTERNAL_MIGRATIONS`], each in its own transaction with its
/// ledger row.
async fn migrate_internal(client: &mut Client) -> Result<(), MigrateError> {
    client
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS hasura_auth; \
             CREATE TABLE IF NOT EXISTS hasura_auth.migrations (\
               version integer PRIMARY KEY, name text NOT NULL, hash text NOT NULL, \
               executed_at timestamptz NOT NULL DEFAULT now());",
        )
        .await?;
    let done: Vec<i32> = client
        .query("SELECT version FROM hasura_auth.migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for m in INTERNAL_MIGRATIONS {
        let version = i32::try_from(m.version).unwrap_or(i32::MAX);
        if done.contains(&version) {
            continue;
        }
        let fail = |source: tokio_postgres::Error| MigrateError::Apply {
            version: m.version,
            name: m.name,
            source,
        };
        let tx = client.transaction().await?;
        tx.batch_execute(m.sql).await.map_err(fail)?;
        tx.execute(
            "INSERT INTO hasura_auth.migrations (version, name, hash) VALUES ($1, $2, $3)",
            &[&version, &m.name, &m.hash()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied internal migration {}",
            m.name
        );
    }
    Ok(())
}

/// One step and both ledger updates, in one transaction.
async fn apply_one(
    client: &mut Client,
    m: &Migration,
    bootstrap: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    if let Some(sql) = bootstrap.filter(|s| !s.is_empty()) {
        tx.batch_execute(sql).await?;
    }
    tx.batch_execute(m.sql).await?;
    // golang-migrate's SetVersion: the table only ever holds the latest version.
    tx.execute("DELETE FROM auth.schema_migrations", &[])
        .await?;
    tx.execute(
        "INSERT INTO auth.schema_migrations (version, dirty) VALUES ($1, false)",
        &[&m.version],
    )
    .await?;
    let id = i32::try_from(m.version).unwrap_or(i32::MAX);
    tx.execute(
        "INSERT INTO auth.migrations (id, name, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&id, &m.name, &m.hash()],
    )
    .await?;
    tx.commit().await
}

/// PostgreSQL's own words for a failed statement, with detail and constraint if any
/// (tokio-postgres' `Display` only says "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    let Some(db) = e.as_db_error() else {
        // Connection errors (TLS, refused…) carry their cause in the source chain.
        let mut out = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            out.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        return out;
    };
    let mut out = format!(
        "{}: {} (SQLSTATE {})",
        db.severity(),
        db.message(),
        db.code().code()
    );
    if let Some(detail) = db.detail() {
        out.push_str(&format!("; {detail}"));
    }
    if let Some(constraint) = db.constraint() {
        out.push_str(&format!("; constraint {constraint}"));
    }
    out
}

/// The advisory lock key golang-migrate's postgres driver uses for
/// `SchemaName: "auth"` and the default `schema_migrations` table:
/// `crc32("auth\0schema_migrations\0<database>") * 1486364155` (wrapping, 32 bits).
/// Sharing it means an upstream instance and ours never migrate at the same time.
pub fn advisory_lock_id(database: &str) -> i64 {
    const SALT: u32 = 1_486_364_155;
    let key = format!("auth\0schema_migrations\0{database}");
    i64::from(crc32_ieee(key.as_bytes()).wrapping_mul(SALT))
}

fn crc32_ieee(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_run_from_1_to_latest_without_gaps() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=LATEST_VERSION).collect::<Vec<_>>());
    }

    #[test]
    fn names_carry_their_zero_padded_version() {
        for m in MIGRATIONS {
            assert!(
                m.name.starts_with(&format!("{:05}_", m.version)),
                "{} does not start with its version",
                m.name
            );
            assert!(
                m.name.len() <= 100,
                "{} is too long for auth.migrations.name",
                m.name
            );
        }
    }

    #[test]
    fn hashes_are_lowercase_sha1_hex_of_the_sql() {
        for m in MIGRATIONS {
            let h = m.hash();
            assert_eq!(h.len(), 40);
            assert!(
                h.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
            );
        }
        let m = Migration {
            version: 0,
            name: "x",
            sql: "abc",
        };
        assert_eq!(m.hash(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn steps_leave_transaction_control_to_the_runner() {
        for m in MIGRATIONS {
            for line in m.sql.lines().map(str::trim) {
                let upper = line.to_ascii_uppercase();
                assert!(
                    !(upper.starts_with("BEGIN;") || upper.starts_with("COMMIT")),
                    "{} manages its own transaction: {line}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn crc32_matches_the_ieee_check_value() {
        assert_eq!(crc32_ieee(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32_ieee(b""), 0);
    }

    #[test]
    fn advisory_lock_id_follows_golang_migrate() {
        // Oracle: Python's zlib.crc32(b"auth\0schema_migrations\0postgres") * 1486364155 mod 2^32.
        assert_eq!(advisory_lock_id("postgres"), 640_785_076);
        assert_eq!(advisory_lock_id("hasura"), 1_090_749_583);
        let expected = crc32_ieee(b"auth\0schema_migrations\0postgres").wrapping_mul(1_486_364_155);
        assert_eq!(advisory_lock_id("postgres"), i64::from(expected));
        assert!(advisory_lock_id("a") >= 0 && advisory_lock_id("a") <= i64::from(u32::MAX));
        assert_ne!(advisory_lock_id("a"), advisory_lock_id("b"));
    }

    #[test]
    fn bootstrap_creates_only_what_is_missing() {
        let mut found = Found {
            schema_exists: false,
            schema_migrations_exists: false,
            node_ledger_exists: false,
            version: 0,
            ledger: "none",
        };
        let sql = bootstrap_sql(&found);
        assert!(sql.contains("CREATE SCHEMA auth;"));
        assert!(sql.contains("auth.schema_migrations"));
        assert!(sql.contains("auth.migrations ("));
        found.schema_exists = true;
        found.schema_migrations_exists = true;
        found.node_ledger_exists = true;
        assert_eq!(bootstrap_sql(&found), "");
    }

    #[test]
    fn the_target_never_passes_the_found_level_unless_opted_in() {
        let stay = MigratePolicy::default();
        let opt_in = MigratePolicy { to_latest: true };
        assert_eq!(choose_target(0, stay), (27, TargetReason::EmptyDatabase));
        for found in [1, 10, 17, 18] {
            assert_eq!(
                choose_target(found, stay),
                (18, TargetReason::KeepV042Generation),
                "found at {found}"
            );
        }
        for found in 19..=26 {
            assert_eq!(
                choose_target(found, stay),
                (found, TargetReason::KeepFoundLevel)
            );
        }
        assert_eq!(choose_target(27, stay), (27, TargetReason::AlreadyLatest));
        for found in 0..=26 {
            assert_eq!(choose_target(found, opt_in), (27, TargetReason::OptedIn));
        }
        assert_eq!(choose_target(27, opt_in), (27, TargetReason::AlreadyLatest));
    }

    #[test]
    fn dirty_error_names_the_version() {
        let msg = MigrateError::Dirty { version: 12 }.to_string();
        assert!(msg.contains("dirty at version 12"), "{msg}");
    }
}
