-- Our own schema for state upstream kept in process memory (WebAuthn ceremonies, used
-- one-time codes, OAuth states…). Kept out of `auth` so that schema stays exactly
-- upstream's and Hasura's metadata is unaffected.
COMMENT ON SCHEMA hasura_auth IS 'Internal state of hasura-auth (Rust). Not part of the auth API; do not track in Hasura.';
