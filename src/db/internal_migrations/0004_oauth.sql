-- OAuth sign-in: single-use states and provider sessions waiting to be fetched once.

-- One row per sign-in in progress. Only the SHA-256 of the state value sent to the
-- provider is stored, so a database dump cannot be replayed against the callback. A row
-- is deleted by the callback that presents it (single use) or, once expired, by the
-- next sign-in that starts.
CREATE TABLE hasura_auth.oauth_states (
    state_hash text PRIMARY KEY,
    provider text NOT NULL,
    data jsonb NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_states_expires_at_idx ON hasura_auth.oauth_states (expires_at);
COMMENT ON TABLE hasura_auth.oauth_states IS 'OAuth sign-ins in progress (hash of the state, options, PKCE verifier, nonce). Single use, short-lived.';

-- The provider tokens of the latest sign-in of a user with a provider, returned once by
-- GET /signin/provider/{provider}/callback/tokens and deleted when read (or, unread, by
-- a later sign-in once they are stale).
CREATE TABLE hasura_auth.provider_sessions (
    user_id uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
    provider_id text NOT NULL,
    access_token text NOT NULL,
    refresh_token text,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, provider_id)
);
CREATE INDEX provider_sessions_created_at_idx ON hasura_auth.provider_sessions (created_at);
COMMENT ON TABLE hasura_auth.provider_sessions IS 'Provider tokens of the latest OAuth sign-in, handed out once to the signed-in user.';
