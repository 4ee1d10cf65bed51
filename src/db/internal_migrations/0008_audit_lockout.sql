-- The audit trail and per-account brute-force protection (issue 14, items 3 and 4).
--
-- One row per security event: never a secret (no password, token, code or hash), only
-- who, when, from where, what and how it ended. Written in batches by a background
-- writer; rows older than AUTH_AUDIT_RETENTION are deleted by a periodic purge. No
-- foreign key into auth: the trail of a deleted user stays until it expires.
CREATE TABLE hasura_auth.audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    event text NOT NULL,
    outcome text NOT NULL,
    user_id uuid,
    method text,
    reason text,
    ip text,
    user_agent text
);
CREATE INDEX audit_events_created_at_idx ON hasura_auth.audit_events (created_at);
CREATE INDEX audit_events_user_idx ON hasura_auth.audit_events (user_id, created_at)
    WHERE user_id IS NOT NULL;
COMMENT ON TABLE hasura_auth.audit_events IS
    'Security events (sign-in, sign-out, password and email changes, MFA, locks); no secrets.';

-- Failed attempts per account and the temporary lock they lead to
-- (AUTH_LOCKOUT_MAX_FAILURES). A row exists only for an account that failed recently;
-- a successful sign-in or a password change deletes it.
CREATE TABLE hasura_auth.account_lockouts (
    user_id uuid PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    lock_count integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE hasura_auth.account_lockouts IS
    'Failed sign-in attempts per account and temporary locks (brute-force protection).';
