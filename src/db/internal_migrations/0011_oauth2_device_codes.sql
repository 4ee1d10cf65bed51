-- oauth2_device_codes: pending device authorizations of the identity provider's device
-- flow (RFC 8628, `POST /oauth2/device`). Upstream keeps no such table at any level.
-- Both codes are stored as hex SHA-256, never in clear. client_id has no foreign key:
-- internal migrations also run on schemas below level 20, which have no
-- auth.oauth2_clients; every statement that reads a code joins the client instead, so a
-- code of a deleted client is unknown.
CREATE TABLE hasura_auth.oauth2_device_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_code_hash text NOT NULL UNIQUE,
  user_code_hash text NOT NULL,
  client_id text NOT NULL,
  scopes text[] NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied')),
  user_id uuid NULL REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  auth_time timestamptz NULL,
  interval_secs integer NOT NULL,
  last_polled_at timestamptz NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  CHECK (status = 'pending' OR user_id IS NOT NULL)
);
-- A user code designates one pending authorization.
CREATE UNIQUE INDEX oauth2_device_codes_pending_user_code_idx
  ON hasura_auth.oauth2_device_codes (user_code_hash) WHERE status = 'pending';
CREATE INDEX oauth2_device_codes_expires_at_idx ON hasura_auth.oauth2_device_codes (expires_at);
COMMENT ON TABLE hasura_auth.oauth2_device_codes IS 'OAuth2 device authorization grant (RFC 8628): device and user codes (SHA-256 hashes). Internal to hasura-auth.';
