-- Version 21: single-use codes of the PKCE redirect flows, exchanged at /token/exchange.
CREATE TABLE auth.pkce_authorization_codes (
  id             uuid        NOT NULL DEFAULT gen_random_uuid(),
  user_id        uuid        NOT NULL,
  code_hash      text        NOT NULL,
  code_challenge text        NOT NULL,
  redirect_to    text,
  expires_at     timestamptz NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pkce_authorization_codes_pkey PRIMARY KEY (id),
  CONSTRAINT pkce_authorization_codes_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT pkce_authorization_codes_code_hash_key UNIQUE (code_hash)
);

CREATE INDEX pkce_authorization_codes_expires_at_idx ON auth.pkce_authorization_codes (expires_at);
