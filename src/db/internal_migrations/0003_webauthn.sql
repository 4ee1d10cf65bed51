-- WebAuthn ceremonies in progress (upstream kept them in process memory). Any instance
-- can finish a ceremony another one started; a row is deleted when it is used, so a
-- replayed response finds nothing.
CREATE TABLE hasura_auth.webauthn_ceremonies (
    -- base64url (no padding) of the challenge, as it comes back in clientDataJSON
    challenge text PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('signup', 'add-key', 'signin', 'elevate')),
    -- the user the ceremony is for (sign-up: the id the new user will get);
    -- NULL for a discoverable sign-in, where the authenticator names the user
    user_id uuid,
    -- the relying-party library's ceremony state
    state jsonb NOT NULL,
    -- sign-up only: the email and the resolved sign-up options
    signup jsonb,
    expires_at timestamptz NOT NULL
);

CREATE INDEX webauthn_ceremonies_expires_at_idx ON hasura_auth.webauthn_ceremonies (expires_at);

COMMENT ON TABLE hasura_auth.webauthn_ceremonies IS
    'WebAuthn challenges issued and not yet used; single use, expiring (AUTH_WEBAUTHN_ATTESTATION_TIMEOUT).';

-- What the relying-party library knows about a credential beyond upstream's columns of
-- auth.user_security_keys (which keep the id, COSE key, counter, transports, nickname).
-- Keys registered by upstream have no row until their first use here. Rows are joined
-- on credential_id; there is deliberately no foreign key into auth, so that nothing
-- here constrains what upstream (or Hasura) may do to its own schema. A row whose key
-- was deleted is ignored, and overwritten if that id is ever registered again.
CREATE TABLE hasura_auth.webauthn_credentials (
    credential_id text PRIMARY KEY,
    -- user verification was performed at registration: later assertions must verify too
    user_verified boolean NOT NULL,
    backup_eligible boolean NOT NULL,
    backup_state boolean NOT NULL
);

COMMENT ON TABLE hasura_auth.webauthn_credentials IS
    'Flags of WebAuthn credentials (user verification, backup eligibility) that auth.user_security_keys cannot hold.';
