//! Schema migrations and the takeover of databases upstream hasura-auth has run on,
//! against a real PostgreSQL (one fresh database per test).

mod support;

use std::collections::BTreeMap;

use hasura_auth::db::SchemaLevel;
use hasura_auth::db::migrate::{
    LATEST_VERSION, MIGRATIONS, MigrateError, MigratePolicy, MigrationReport, TargetReason,
};
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
/// Loaded on top of [`V18`].
const V22: &str = include_str!("fixtures/upstream/v22.sql");
/// Loaded on top of [`V18`] and [`V22`].
const V24: &str = include_str!("fixtures/upstream/v24.sql");
const V27: &str = include_str!("fixtures/upstream/v27.sql");

/// The service's migration with the default policy (no `AUTH_MIGRATE_TO_LATEST`); the
/// test databases are reached without TLS (no roots needed).
async fn migrate(url: &str) -> Result<MigrationReport, MigrateError> {
    migrate_with(url, MigratePolicy::default()).await
}

/// The service's migration with `AUTH_MIGRATE_TO_LATEST=true`.
async fn migrate_to_latest(url: &str) -> Result<MigrationReport, MigrateError> {
    migrate_with(url, MigratePolicy { to_latest: true }).await
}

async fn migrate_with(url: &str, policy: MigratePolicy) -> Result<MigrationReport, MigrateError> {
    let tls = Tls::with_roots(rustls::RootCertStore::empty()).expect("TLS configuration");
    hasura_auth::db::migrate::migrate(url, &tls, policy).await
}

/// The refresh tokens the pre-15 fixtures hold (the token was the primary key).
const OLD_TOKENS: [&str; 3] = [
    "c0000000-0000-4000-8000-000000000001",
    "c0000000-0000-4000-8000-000000000002",
    "c0000000-0000-4000-8000-000000000003",
];

// ---------------------------------------------------------------------------------------
// Upstream v0.42's final schema (version 18), written from SPEC §5.2-5.4 (pg_catalog
// rendering with an empty search_path, as pg_dump prints it). {DONT} stands for the
// common comment suffix.
// ---------------------------------------------------------------------------------------

const DONT: &str = "Don't modify its structure as Hasura Auth relies on it to function properly.";

const EXPECTED_V18_SCHEMA: &str = r##"
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
function set_current_timestamp_updated_at() returns trigger language=plpgsql volatility=v strict=false security_definer=false
"##;

// ---------------------------------------------------------------------------------------
// Nhost Auth 0.52's final schema (version 27): version 18 with `users.locale` widened and
// what versions 19-27 add, written from the schema dump of the 0.52.0 release commit
// (`services/auth/go/sql/auth_schema_dump.sql` @498b0859) and reference §1.1.
// ---------------------------------------------------------------------------------------

const V18_LOCALE: &str = "column users #08 locale character varying(2) NOT NULL";
const V27_LOCALE: &str = "column users #08 locale character varying(3) NOT NULL";

const EXPECTED_V27_ADDITIONS: &str = r##"
table oauth2_auth_requests comment=In-flight OAuth2 authorization requests.
table oauth2_authorization_codes comment=OAuth2 authorization codes pending exchange for tokens.
table oauth2_clients comment=Registered OAuth2 client applications for the identity provider.
table oauth2_refresh_tokens comment=OAuth2 refresh tokens with client and scope binding.
table pkce_authorization_codes comment=-

column oauth2_auth_requests #01 id uuid NOT NULL default=gen_random_uuid()
column oauth2_auth_requests #02 client_id text NOT NULL
column oauth2_auth_requests #03 scopes text[] NOT NULL default='{}'::text[]
column oauth2_auth_requests #04 redirect_uri text NOT NULL
column oauth2_auth_requests #05 state text NULL
column oauth2_auth_requests #06 nonce text NULL
column oauth2_auth_requests #07 response_type text NOT NULL
column oauth2_auth_requests #08 code_challenge text NULL
column oauth2_auth_requests #09 code_challenge_method text NULL
column oauth2_auth_requests #10 resource text NULL
column oauth2_auth_requests #11 user_id uuid NULL
column oauth2_auth_requests #12 done boolean NOT NULL default=false
column oauth2_auth_requests #13 auth_time timestamp with time zone NULL
column oauth2_auth_requests #14 created_at timestamp with time zone NOT NULL default=now()
column oauth2_auth_requests #15 expires_at timestamp with time zone NOT NULL

column oauth2_authorization_codes #01 id uuid NOT NULL default=gen_random_uuid()
column oauth2_authorization_codes #02 code_hash text NOT NULL
column oauth2_authorization_codes #03 auth_request_id uuid NOT NULL
column oauth2_authorization_codes #04 created_at timestamp with time zone NOT NULL default=now()
column oauth2_authorization_codes #05 expires_at timestamp with time zone NOT NULL

column oauth2_clients #01 client_id text NOT NULL default=auth.generate_oauth2_client_id()
column oauth2_clients #02 client_secret_hash text NULL
column oauth2_clients #03 redirect_uris text[] NOT NULL default='{}'::text[]
column oauth2_clients #04 scopes text[] NOT NULL default='{openid,profile,email,phone,offline_access,graphql}'::text[]
column oauth2_clients #05 type text NOT NULL default='registered'::text
column oauth2_clients #06 metadata jsonb NULL
column oauth2_clients #07 metadata_document_fetched_at timestamp with time zone NULL
column oauth2_clients #08 created_by uuid NULL
column oauth2_clients #09 created_at timestamp with time zone NOT NULL default=now()
column oauth2_clients #10 updated_at timestamp with time zone NOT NULL default=now()

column oauth2_refresh_tokens #01 id uuid NOT NULL default=gen_random_uuid()
column oauth2_refresh_tokens #02 token_hash text NOT NULL
column oauth2_refresh_tokens #03 auth_request_id uuid NULL
column oauth2_refresh_tokens #04 client_id text NOT NULL
column oauth2_refresh_tokens #05 user_id uuid NOT NULL
column oauth2_refresh_tokens #06 scopes text[] NOT NULL default='{}'::text[]
column oauth2_refresh_tokens #07 created_at timestamp with time zone NOT NULL default=now()
column oauth2_refresh_tokens #08 expires_at timestamp with time zone NOT NULL

column pkce_authorization_codes #01 id uuid NOT NULL default=gen_random_uuid()
column pkce_authorization_codes #02 user_id uuid NOT NULL
column pkce_authorization_codes #03 code_hash text NOT NULL
column pkce_authorization_codes #04 code_challenge text NOT NULL
column pkce_authorization_codes #05 redirect_to text NULL
column pkce_authorization_codes #06 expires_at timestamp with time zone NOT NULL
column pkce_authorization_codes #07 created_at timestamp with time zone NOT NULL default=now()

column users #26 otp_attempts smallint NOT NULL default=0
column users #27 new_phone_number text NULL
column users #28 pending_sms_deanonymize_options jsonb NULL

constraint oauth2_auth_requests fk_oauth2_auth_requests_client f FOREIGN KEY (client_id) REFERENCES auth.oauth2_clients(client_id) ON UPDATE CASCADE ON DELETE CASCADE
constraint oauth2_auth_requests fk_oauth2_auth_requests_user f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint oauth2_auth_requests oauth2_auth_requests_pkey p PRIMARY KEY (id)
constraint oauth2_authorization_codes fk_oauth2_authorization_codes_auth_request f FOREIGN KEY (auth_request_id) REFERENCES auth.oauth2_auth_requests(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint oauth2_authorization_codes oauth2_authorization_codes_code_hash_key u UNIQUE (code_hash)
constraint oauth2_authorization_codes oauth2_authorization_codes_pkey p PRIMARY KEY (id)
constraint oauth2_clients fk_oauth2_clients_created_by f FOREIGN KEY (created_by) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE SET NULL
constraint oauth2_clients oauth2_clients_pkey p PRIMARY KEY (client_id)
constraint oauth2_clients oauth2_clients_type_check c CHECK ((type = ANY (ARRAY['registered'::text, 'client_id_metadata_document'::text])))
constraint oauth2_refresh_tokens fk_oauth2_refresh_tokens_auth_request f FOREIGN KEY (auth_request_id) REFERENCES auth.oauth2_auth_requests(id) ON UPDATE CASCADE ON DELETE SET NULL
constraint oauth2_refresh_tokens fk_oauth2_refresh_tokens_client f FOREIGN KEY (client_id) REFERENCES auth.oauth2_clients(client_id) ON UPDATE CASCADE ON DELETE CASCADE
constraint oauth2_refresh_tokens fk_oauth2_refresh_tokens_user f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE
constraint oauth2_refresh_tokens oauth2_refresh_tokens_pkey p PRIMARY KEY (id)
constraint oauth2_refresh_tokens oauth2_refresh_tokens_token_hash_key u UNIQUE (token_hash)
constraint pkce_authorization_codes pkce_authorization_codes_code_hash_key u UNIQUE (code_hash)
constraint pkce_authorization_codes pkce_authorization_codes_pkey p PRIMARY KEY (id)
constraint pkce_authorization_codes pkce_authorization_codes_user_id_fkey f FOREIGN KEY (user_id) REFERENCES auth.users(id) ON UPDATE CASCADE ON DELETE CASCADE

index oauth2_auth_requests_client_id_idx CREATE INDEX oauth2_auth_requests_client_id_idx ON auth.oauth2_auth_requests USING btree (client_id)
index oauth2_auth_requests_expires_at_idx CREATE INDEX oauth2_auth_requests_expires_at_idx ON auth.oauth2_auth_requests USING btree (expires_at)
index oauth2_auth_requests_pkey CREATE UNIQUE INDEX oauth2_auth_requests_pkey ON auth.oauth2_auth_requests USING btree (id)
index oauth2_auth_requests_user_id_idx CREATE INDEX oauth2_auth_requests_user_id_idx ON auth.oauth2_auth_requests USING btree (user_id)
index oauth2_authorization_codes_code_hash_key CREATE UNIQUE INDEX oauth2_authorization_codes_code_hash_key ON auth.oauth2_authorization_codes USING btree (code_hash)
index oauth2_authorization_codes_expires_at_idx CREATE INDEX oauth2_authorization_codes_expires_at_idx ON auth.oauth2_authorization_codes USING btree (expires_at)
index oauth2_authorization_codes_pkey CREATE UNIQUE INDEX oauth2_authorization_codes_pkey ON auth.oauth2_authorization_codes USING btree (id)
index oauth2_clients_created_by_idx CREATE INDEX oauth2_clients_created_by_idx ON auth.oauth2_clients USING btree (created_by)
index oauth2_clients_pkey CREATE UNIQUE INDEX oauth2_clients_pkey ON auth.oauth2_clients USING btree (client_id)
index oauth2_refresh_tokens_client_id_idx CREATE INDEX oauth2_refresh_tokens_client_id_idx ON auth.oauth2_refresh_tokens USING btree (client_id)
index oauth2_refresh_tokens_expires_at_idx CREATE INDEX oauth2_refresh_tokens_expires_at_idx ON auth.oauth2_refresh_tokens USING btree (expires_at)
index oauth2_refresh_tokens_pkey CREATE UNIQUE INDEX oauth2_refresh_tokens_pkey ON auth.oauth2_refresh_tokens USING btree (id)
index oauth2_refresh_tokens_token_hash_key CREATE UNIQUE INDEX oauth2_refresh_tokens_token_hash_key ON auth.oauth2_refresh_tokens USING btree (token_hash)
index oauth2_refresh_tokens_user_id_idx CREATE INDEX oauth2_refresh_tokens_user_id_idx ON auth.oauth2_refresh_tokens USING btree (user_id)
index pkce_authorization_codes_code_hash_key CREATE UNIQUE INDEX pkce_authorization_codes_code_hash_key ON auth.pkce_authorization_codes USING btree (code_hash)
index pkce_authorization_codes_expires_at_idx CREATE INDEX pkce_authorization_codes_expires_at_idx ON auth.pkce_authorization_codes USING btree (expires_at)
index pkce_authorization_codes_pkey CREATE UNIQUE INDEX pkce_authorization_codes_pkey ON auth.pkce_authorization_codes USING btree (id)
index users_new_phone_number_idx CREATE INDEX users_new_phone_number_idx ON auth.users USING btree (new_phone_number) WHERE (new_phone_number IS NOT NULL)

trigger check_oauth2_client_secret_hash CREATE TRIGGER check_oauth2_client_secret_hash BEFORE INSERT OR UPDATE ON auth.oauth2_clients FOR EACH ROW EXECUTE FUNCTION auth.check_oauth2_client_secret_hash()
trigger set_auth_oauth2_clients_updated_at CREATE TRIGGER set_auth_oauth2_clients_updated_at BEFORE UPDATE ON auth.oauth2_clients FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at()
trigger validate_oauth2_auth_requests_scopes CREATE TRIGGER validate_oauth2_auth_requests_scopes BEFORE INSERT OR UPDATE ON auth.oauth2_auth_requests FOR EACH ROW EXECUTE FUNCTION auth.validate_oauth2_scopes()
trigger validate_oauth2_clients_scopes CREATE TRIGGER validate_oauth2_clients_scopes BEFORE INSERT OR UPDATE ON auth.oauth2_clients FOR EACH ROW EXECUTE FUNCTION auth.validate_oauth2_scopes()
trigger validate_oauth2_refresh_tokens_scopes CREATE TRIGGER validate_oauth2_refresh_tokens_scopes BEFORE INSERT OR UPDATE ON auth.oauth2_refresh_tokens FOR EACH ROW EXECUTE FUNCTION auth.validate_oauth2_scopes()

function check_oauth2_client_secret_hash() returns trigger language=plpgsql volatility=v strict=false security_definer=false
function generate_oauth2_client_id() returns text language=sql volatility=v strict=false security_definer=false
function is_valid_oauth2_scope(scope text) returns boolean language=sql volatility=i strict=true security_definer=false
function validate_oauth2_scopes() returns trigger language=plpgsql volatility=v strict=false security_definer=false
"##;

fn catalog_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("{DONT}", DONT))
        .collect()
}

/// Upstream v0.42's catalog, Node-era ledger included (we keep it on every database we
/// migrate).
fn expected_v18_schema() -> Vec<String> {
    let mut lines = catalog_lines(EXPECTED_V18_SCHEMA);
    lines.sort();
    lines
}

/// Nhost Auth 0.52's catalog, Node-era ledger included.
fn expected_v27_schema() -> Vec<String> {
    let mut lines: Vec<String> = catalog_lines(EXPECTED_V18_SCHEMA)
        .into_iter()
        .map(|l| {
            if l == V18_LOCALE {
                V27_LOCALE.to_owned()
            } else {
                l
            }
        })
        .chain(catalog_lines(EXPECTED_V27_ADDITIONS))
        .collect();
    lines.sort();
    lines
}

/// A catalog without our Node-era ledger `auth.migrations`, which upstream's Go releases
/// never create.
fn without_node_ledger(lines: Vec<String>) -> Vec<String> {
    lines
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
        .collect()
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
            || ' volatility=' || p.provolatile::text || ' strict=' || p.proisstrict
            || ' security_definer=' || p.prosecdef
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

/// `auth.migrations` has one row per migration of `first..=last`, with our name and hash.
async fn assert_node_ledger_rows(client: &Client, first: i64, last: i64) {
    for m in MIGRATIONS
        .iter()
        .filter(|m| (first..=last).contains(&m.version))
    {
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
    let beyond = count(
        client,
        &format!("SELECT count(*) FROM auth.migrations WHERE id > {last}"),
    )
    .await;
    assert_eq!(beyond, 0, "auth.migrations has rows past {last}");
}

async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// A fresh database holding `fixtures`, loaded in order.
async fn load(fixtures: &[&str]) -> (TestDb, Client) {
    let db = TestDb::empty().await;
    let client = db.client().await;
    for fixture in fixtures {
        client.batch_execute(fixture).await.expect("load fixture");
    }
    (db, client)
}

/// Removes the row of `table` whose `id` is `id` from a snapshot (a row a migration may
/// rewrite, checked on its own).
fn forget_row(snapshot: &mut BTreeMap<String, Vec<Value>>, table: &str, id: &str) {
    if let Some(rows) = snapshot.get_mut(table) {
        rows.retain(|r| r["id"] != id);
    }
}

/// Loads `fixtures`, migrates with the default policy, checks the report (the database,
/// found at `from` <= 18, is brought to 18 and no further), the data, the ledgers and
/// that the schema is upstream v0.42's. Returns the database for extra checks.
async fn take_over(fixtures: &[&str], from: i64, changes: &Changes) -> (TestDb, Client) {
    let (db, client) = load(fixtures).await;
    let before = snapshot(&client).await;

    let report = migrate(&db.url).await.expect("takeover migration");
    assert_eq!(report.from_version, from);
    assert_eq!(report.to_version, 18);
    assert_eq!(report.applied, (from + 1..=18).collect::<Vec<_>>());
    assert_eq!(report.reason, TargetReason::KeepV042Generation);
    assert_eq!(report.level(), SchemaLevel::V0_42);

    let after = snapshot(&client).await;
    assert_rows_kept(&before, &after, changes);
    assert_schema_migrations(&client, 18).await;
    assert_node_ledger_rows(&client, from + 1, 18).await;
    assert_same_schema(
        &describe_schema(&db.url).await,
        &expected_v18_schema(),
        "taken-over database",
    );

    let again = migrate(&db.url).await.expect("second run");
    assert!(again.applied.is_empty());
    assert_eq!(again.to_version, 18);
    (db, client)
}

/// Loads `fixtures`, migrates with `AUTH_MIGRATE_TO_LATEST=true` and checks that the
/// database reaches 27 with Nhost Auth 0.52's catalog, keeping its rows except the users
/// in `staged` (SMS sign-up placeholders version 26 moves, checked by the caller).
async fn take_over_to_latest(
    fixtures: &[&str],
    from: i64,
    changes: &Changes,
    staged: &[&str],
) -> (TestDb, Client) {
    let (db, client) = load(fixtures).await;
    let mut before = snapshot(&client).await;
    for id in staged {
        forget_row(&mut before, "users", id);
    }

    let report = migrate_to_latest(&db.url).await.expect("opt-in migration");
    assert_eq!(report.from_version, from);
    assert_eq!(report.to_version, LATEST_VERSION);
    assert_eq!(
        report.applied,
        (from + 1..=LATEST_VERSION).collect::<Vec<_>>()
    );
    assert_eq!(report.reason, TargetReason::OptedIn);
    assert_eq!(report.level(), SchemaLevel::V0_52);

    let mut after = snapshot(&client).await;
    for id in staged {
        forget_row(&mut after, "users", id);
    }
    assert_rows_kept(&before, &after, changes);
    assert_schema_migrations(&client, LATEST_VERSION).await;
    assert_node_ledger_rows(&client, from + 1, LATEST_VERSION).await;
    assert_same_schema(
        &describe_schema(&db.url).await,
        &expected_v27_schema(),
        "database migrated to the latest",
    );

    // Without the setting, a database at 27 stays at 27.
    let again = migrate(&db.url).await.expect("second run");
    assert!(again.applied.is_empty());
    assert_eq!(again.reason, TargetReason::AlreadyLatest);
    (db, client)
}

/// (phone_number, new_phone_number) of a user.
async fn phones(client: &Client, id: &str) -> (Option<String>, Option<String>) {
    let row = client
        .query_one(
            "SELECT phone_number, new_phone_number FROM auth.users WHERE id::text = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

const ERIN: &str = "55555555-5555-4555-8555-555555555555";
const FRED: &str = "66666666-6666-4666-8666-666666666666";
const BOB: &str = "33333333-3333-4333-8333-333333333333";

// ---------------------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn empty_database_reaches_version_27_with_both_ledgers_and_a_rerun_applies_nothing() {
    let db = TestDb::empty().await;
    let report = migrate(&db.url).await.expect("migrate");
    assert_eq!(report.from_version, 0);
    assert_eq!(report.to_version, 27);
    assert_eq!(report.applied, (1..=27).collect::<Vec<i64>>());
    assert_eq!(report.reason, TargetReason::EmptyDatabase);
    assert_eq!(report.level(), SchemaLevel::V0_52);

    let client = db.client().await;
    assert_schema_migrations(&client, 27).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        27
    );
    assert_node_ledger_rows(&client, 1, 27).await;
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
    assert_eq!(names[19], "00020_oauth2_provider");
    assert_eq!(names[26], "00027_user_new_phone_number_index");
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
        MigrationReport {
            from_version: 27,
            to_version: 27,
            applied: vec![],
            reason: TargetReason::AlreadyLatest,
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
    assert_schema_migrations(&client, 27).await;
}

#[tokio::test]
async fn fresh_schema_is_exactly_nhost_0_52s_schema() {
    let db = TestDb::empty().await;
    migrate(&db.url).await.expect("migrate");
    assert_same_schema(
        &describe_schema(&db.url).await,
        &expected_v27_schema(),
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

/// The SQLSTATE and message of a failed statement.
fn db_failure(e: &tokio_postgres::Error) -> (String, String) {
    let db = e.as_db_error().expect("a database error");
    (db.code().code().to_owned(), db.message().to_owned())
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

    // 19: three-letter locales, not four. 23: new users start with no wrong guesses.
    let row = client
        .query_one(
            "INSERT INTO auth.users (locale) VALUES ('fil') RETURNING otp_attempts, new_phone_number",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i16>(0), 0);
    assert_eq!(row.get::<_, Option<String>>(1), None);
    let long = client
        .execute("INSERT INTO auth.users (locale) VALUES ('filx')", &[])
        .await
        .unwrap_err();
    assert_eq!(db_failure(&long).0, "22001");

    // 20: client ids are 'nhoa_' + 16 hex digits; secrets only as bcrypt hashes.
    let id: String = client
        .query_one(
            "INSERT INTO auth.oauth2_clients (client_secret_hash) VALUES ('$2a$10$abc') RETURNING client_id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(id.starts_with("nhoa_") && id.len() == 21, "{id}");
    assert!(
        id[5..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    let plain = client
        .execute(
            "INSERT INTO auth.oauth2_clients (client_secret_hash) VALUES ('plaintext')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        db_failure(&plain),
        (
            "23514".to_owned(),
            "client_secret_hash must be a bcrypt hash".to_owned()
        )
    );
    let bad_type = client
        .execute(
            "INSERT INTO auth.oauth2_clients (type) VALUES ('public')",
            &[],
        )
        .await
        .unwrap_err();
    assert_eq!(
        bad_type.as_db_error().unwrap().constraint(),
        Some("oauth2_clients_type_check")
    );

    // 22: role scopes pass the trigger; unknown scopes are refused, on every table.
    client
        .execute(
            "INSERT INTO auth.oauth2_clients (client_id, scopes) VALUES ('c1', '{openid,graphql:role:editor}')",
            &[],
        )
        .await
        .unwrap();
    for sql in [
        "INSERT INTO auth.oauth2_clients (scopes) VALUES ('{openid,admin}')",
        "UPDATE auth.oauth2_clients SET scopes = '{graphql:role:}' WHERE client_id = 'c1'",
        "INSERT INTO auth.oauth2_auth_requests (client_id, scopes, redirect_uri, response_type, expires_at)
         VALUES ('c1', '{admin}', 'https://x', 'code', now())",
    ] {
        let e = client.execute(sql, &[]).await.unwrap_err();
        let (code, message) = db_failure(&e);
        assert_eq!(code, "23514", "{sql}");
        assert!(message.starts_with("invalid oauth2 scope: "), "{message}");
    }

    // 21: PKCE codes are unique by hash and go with their user.
    client
        .batch_execute(
            "INSERT INTO auth.pkce_authorization_codes (user_id, code_hash, code_challenge, expires_at)
             SELECT id, 'h1', 'c', now() FROM auth.users WHERE locale = 'fil'",
        )
        .await
        .unwrap();
    client
        .batch_execute("DELETE FROM auth.users WHERE locale = 'fil'")
        .await
        .unwrap();
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM auth.pkce_authorization_codes"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn node_era_database_at_version_1_is_taken_over_to_18_keeping_its_ledger_rows() {
    let (_db, client) = take_over(
        &[V01_NODE],
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
async fn upstream_database_at_version_10_is_taken_over_to_18() {
    let (_db, client) = take_over(
        &[V10],
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
async fn upstream_database_at_version_10_with_the_opt_in_reaches_27() {
    let (_db, client) = take_over_to_latest(
        &[V10],
        10,
        &Changes {
            renamed_columns: &[("refresh_tokens", "refresh_token", "id")],
            ..Changes::default()
        },
        &[],
    )
    .await;
    assert_refresh_tokens_rekeyed(&client).await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        17
    );
}

#[tokio::test]
async fn upstream_database_at_version_14_with_generated_hashes_is_taken_over_to_18() {
    let (_db, client) = take_over(
        &[V14],
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
async fn upstream_database_at_version_15_is_taken_over_to_18() {
    let (_db, client) = take_over(&[V15], 15, &Changes::default()).await;
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
async fn upstream_database_at_version_16_is_taken_over_to_18() {
    // Version 15 plus upstream's step 16 (the index), recorded the golang-migrate way.
    let fixture = format!(
        "{V15}\nCREATE INDEX IF NOT EXISTS refresh_tokens_refresh_token_hash_expires_at_user_id_idx ON
           auth.refresh_tokens (refresh_token_hash, expires_at, user_id);
         TRUNCATE auth.schema_migrations;
         INSERT INTO auth.schema_migrations (version, dirty) VALUES (16, false);"
    );
    take_over(&[&fixture], 16, &Changes::default()).await;
}

#[tokio::test]
async fn upstream_database_at_version_18_is_left_unchanged() {
    let (db, client) = load(&[V18]).await;
    let schema_before = describe_schema(&db.url).await;
    let data_before = snapshot(&client).await;

    // The fixture is upstream v0.42's final schema: ours at 18 minus the Node-era ledger.
    assert_same_schema(
        &schema_before,
        &without_node_ledger(expected_v18_schema()),
        "v18 fixture",
    );

    let report = migrate(&db.url).await.expect("migrate");
    assert_eq!(report.from_version, 18);
    assert_eq!(report.to_version, 18);
    assert!(report.applied.is_empty());
    assert_eq!(report.reason, TargetReason::KeepV042Generation);
    assert!(!report.level().has_otp_attempts());

    assert_same_schema(
        &describe_schema(&db.url).await,
        &schema_before,
        "v18 database after migrate",
    );
    assert_eq!(snapshot(&client).await, data_before);
    assert_schema_migrations(&client, 18).await;
}

/// SMS sign-up placeholders as upstream v0.42 left them, next to the v18 fixture.
const V18_SMS_PLACEHOLDERS: &str = "
INSERT INTO auth.users (id, locale, phone_number, otp_hash, otp_method_last_used)
VALUES ('55555555-5555-4555-8555-555555555555', 'en', '+33622222222', 'x', 'sms'),
       ('66666666-6666-4666-8666-666666666666', 'en', '+33633333333', 'x', 'sms'),
       ('77777777-7777-4777-8777-777777777777', 'en', '+33644444444', 'x', 'sms'),
       ('88888888-8888-4888-8888-888888888888', 'en', '+33655555555', 'x', 'sms');
INSERT INTO auth.refresh_tokens (user_id, expires_at, refresh_token_hash)
VALUES ('66666666-6666-4666-8666-666666666666', '2099-01-01', 'h-fred');
-- Used once (last_seen), and linked to a provider: both are accounts.
UPDATE auth.users SET last_seen = now() WHERE id = '77777777-7777-4777-8777-777777777777';
INSERT INTO auth.user_providers (user_id, access_token, provider_id, provider_user_id)
VALUES ('88888888-8888-4888-8888-888888888888', 'unset', 'github', 'gh-8');
";

#[tokio::test]
async fn upstream_database_at_version_18_with_the_opt_in_reaches_27_staging_only_placeholders() {
    let (_db, client) = take_over_to_latest(
        &[V18, V18_SMS_PLACEHOLDERS],
        18,
        &Changes::default(),
        &[ERIN],
    )
    .await;
    // Erin never confirmed her code and holds nothing: her number is staged (26).
    assert_eq!(
        phones(&client, ERIN).await,
        (None, Some("+33622222222".to_owned()))
    );
    // Everyone else keeps their number: a session, a use, a provider link, a verified phone.
    assert_eq!(
        phones(&client, FRED).await,
        (Some("+33633333333".to_owned()), None)
    );
    assert_eq!(
        phones(&client, "77777777-7777-4777-8777-777777777777").await,
        (Some("+33644444444".to_owned()), None)
    );
    assert_eq!(
        phones(&client, "88888888-8888-4888-8888-888888888888").await,
        (Some("+33655555555".to_owned()), None)
    );
    assert_eq!(
        phones(&client, BOB).await,
        (Some("+33600000000".to_owned()), None)
    );
    // The node-era ledger was created for the steps we applied, 19..=27.
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        9
    );
}

#[tokio::test]
async fn nhost_database_at_version_22_stays_there_without_the_opt_in() {
    let (db, client) = load(&[V18, V22]).await;
    let schema_before = describe_schema(&db.url).await;
    let data_before = snapshot(&client).await;

    let report = migrate(&db.url).await.expect("migrate");
    assert_eq!(
        (report.from_version, report.to_version),
        (22, 22),
        "{report:?}"
    );
    assert!(report.applied.is_empty());
    assert_eq!(report.reason, TargetReason::KeepFoundLevel);
    let level = report.level();
    assert!(level.has_pkce_codes() && level.has_graphql_role_scopes());
    assert!(!level.has_otp_attempts() && !level.has_new_phone_number());
    assert_eq!(level.locale_max_len(), 3);

    assert_same_schema(
        &describe_schema(&db.url).await,
        &schema_before,
        "v22 database after migrate",
    );
    assert_eq!(snapshot(&client).await, data_before);
    assert_schema_migrations(&client, 22).await;
}

#[tokio::test]
async fn nhost_database_at_version_22_with_the_opt_in_reaches_27() {
    let (_db, client) = take_over_to_latest(&[V18, V22], 22, &Changes::default(), &[]).await;
    let scopes: Vec<String> = client
        .query_one(
            "SELECT scopes FROM auth.oauth2_clients WHERE client_id = 'nhoa_fedcba9876543210'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(scopes, ["openid", "graphql:role:me"]);
}

#[tokio::test]
async fn nhost_database_at_version_24_stays_there_without_the_opt_in() {
    let (db, client) = load(&[V18, V22, V24]).await;
    let schema_before = describe_schema(&db.url).await;
    let data_before = snapshot(&client).await;

    let report = migrate(&db.url).await.expect("migrate");
    assert_eq!((report.from_version, report.to_version), (24, 24));
    assert!(report.applied.is_empty());
    assert!(report.level().has_new_phone_number());
    assert!(!report.level().has_pending_sms_deanonymize_options());

    assert_same_schema(
        &describe_schema(&db.url).await,
        &schema_before,
        "v24 database after migrate",
    );
    assert_eq!(snapshot(&client).await, data_before);
    assert_schema_migrations(&client, 24).await;
    // Nothing of 26: the placeholder keeps its number.
    assert_eq!(
        phones(&client, ERIN).await,
        (Some("+33622222222".to_owned()), None)
    );
}

#[tokio::test]
async fn nhost_database_at_version_24_with_the_opt_in_reaches_27_staging_its_placeholder() {
    let (_db, client) =
        take_over_to_latest(&[V18, V22, V24], 24, &Changes::default(), &[ERIN]).await;
    assert_eq!(
        phones(&client, ERIN).await,
        (None, Some("+33622222222".to_owned()))
    );
    let attempts: i16 = client
        .query_one(
            "SELECT otp_attempts FROM auth.users WHERE id::text = $1",
            &[&ERIN],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 3);
    assert_eq!(
        phones(&client, FRED).await,
        (Some("+33633333333".to_owned()), None)
    );
}

#[tokio::test]
async fn nhost_0_52_database_is_left_unchanged_with_or_without_the_opt_in() {
    let (db, client) = load(&[V27]).await;
    let schema_before = describe_schema(&db.url).await;
    let data_before = snapshot(&client).await;

    // The fixture is Nhost Auth 0.52's schema: ours at 27 minus the Node-era ledger.
    assert_same_schema(
        &schema_before,
        &without_node_ledger(expected_v27_schema()),
        "v27 fixture",
    );

    for run in [migrate(&db.url).await, migrate_to_latest(&db.url).await] {
        let report = run.expect("migrate");
        assert_eq!(
            report,
            MigrationReport {
                from_version: 27,
                to_version: 27,
                applied: vec![],
                reason: TargetReason::AlreadyLatest,
            }
        );
        assert_eq!(report.level(), SchemaLevel::V0_52);
    }

    assert_same_schema(
        &describe_schema(&db.url).await,
        &schema_before,
        "v27 database after migrate",
    );
    assert_eq!(snapshot(&client).await, data_before);
    assert_schema_migrations(&client, 27).await;
}

#[tokio::test]
async fn dirty_ledger_is_refused_naming_the_version() {
    let (db, client) = load(&[V10]).await;
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
    let (db, client) = load(&[V27]).await;
    client
        .batch_execute("UPDATE auth.schema_migrations SET version = 28")
        .await
        .unwrap();
    for run in [migrate(&db.url).await, migrate_to_latest(&db.url).await] {
        let err = run.expect_err("unknown version must be refused");
        assert!(
            matches!(
                err,
                MigrateError::UnknownVersion {
                    found: 28,
                    latest: 27
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("28"), "{err}");
    }
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

    let all: Vec<i64> = (1..=27).collect();
    let (winner, loser) = if a.applied.is_empty() { (b, a) } else { (a, b) };
    assert_eq!(winner.applied, all);
    assert_eq!(winner.from_version, 0);
    assert!(
        loser.applied.is_empty(),
        "both instances applied migrations: {loser:?}"
    );
    // Both agree on the level the service runs on.
    assert_eq!((loser.from_version, loser.to_version), (27, 27));
    assert_eq!(winner.level(), loser.level());

    let client = db.client().await;
    assert_eq!(
        count(&client, "SELECT count(*) FROM auth.migrations").await,
        27
    );
    assert_schema_migrations(&client, 27).await;
    assert_same_schema(
        &describe_schema(&db.url).await,
        &expected_v27_schema(),
        "concurrently migrated database",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_with_and_without_the_opt_in_agree_on_a_v18_database() {
    let (db, client) = load(&[V18]).await;
    // The lock serialises them: the opted-in one applies 19..=27 once, whether it goes
    // first or second; the other one finds 18 (and keeps it) or 27.
    let (a, b) = tokio::join!(
        tokio::spawn({
            let url = db.url.clone();
            async move { migrate_to_latest(&url).await }
        }),
        tokio::spawn({
            let url = db.url.clone();
            async move { migrate(&url).await }
        }),
    );
    let a = a.unwrap().expect("opted-in instance");
    let b = b.unwrap().expect("default instance");
    let applied: usize = a.applied.len() + b.applied.len();
    assert_eq!(applied, 9, "{a:?} {b:?}");
    assert_eq!(a.to_version, 27);
    assert!(
        b.applied.is_empty() && [18, 27].contains(&b.to_version),
        "{b:?}"
    );
    assert_schema_migrations(&client, 27).await;
}

#[tokio::test]
async fn a_failing_step_is_rolled_back_with_its_ledger_rows_and_can_be_retried() {
    let (db, client) = load(&[V15]).await;
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

/// Runs `hasura-auth migrate` against `url` with `env` and returns the ledger version.
async fn run_migrate_command(url: &str, env: &[(&str, &str)]) -> i64 {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hasura-auth"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .arg("migrate")
        .arg(format!("--postgres={url}"))
        .output()
        .await
        .expect("run hasura-auth migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = connect(url)
        .await
        .query_one("SELECT version, dirty FROM auth.schema_migrations", &[])
        .await
        .expect("ledger");
    assert!(!row.get::<_, bool>(1));
    row.get(0)
}

#[tokio::test]
async fn the_migrate_command_applies_the_migrations_and_exits() {
    let db = TestDb::empty().await;
    assert_eq!(run_migrate_command(&db.url, &[]).await, 27);
}

#[tokio::test]
async fn the_migrate_command_takes_a_v18_database_to_27_only_when_asked() {
    let (db, _client) = load(&[V18]).await;
    assert_eq!(run_migrate_command(&db.url, &[]).await, 18);
    assert_eq!(
        run_migrate_command(&db.url, &[("AUTH_MIGRATE_TO_LATEST", "false")]).await,
        18
    );
    assert_eq!(
        run_migrate_command(&db.url, &[("AUTH_MIGRATE_TO_LATEST", "true")]).await,
        27
    );
}
