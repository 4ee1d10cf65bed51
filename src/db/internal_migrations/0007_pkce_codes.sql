-- PKCE authorization codes (`codeChallenge` … `POST /token/exchange`) for databases kept
-- below auth level 21, which lack auth.pkce_authorization_codes. Same shape as upstream's
-- table, so a code behaves the same at every level.
CREATE TABLE hasura_auth.pkce_codes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  code_hash text NOT NULL UNIQUE,
  code_challenge text NOT NULL,
  redirect_to text NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pkce_codes_expires_at_idx ON hasura_auth.pkce_codes (expires_at);
COMMENT ON TABLE hasura_auth.pkce_codes IS 'PKCE authorization codes (SHA-256 hashes) while the auth schema is below level 21. Internal to hasura-auth.';
