//! Schema migrations and the takeover of databases upstream hasura-auth has run on,
//! against a real PostgreSQL (one fresh database per test).

mod support;

use std::collections::BTreeMap;

use hasura_auth::db::migrate::{LATEST_VERSION, MIGRATIONS, MigrateError, MigrationReport};
use hasura_auth::tls::Tls;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::db::{TestDb, connect};
use tokio_postgres::Client;

const V01_NODE: &str = include_str!("fixtures/upstream/v01_node.sql");
const V10: &str = include_str!("fixtures/upstream/v10.sql");
const V14: &str = include_str!("fixtures/upstream/v14.sql");
const V15: &str = include_str!("fixtures/upstream/v15.sql");
const V18: &str = include_str!("fixtures/upstream/v18.sql");

/// The service's migration; the test databases are reached without TLS (no roots needed).
async fn migrate(url: &str) -> Result<MigrationReport, MigrateError> {
    let tls = Tls::with_roots(rustls::RootCertStore::empty()).expect("TLS configuration");
    hasura_auth::db::migrate::migrate(url, &tls).await
}

/// The refresh tokens the pre-15 fixtures hold (the token was the primary key).
const OLD_TOKENS: [&str; 3] = [
    "c0000000-0000-4000-8000-000000000001",
    "c0000000-0000-4000-8000-000000000002",
    "c0000000-0000-4000-8000-000000000003",
];

// ---------------------------------------------------------------------------------------
// Upstream's final schema, written from SPEC §5.2-5.4 (pg_catalog rendering with an empty
// search_path, as pg_dump prints it). {DONT} stands for the common comment suffix.
// ---------------------------------------------------------------------------------------

const DONT: &str = "Don't modify its structure as Hasura Auth relies on it to function properly.";

const EXPECTED_FINAL_SCHEMA: &str = r##"
schema auth comment=-
extension citext schema=public
extension pgcrypto schema=public

table migrations comment=Internal table for tracking migrations. {DONT}
table provider_requests comment=Oauth requests, inserted before redirecting to the provider's site. {DONT}
table providers comment=List of available Oauth providers. {DONT}
table refresh_token_types comment=-
table refresh_tokens comment=User refresh tokens. Hasura auth uses them to rotate new access tokens as long as the refresh token is not expired. {DONT}
table roles comment=Persistent Hasura roles for users. {DONT}
table schema_migrations comment=Internal table for tracking migrations. {DONT}
table user_providers comment=Active providers for a given user. {DONT}
table user_roles comment=Roles of users. {DONT}
table user_security_keys comment=User webauthn security keys. {DONT}
table users comment=User account information. {DONT}

column migrations #01 id integer NOT NULL
column migrations #02 name character varying(100) NOT NULL
column migrations #03 hash character varying(40) NOT NULL
column migrations #04 executed_at timestamp without time zone NULL default=CURRENT_TIMESTAMP

column provider_requests #01 id uuid NOT NULL
column provider_requests #02 options jsonb NULL

column providers #01 id text NOT NULL

column refresh_token_types #01 value text NOT NULL
column refresh_token_types #02 comment text NULL

column refresh_tokens #01 id uuid NOT NULL default=gen_random_uuid()
column refresh_tokens #02 created_at timestamp with time zone NOT NULL default=now()
column refresh_tokens #03 expires_at timestamp with time zone NOT NULL
column refresh_tokens #04 user_id uuid NOT NULL
column refresh_tokens #05 metadata jsonb NULL
column refresh_tokens #06 type text NOT NULL default='regular'::text
column refresh_tokens #07 refresh_token_hash character varying(255) NULL

column roles #01 role text NOT NULL

column schema_migrations #01 version bigint NOT NULL
column schema_migrations #02 dirty boolean NOT NULL

column user_providers #01 id uuid NOT NULL default=public.gen_random_uuid()
column user_providers #02 created_at timestamp with time zone NOT NULL default=now()
column user_providers #03 updated_at timestamp with time zone NOT NULL default=now()
column user_providers #04 user_id uuid NOT NULL
column user_providers #05 access_token text NOT NULL
column user_providers #06 refresh_token text NULL
column user_providers #07 provider_id text NOT NULL
column user_providers #08 provider_user_id text NOT NULL

column user_roles #01 id uuid NOT NULL default=public.gen_random_uuid()
column user_roles #02 created_at timestamp with time zone NOT NULL default=now()
column user_roles #03 user_id uuid NOT NULL
column user_roles #04 role text NOT NULL

column user_security_keys #01 id uuid NOT NULL default=public.gen_random_uuid()
column user_security_keys #02 user_id uuid NOT NULL
column user_security_keys #03 credential_id text NOT NULL
column user_security_keys #04 credential_public_key bytea NULL
column user_security_keys #05 counter bigint NOT NULL default=0
column user_security_keys #06 transports character varying(255) NOT NULL default=''::character varying
column user_security_keys #07 nickname text NULL

column users #01 id uuid NOT NULL default=public.gen_random_uuid()
column users #02 created_at timestamp with time zone NOT NULL default=now()
column users #03 updated_at timestamp with time zone NOT NULL default=now()
column users #04 last_seen timestamp with time zone NULL
column users #05 disabled boolean NOT NULL default=false
column users #06 display_name text NOT NULL default=''::text
column users #07 avatar_url text NOT NULL default=''::text
column users #08 locale character varying(2) NOT NULL
column users #09 email auth.email NULL
column users #10 phone_number text NULL
column users #11 password_hash text NULL
column users #12 email_verified boolean NOT NULL default=false
column users #13 phone_number_verified boolean NOT NULL default=false
column users #14 new_email auth.email NULL
column users #15 otp_method_last_used text NULL
column users #16 otp_hash text NULL
column users #17 otp_hash_expires_at timestamp with time zone NOT NULL default=now()
column users #18 default_role text NOT NULL default='user'::text
column users #19 is_anonymous boolean NOT NULL default=false
column users #20 totp_secret text NULL
column users #21 active_mfa_type text NULL
column users #22 ticket text NULL
column users #23 ticket_expires_at timestamp with time zone NOT NULL default=now()
column users #24 metadata jsonb NULL
column users #25 webauthn_current_challenge text NULL

constraint migrations migrations_name_key u UNIQUE (name)
constraint migrations migrations_pkey p PRIMARY KEY (id)
constraint provider_requests provider_requests_pkey p PRIMARY KEY (id)
constraint providers providers_pkey p PRIMARY KEY (id)
constraint refresh_token_types refresh_token_types_pkey p PRIMARY KEY (value)
constraint refresh_tokens fk_user f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint refresh_tokens refresh_tokens_pkey p PRIMARY KEY (id)
constraint refresh_tokens refresh_tokens_types_fkey f FOREIGN KEY (type) REFERENCES auth.refresh_token_types(value) ON UPDATE RESTRICT ON DELETE RESTRICT
constraint roles roles_pkey p PRIMARY KEY (role)
constraint schema_migrations schema_migrations_pkey p PRIMARY KEY (version)
constraint user_providers fk_provider f FOREIGN KEY (provider_id) REFERENCES auth.providers(id) ON UPDATE CASCADE ON DELETE RESTRICT
constraint user_providers fk_user f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint user_providers user_providers_pkey p PRIMARY KEY (id)
constraint user_providers user_providers_provider_id_provider_user_id_key u UNIQUE (provider_id, provider_user_id)
constraint user_roles fk_role f FOREIGN KEY (role) REFERENCES auth.roles(role) ON UPDATE CASCADE ON DELETE RESTRICT
constraint user_roles fk_user f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint user_roles user_roles_pkey p PRIMARY KEY (id)
constraint user_roles user_roles_user_id_role_key u UNIQUE (user_id, role)
constraint user_security_keys fk_user f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint user_security_keys user_security_key_credential_id_key u UNIQUE (credential_id)
constraint user_security_keys user_security_keys_pkey p PRIMARY KEY (id)
constraint users active_mfa_types_check c CHECK (((active_mfa_type = 'totp'::text) OR (active_mfa_type = 'sms'::text)))
constraint users fk_default_role f FOREIGN KEY (default_role) REFERENCES auth.roles(role) ON UPDATE CASCADE ON DELETE RESTRICT
constraint users users_email_key u UNIQUE (email)
constraint users users_phone_number_key u UNIQUE (phone_number)
constraint users users_pkey p PRIMARY KEY (id)
constraint email email_check c CHECK ((VALUE OPERATOR(public.~) '^[a-zA-Z0-9.!#$%&''*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$'::public.citext))

index migrations_name_key CREATE UNIQUE INDEX migrations_name_key ON auth.migrations USING btree (name)
index migrations_pkey CREATE UNIQUE INDEX migrations_pkey ON auth.migrations USING btree (id)
index provider_requests_pkey CREATE UNIQUE INDEX provider_requests_pkey ON auth.provider_requests USING btree (id)
index providers_pkey CREATE UNIQUE INDEX providers_pkey ON auth.providers USING btree (id)
index refresh_token_types_pkey CREATE UNIQUE INDEX refresh_token_types_pkey ON auth.refresh_token_types USING btree (value)
index refresh_tokens_pkey CREATE UNIQUE INDEX refresh_tokens_pkey ON auth.refresh_tokens USING btree (id)
index refresh_tokens_refresh_token_hash_expires_at_user_id_idx CREATE INDEX refresh_tokens_refresh_token_hash_expires_at_user_id_idx ON auth.refresh_tokens USING btree (refresh_token_hash, expires_at, user_id)
index roles_pkey CREATE UNIQUE INDEX roles_pkey ON auth.roles USING btree (role)
index schema_migrations_pkey CREATE UNIQUE INDEX schema_migrations_pkey ON auth.schema_migrations USING btree (version)
index user_providers_pkey CREATE UNIQUE INDEX user_providers_pkey ON auth.user_providers USING btree (id)
index user_providers_provider_id_provider_user_id_key CREATE UNIQUE INDEX user_providers_provider_id_provider_user_id_key ON auth.user_providers USING btree (provider_id, provider_user_id)
index user_roles_pkey CREATE UNIQUE INDEX user_roles_pkey ON auth.user_roles USING btree (id)
index user_roles_user_id_role_key CREATE UNIQUE INDEX user_roles_user_id_role_key ON auth.user_roles USING btree (user_id, role)
index user_security_key_credential_id_key CREATE UNIQUE INDEX user_security_key_credential_id_key ON auth.user_security_keys USING btree (credential_id)
index user_security_keys_pkey CREATE UNIQUE INDEX user_security_keys_pkey ON auth.user_security_keys USING btree (id)
index users_email_key CREATE UNIQUE INDEX users_email_key ON auth.users USING btree (email)
index users_phone_number_key CREATE UNIQUE INDEX users_phone_number_key ON auth.users USING btree (phone_number)
index users_pkey CREATE UNIQUE INDEX users_pkey ON auth.users USING btree (id)

trigger set_auth_user_providers_updated_at CREATE TRIGGER set_auth_user_providers_updated_at BEFORE UPDATE ON auth.user_providers FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at()
trigger set_auth_users_updated_at CREATE TRIGGER set_auth_users_updated_at BEFORE UPDATE ON auth.users FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at()

type email kind=d base=public.citext notnull=false default=-
function set_current_timestamp_updated_at() returns trigger language=plpgsql volatility=v security_definer=false
"##;

fn expected_final_schema() -> Vec<String> {
    let mut lines: Vec<String> = EXPECTED_FINAL_SCHEMA
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("{DONT}", DONT))
        .collect();
    lines.sort();
    lines
}

// ---------------------------------------------------------------------------------------
// Introspection: a sorted, line-per-fact description of the auth schema.
// ---------------------------------------------------------------------------------------

const INTROSPECTION: &[&str] = &[
    "SELECT 'schema auth comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
       FROM pg_catalog.pg_namespace n WHERE n.nspname = 'auth'",
    "SELECT 'extension ' || e.extname || ' schema=' || n.nspname
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname IN ('citext', 'pgcrypto')",
    // Tables with comments; any other relation kind (besides indexes) is listed too.
    "SELECT CASE WHEN c.relkind = 'r'
                 THEN 'table ' || c.relname || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
                 ELSE 'relation ' || c.relname || ' kind=' || c.relkind::text END
       FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'auth'::regnamespace AND c.relkind <> 'i'",
    // Columns, numbered by position among live columns (dropped ones leave no trace).
    "SELECT concat_ws(' ', 'column', c.relname,
                      '#' || lpad((row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum))::text, 2, '0'),
                      a.attname, format_type(a.atttypid, a.atttypmod),
                      CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END,
                      'default=' || pg_get_expr(d.adbin, d.adrelid),
                      CASE WHEN a.attgenerated <> '' THEN 'generated=' || a.attgenerated::text END,
                      CASE WHEN a.attidentity <> '' THEN 'identity=' || a.attidentity::text END,
                      'comment=' || col_description(c.oid, a.attnum))
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE c.relnamespace = 'auth'::regnamespace AND c.relkind = 'r'",
    // Table and domain constraints (NOT NULL is covered by the columns).
    "SELECT concat_ws(' ', 'constraint', coalesce(c.relname, t.typname), con.conname, con.contype::text,
                      pg_get_constraintdef(con.oid))
       FROM pg_catalog.pg_constraint con
       LEFT JOIN pg_catalog.pg_class c ON c.oid = con.conrelid AND con.conrelid <> 0
       LEFT JOIN pg_catalog.pg_type t ON t.oid = con.contypid AND con.contypid <> 0
      WHERE con.connamespace = 'auth'::regnamespace AND con.contype <> 'n'",
    "SELECT 'index ' || indexname || ' ' || indexdef FROM pg_catalog.pg_indexes WHERE schemaname = 'auth'",
    "SELECT 'trigger ' || t.tgname || ' ' || pg_get_triggerdef(t.oid)
       FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      WHERE c.relnamespace = 'auth'::regnamespace AND NOT t.tgisinternal",
    // Types of the schema other than table row types and arrays (domains, enums, ...).
    "SELECT concat_ws(' ', 'type', t.typname, 'kind=' || t.typtype::text,
                      'base=' || CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) ELSE '-' END,
                      'notnull=' || t.typnotnull, 'default=' || coalesce(t.typdefault, '-'),
                      'labels=' || (SELECT string_agg(enumlabel::text, ',' ORDER BY enumsortorder)
                                      FROM pg_catalog.pg_enum WHERE enumtypid = t.oid))
       FROM pg_catalog.pg_type t
      WHERE t.typnamespace = 'auth'::regnamespace AND t.typcategory <> 'A'
        AND NOT (t.typtype = 'c' AND t.typrelid <> 0)",
    // Functions by signature and behaviour class (bodies are each implementation's own text).
    "SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') returns '
            || pg_get_function_result(p.oid) || ' language=' || l.lanname
            || ' volatility=' || p.provolatile::text || ' security_definer=' || p.prosecdef
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      WHERE p.pronamespace = 'auth'::regnamespace",
];

/// Describes the auth schema of the database at `url`, one sorted line per fact.
async fn describe_schema(url: &str) -> Vec<String> {
    let client = connect(url).await;
    client.batch_execute("SET search_path = ''").await.unwrap();
    let mut lines = Vec::new();
    for sql in INTROSPECTION {
        for row in client
            .query(*sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        {
            lines.push(row.get::<_, String>(0));
        }
    }
    lines.sort();
    lines
}

/// Panics with a readable list of missing/unexpected lines when the descriptions differ.
fn assert_same_schema(actual: &[String], expected: &[String], what: &str) {
    let missing: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    let unexpected: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty() && actual.len() == expected.len(),
        "{what}: schema differs\n--- missing:\n{}\n+++ unexpected:\n{}\n",
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        unexpected
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    );
}

// ---------------------------------------------------------------------------------------
// Data helpers.
// ---------------------------------------------------------------------------------------

/// Every row of every auth table except the two ledgers, as JSON objects.
async fn snapshot(client: &Client) -> BTreeMap<String, Vec<Value>> {
    client.batch_execute("SET TimeZone = 'UTC'").await.unwrap();
    let tables: Vec<String> = client
        .query(
            "SELECT relname::text FROM pg_catalog.pg_class
              WHERE relnamespace = 'auth'::regnamespace AND relkind = 'r'
                AND relname NOT IN ('schema_migrations', 'migrations') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = BTreeMap::new();
    for table in tables {
        let rows = client
            .query(
                &format!("SELECT to_jsonb(t) FROM auth.\"{table}\" t ORDER BY to_jsonb(t)::text"),
                &[],
            )
            .await
            .unwrap();
        out.insert(table, rows.iter().map(|r| r.get::<_, Value>(0)).collect());
    }
    out
}

/// What a takeover is allowed to change in old rows.
#[derive(Default)]
struct Changes {
    /// (old table, new table)
    renamed_tables: &'static [(&'static str, &'static str)],
    /// (table after renames, old column, new column)
    renamed_columns: &'static [(&'static str, &'static str, &'static str)],
    /// (table after renames, column)
    dropped_columns: &'static [(&'static str, &'static str)],
}

/// Tables the migrations seed: they may gain rows.
const SEEDED: [&str; 3] = ["providers", "roles", "refresh_token_types"];

/// Every row present before is present after with the same values (modulo `changes`),
/// and no table lost or gained rows except the seeded ones.
fn assert_rows_kept(
    before: &BTreeMap<String, Vec<Value>>,
    after: &BTreeMap<String, Vec<Value>>,
    changes: &Changes,
) {
    for (old_table, rows) in before {
        let table = changes
            .renamed_tables
            .iter()
            .find(|(old, _)| old == old_table)
            .map_or(old_table.as_str(), |(_, new)| new);
        let after_rows = after
            .get(table)
            .unwrap_or_else(|| panic!("table auth.{table} is gone"));
        if SEEDED.contains(&table) {
            assert!(after_rows.len() >= rows.len(), "auth.{table} lost rows");
        } else {
            assert_eq!(
                after_rows.len(),
                rows.len(),
                "auth.{table} row count changed"
            );
        }
        for row in rows {
            let mut expected = row.as_object().unwrap().clone();
            for (t, old, new) in changes.renamed_columns {
                if *t == table
                    && let Some(v) = expected.remove(*old)
                {
                    expected.insert((*new).to_owned(), v);
                }
            }
            for (t, col) in changes.dropped_columns {
                if *t == table {
                    expected.remove(*col);
                }
            }
            let found = after_rows.iter().any(|a| {
                let a = a.as_object().unwrap();
                expected.iter().all(|(k, v)| a.get(k) == Some(v))
            });
            assert!(
                found,
                "row of auth.{table} lost or changed: {}",
                Value::Object(expected)
            );
        }
    }
}

/// `'\x'` followed by the lowercase hex SHA-256 of the token's text: what PostgreSQL
/// prints for `sha256(token::text::bytea)`.
fn expected_hash(token: &str) -> String {
    format!("\\x{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// Pre-15 tokens: the old token is now the id, and the hash is the SHA-256 of it.
async fn assert_refresh_tokens_rekeyed(client: &Client) {
    for token in OLD_TOKENS {
        let row = client
            .query_one(
                "SELECT refresh_token_hash::text FROM auth.refresh_tokens WHERE id::text = $1",
                &[&token],
            )
            .await
            .unwrap_or_else(|e| panic!("refresh token {token} not kept as id: {e}"));
        assert_eq!(
            row.get::<_, String>(0),
            expected_hash(token),
            "hash of {token}"
        );
    }
    let wrong: i64 = client
        .query_one(
            "SELECT count(*) FROM auth.refresh_tokens
              WHERE refresh_token_hash IS DISTINCT FROM '\\x' || encode(sha256(id::text::bytea), 'hex')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        wrong, 0,
        "some refresh_token_hash values differ from sha256(id)"
    );
}

/// `auth.schema_migrations` holds exactly (version, false).
async fn assert_schema_migrations(client: &Client, version: i64) {
    let rows: Vec<(i64, bool)> = client
        .query("SELECT version, dirty FROM auth.schema_migrations", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, vec![(version, false)]);
}

/// `auth.migrations` has one row per migration from `first` on, with our name and hash.
async fn assert_node_ledger_rows(client: &Client, first: i64) {
    for m in MIGRATIONS.iter().filter(|m| m.version >= first) {
        let row = client
            .query_opt(
                "SELECT name::text, hash::text, executed_at IS NOT NULL FROM auth.migrations WHERE id = $1",
                &[&(m.version as i32)],
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("auth.migrations has no row {}", m.version));
        assert_eq!(row.get::<_, String>(0), m.name);
        assert_eq!(row.get::<_, String>(1), m.hash());
        assert!(row.get::<_, bool>(2));
    }
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn fresh_schema() -> Vec<String> {
    let db = TestDb::empty().await;
    migrate(&db.url).await.expect("fresh migration");
    describe_schema(&db.url).await
}

/// Loads `fixture`, migrates, checks the report, the data, the ledgers and that the
/// schema is the one a fresh database gets. Returns the database for extra checks.
async fn take_over(fixture: &str, from: i64, changes: &Changes) -> (TestDb, Client) {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client.batch_execute(fixture).await.expect("load fixture");
    let before = snapshot(&client).await;

    let report = migrate(&db.url).await.expect("takeover migration");
    assert_eq!(report.from_version, from);
    assert_eq!(report.to_version, LATEST_VERSION);
    assert_eq!(
        report.applied,
        (from + 1..=LATEST_VERSION).collect::<Vec<_>>()
    );

    let after = snapshot(&client).await;
    assert_rows_kept(&before, &after, changes);
    assert_schema_migrations(&client, LATEST_VERSION).await;
    assert_node_ledger_rows(&client, from + 1).await;
    assert_same_schema(
        &describe_schema(&db.url).await,
        &fresh_schema().await,
        "taken-over database",
    );

    let again = migrate(&db.url).await.expect("second run");
    assert!(again.applied.is_empty());
    (db, client)
}

// ---------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn empty_database_reaches_version_18_with_both_ledgers_and_a_rerun_applies_nothing() {
    let db = TestDb::empty().await;
    let report = migrate(&db.url).await.expect("migrate");
    assert_eq!(report.from_version, 0);
    assert_eq!(report.to_version, 18);
    assert_eq!(report.applied, (1..=18).collect::<Vec<i64>>());

    let client = db.client().await;
    assert_schema_migrations(&client, 18).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        18
    );
    assert_node_ledger_rows(&client, 1).await;
    let names: Vec<String> = client
        .query("SELECT name::text FROM auth.migrations ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names[0], "00001_create-initial-tables");
    assert_eq!(names[14], "00015_rename_refresh_token_column");
    assert_eq!(names[17], "00018_entraid-provider");
    let ledger_before: Vec<String> = client
        .query(
            "SELECT to_jsonb(m)::text FROM auth.migrations m ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();

    let again = migrate(&db.url).await.expect("second run");
    assert_eq!(
        again,
        hasura_auth::db::migrate::MigrationReport {
            from_version: 18,
            to_version: 18,
            applied: vec![]
        }
    );
    let ledger_after: Vec<String> = client
        .query(
            "SELECT to_jsonb(m)::text FROM auth.migrations m ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ledger_before, ledger_after);
    assert_schema_migrations(&client, 18).await;
}

#[tokio::test]
async fn fresh_schema_is_exactly_upstreams_final_schema() {
    let db = TestDb::empty().await;
    migrate(&db.url).await.expect("migrate");
    assert_same_schema(
        &describe_schema(&db.url).await,
        &expected_final_schema(),
        "fresh database",
    );

    let client = db.client().await;
    let roles: Vec<String> = client
        .query("SELECT role FROM auth.roles ORDER BY role", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(roles, ["anonymous", "me", "user"]);

    let providers: Vec<String> = client
        .query("SELECT id FROM auth.providers ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected_providers = vec![
        "github",
        "facebook",
        "twitter",
        "google",
        "apple",
        "linkedin",
        "windowslive",
        "spotify",
        "strava",
        "gitlab",
        "bitbucket",
        "discord",
        "twitch",
        "workos",
        "azuread",
        "entraid",
    ];
    expected_providers.sort_unstable();
    assert_eq!(providers, expected_providers);

    let types: Vec<(String, Option<String>)> = client
        .query(
            "SELECT value, comment FROM auth.refresh_token_types ORDER BY value",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        types,
        vec![
            ("pat".to_owned(), Some("Personal access token".to_owned())),
            (
                "regular".to_owned(),
                Some("Regular refresh token".to_owned())
            ),
        ]
    );
}

#[tokio::test]
async fn fresh_schema_behaves_like_upstreams() {
    let db = TestDb::empty().await;
    migrate(&db.url).await.expect("migrate");
    let client = db.client().await;

    // Emails: the domain check, and case-insensitive uniqueness through citext.
    let bad = client
        .execute(
            "INSERT INTO auth.users (locale, email) VALUES ('en', 'not an email')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(bad.as_db_error().unwrap().constraint(), Some("email_check"));
    client
        .execute(
            "INSERT INTO auth.users (locale, email) VALUES ('en', 'Ann@Example.com')",
            &[],
        )
        .await
        .unwrap();
    let dup = client
        .execute(
            "INSERT INTO auth.users (locale, email) VALUES ('en', 'ann@example.COM')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        dup.as_db_error().unwrap().constraint(),
        Some("users_email_key")
    );

    // updated_at follows every update.
    client
        .batch_execute("UPDATE auth.users SET updated_at = '2000-01-01', display_name = 'x'")
        .await
        .unwrap();
    let recent: bool = client
        .query_one(
            "SELECT updated_at > now() - interval '1 minute' FROM auth.users",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(recent, "set_auth_users_updated_at did not run");

    // Refresh tokens get their own id and default type.
    let row = client
        .query_one(
            "INSERT INTO auth.refresh_tokens (expires_at, user_id, refresh_token_hash)
             SELECT now() + interval '1 day', id, 'h' FROM auth.users RETURNING id IS NOT NULL, type",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, String>(1), "regular");
}

#[tokio::test]
async fn node_era_database_at_version_1_is_taken_over_keeping_its_ledger_rows() {
    let (_db, client) = take_over(
        V01_NODE,
        1,
        &Changes {
            renamed_columns: &[("refresh_tokens", "refresh_token", "id")],
            // Upstream's version 4 drops the column (provider requests kept, options NULL).
            dropped_columns: &[("provider_requests", "redirect_url")],
            ..Changes::default()
        },
    )
    .await;
    assert_refresh_tokens_rekeyed(&client).await;

    // The Node-era rows are untouched, ours follow.
    let node_rows: Vec<String> = client
        .query(
            "SELECT concat_ws('|', id, name, hash, executed_at) FROM auth.migrations WHERE id <= 1 ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        node_rows,
        [
            "0|create-migrations-table|e18db593bcde2aca2a408c4d1100f6abba2195df|2021-10-04 09:12:31.123456",
            "1|create-initial-tables|3d0cbc4f4a3bcbf2b0d0a1ba7e2f0a3dd1f5c6a7|2021-10-04 09:12:31.456789",
        ]
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        19
    );
}

#[tokio::test]
async fn upstream_database_at_version_10_is_taken_over() {
    let (_db, client) = take_over(
        V10,
        10,
        &Changes {
            renamed_columns: &[("refresh_tokens", "refresh_token", "id")],
            ..Changes::default()
        },
    )
    .await;
    assert_refresh_tokens_rekeyed(&client).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        8
    );
}

#[tokio::test]
async fn upstream_database_at_version_14_with_generated_hashes_is_taken_over() {
    let (_db, client) = take_over(
        V14,
        14,
        &Changes {
            renamed_columns: &[("refresh_tokens", "refresh_token", "id")],
            ..Changes::default()
        },
    )
    .await;
    assert_refresh_tokens_rekeyed(&client).await;
    let pat: String = client
        .query_one(
            "SELECT type FROM auth.refresh_tokens WHERE id = 'c0000000-0000-4000-8000-000000000002'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pat, "pat");
}

#[tokio::test]
async fn upstream_database_at_version_15_is_taken_over() {
    let (_db, client) = take_over(V15, 15, &Changes::default()).await;
    let hash: String = client
        .query_one(
            "SELECT refresh_token_hash::text FROM auth.refresh_tokens WHERE id = 'f0000000-0000-4000-8000-000000000002'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(hash, expected_hash("4c0b0a7e-62c3-4f0a-9ab9-5b0d2f51c2d1"));
}

#[tokio::test]
async fn upstream_database_at_version_16_is_taken_over() {
    // Version 15 plus upstream's step 16 (the index), recorded the golang-migrate way.
    let fixture = format!(
        "{V15}\nCREATE INDEX IF NOT EXISTS refresh_tokens_refresh_token_hash_expires_at_user_id_idx ON
           auth.refresh_tokens (refresh_token_hash, expires_at, user_id);
         TRUNCATE auth.schema_migrations;
         INSERT INTO auth.schema_migrations (version, dirty) VALUES (16, false);"
    );
    take_over(&fixture, 16, &Changes::default()).await;
}

#[tokio::test]
async fn upstream_database_at_version_18_is_left_unchanged() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client.batch_execute(V18).await.expect("load fixture");
    let schema_before = describe_schema(&db.url).await;
    let data_before = snapshot(&client).await;

    // The fixture is upstream's final schema: the fresh one minus our Node-era ledger.
    let fresh_without_ledger: Vec<String> = fresh_schema()
        .await
        .into_iter()
        .filter(|l| {
            ![
                "table migrations ",
                "column migrations ",
                "constraint migrations ",
                "index migrations_",
            ]
            .iter()
            .any(|p| l.starts_with(p))
        })
        .collect();
    assert_same_schema(&schema_before, &fresh_without_ledger, "v18 fixture");

    let report = migrate(&db.url).await.expect("migrate");
    assert_eq!(report.from_version, 18);
    assert_eq!(report.to_version, 18);
    assert!(report.applied.is_empty());

    assert_same_schema(
        &describe_schema(&db.url).await,
        &schema_before,
        "v18 database after migrate",
    );
    assert_eq!(snapshot(&client).await, data_before);
    assert_schema_migrations(&client, 18).await;
}

#[tokio::test]
async fn dirty_ledger_is_refused_naming_the_version() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client.batch_execute(V10).await.expect("load fixture");
    client
        .batch_execute("UPDATE auth.schema_migrations SET version = 12, dirty = true")
        .await
        .unwrap();

    let err = migrate(&db.url)
        .await
        .expect_err("a dirty database must be refused");
    assert!(
        matches!(err, MigrateError::Dirty { version: 12 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("version 12"), "{err}");

    // Nothing was touched.
    let row = client
        .query_one("SELECT version, dirty FROM auth.schema_migrations", &[])
        .await
        .unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, bool>(1)), (12, true));
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_class WHERE oid = to_regclass('auth.migrations')"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn unknown_newer_version_is_refused() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client.batch_execute(V18).await.expect("load fixture");
    client
        .batch_execute("UPDATE auth.schema_migrations SET version = 19")
        .await
        .unwrap();
    let err = migrate(&db.url)
        .await
        .expect_err("unknown version must be refused");
    assert!(
        matches!(
            err,
            MigrateError::UnknownVersion {
                found: 19,
                latest: 18
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("19"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_apply_each_migration_once() {
    let db = TestDb::empty().await;
    let (a, b) = tokio::join!(
        tokio::spawn({
            let url = db.url.clone();
            async move { migrate(&url).await }
        }),
        tokio::spawn({
            let url = db.url.clone();
            async move { migrate(&url).await }
        }),
    );
    let a = a.unwrap().expect("first instance");
    let b = b.unwrap().expect("second instance");

    let all: Vec<i64> = (1..=18).collect();
    let (winner, loser) = if a.applied.is_empty() { (b, a) } else { (a, b) };
    assert_eq!(winner.applied, all);
    assert_eq!(winner.from_version, 0);
    assert!(
        loser.applied.is_empty(),
        "both instances applied migrations: {loser:?}"
    );
    assert_eq!((loser.from_version, loser.to_version), (18, 18));

    let client = db.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        18
    );
    assert_schema_migrations(&client, 18).await;
}

#[tokio::test]
async fn a_failing_step_is_rolled_back_with_its_ledger_rows_and_can_be_retried() {
    let db = TestDb::empty().await;
    let client = db.client().await;
    client.batch_execute(V15).await.expect("load fixture");
    // Make step 18 (seeding 'entraid') fail.
    client
        .batch_execute(
            "ALTER TABLE auth.providers ADD CONSTRAINT no_entraid CHECK (id <> 'entraid')",
        )
        .await
        .unwrap();

    let err = migrate(&db.url).await.expect_err("step 18 must fail");
    assert!(
        matches!(err, MigrateError::Apply { version: 18, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("00018_entraid-provider"), "{err}");
    assert!(err.to_string().contains("no_entraid"), "{err}");

    // 16 and 17 stay applied and recorded; 18 left no trace.
    assert_schema_migrations(&client, 17).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        2
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM auth.migrations WHERE id = 18"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'refresh_tokens_refresh_token_hash_expires_at_user_id_idx'"
        )
        .await,
        1
    );

    client
        .batch_execute("ALTER TABLE auth.providers DROP CONSTRAINT no_entraid")
        .await
        .unwrap();
    let report = migrate(&db.url).await.expect("retry");
    assert_eq!((report.from_version, report.applied), (17, vec![18]));
    assert_schema_migrations(&client, 18).await;
}

#[tokio::test]
async fn the_migrate_command_applies_the_migrations_and_exits() {
    let db = TestDb::empty().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("migrate")
        .arg(format!("--postgres={}", db.url))
        .output()
        .await
        .expect("run hasura-auth migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = db
        .client()
        .await
        .query_one("SELECT version, dirty FROM auth.schema_migrations", &[])
        .await
        .expect("ledger");
    assert_eq!(row.get::<_, i64>(0), 18);
    assert!(!row.get::<_, bool>(1));
}
