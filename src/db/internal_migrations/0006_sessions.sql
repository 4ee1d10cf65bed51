-- Refresh-token reuse detection and the sessions a user can see (issue 14).
--
-- Upstream rotates a refresh token in place (same auth.refresh_tokens row, new hash), so
-- the row forgets the hashes it had. One row here per rotation remembers them: a token
-- presented again is recognised as a former token of that chain, and when it was rotated
-- tells a benign race (within AUTH_REFRESH_TOKEN_REUSE_INTERVAL) from a stolen token.
-- Only hashes, as in auth.refresh_tokens. No foreign key into auth (see 0003): rows of a
-- deleted chain are ignored and swept with the expired tokens.
CREATE TABLE hasura_auth.refresh_token_rotations (
    previous_hash text PRIMARY KEY,
    refresh_token_id uuid NOT NULL,
    rotated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_token_rotations_chain_idx
    ON hasura_auth.refresh_token_rotations (refresh_token_id, rotated_at);
CREATE INDEX refresh_token_rotations_rotated_at_idx
    ON hasura_auth.refresh_token_rotations (rotated_at);
COMMENT ON TABLE hasura_auth.refresh_token_rotations IS
    'Former hashes of rotated refresh tokens (reuse detection); kept for one refresh-token lifetime.';

-- What the client looked like when the session started (GET /user/sessions). Written at
-- sign-in, keyed by the auth.refresh_tokens id; a session from before this migration,
-- or from upstream, simply has no row.
CREATE TABLE hasura_auth.session_clients (
    refresh_token_id uuid PRIMARY KEY,
    user_agent text,
    ip text
);
COMMENT ON TABLE hasura_auth.session_clients IS
    'User agent and IP address recorded at sign-in, per refresh token.';
