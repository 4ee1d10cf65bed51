-- Version 20: the tables of the OAuth2/OpenID Connect identity provider (clients,
-- authorization requests, authorization codes, refresh tokens). The three scope CHECKs
-- created here are replaced by triggers in version 22, as upstream does.

-- Client ids look like 'nhoa_' followed by 16 lowercase hex digits.
CREATE FUNCTION auth.generate_oauth2_client_id() RETURNS text
  LANGUAGE sql
  AS $$
    SELECT 'nhoa_' || substring(encode(sha256(gen_random_uuid()::text::bytea), 'hex') FROM 1 FOR 16);
  $$;

CREATE TABLE auth.oauth2_clients (
  client_id                    text        NOT NULL DEFAULT auth.generate_oauth2_client_id(),
  client_secret_hash           text,
  redirect_uris                text[]      NOT NULL DEFAULT '{}',
  scopes                       text[]      NOT NULL DEFAULT '{openid,profile,email,phone,offline_access,graphql}',
  type                         text        NOT NULL DEFAULT 'registered',
  metadata                     jsonb,
  metadata_document_fetched_at timestamptz,
  created_by                   uuid,
  created_at                   timestamptz NOT NULL DEFAULT now(),
  updated_at                   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT oauth2_clients_pkey PRIMARY KEY (client_id),
  CONSTRAINT fk_oauth2_clients_created_by FOREIGN KEY (created_by)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT oauth2_clients_type_check
    CHECK (type IN ('registered', 'client_id_metadata_document')),
  CONSTRAINT oauth2_clients_scopes_check
    CHECK (scopes <@ ARRAY['openid', 'profile', 'email', 'phone', 'offline_access', 'graphql']::text[])
);

COMMENT ON TABLE auth.oauth2_clients IS 'Registered OAuth2 client applications for the identity provider.';

CREATE TRIGGER set_auth_oauth2_clients_updated_at
  BEFORE UPDATE ON auth.oauth2_clients
  FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at();

-- A client secret is only ever stored as a bcrypt hash ($2$, $2a$, $2b$ or $2y$).
CREATE FUNCTION auth.check_oauth2_client_secret_hash() RETURNS trigger
  LANGUAGE plpgsql
  AS $fn$
  BEGIN
    IF NEW.client_secret_hash IS NOT NULL AND NEW.client_secret_hash !~ '^\$2[aby]?\$' THEN
      RAISE EXCEPTION 'client_secret_hash must be a bcrypt hash' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END;
  $fn$;

CREATE TRIGGER check_oauth2_client_secret_hash
  BEFORE INSERT OR UPDATE ON auth.oauth2_clients
  FOR EACH ROW EXECUTE FUNCTION auth.check_oauth2_client_secret_hash();

CREATE TABLE auth.oauth2_auth_requests (
  id                    uuid        NOT NULL DEFAULT gen_random_uuid(),
  client_id             text        NOT NULL,
  scopes                text[]      NOT NULL DEFAULT '{}',
  redirect_uri          text        NOT NULL,
  state                 text,
  nonce                 text,
  response_type         text        NOT NULL,
  code_challenge        text,
  code_challenge_method text,
  resource              text,
  user_id               uuid,
  done                  boolean     NOT NULL DEFAULT false,
  auth_time             timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  expires_at            timestamptz NOT NULL,
  CONSTRAINT oauth2_auth_requests_pkey PRIMARY KEY (id),
  CONSTRAINT fk_oauth2_auth_requests_client FOREIGN KEY (client_id)
    REFERENCES auth.oauth2_clients (client_id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_oauth2_auth_requests_user FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT oauth2_auth_requests_scopes_check
    CHECK (scopes <@ ARRAY['openid', 'profile', 'email', 'phone', 'offline_access', 'graphql']::text[])
);

COMMENT ON TABLE auth.oauth2_auth_requests IS 'In-flight OAuth2 authorization requests.';

CREATE TABLE auth.oauth2_authorization_codes (
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  code_hash       text        NOT NULL,
  auth_request_id uuid        NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  CONSTRAINT oauth2_authorization_codes_pkey PRIMARY KEY (id),
  CONSTRAINT oauth2_authorization_codes_code_hash_key UNIQUE (code_hash),
  CONSTRAINT fk_oauth2_authorization_codes_auth_request FOREIGN KEY (auth_request_id)
    REFERENCES auth.oauth2_auth_requests (id) ON UPDATE CASCADE ON DELETE CASCADE
);

COMMENT ON TABLE auth.oauth2_authorization_codes IS 'OAuth2 authorization codes pending exchange for tokens.';

CREATE TABLE auth.oauth2_refresh_tokens (
  id              uuid        NOT NULL DEFAULT gen_random_uuid(),
  token_hash      text        NOT NULL,
  auth_request_id uuid,
  client_id       text        NOT NULL,
  user_id         uuid        NOT NULL,
  scopes          text[]      NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  CONSTRAINT oauth2_refresh_tokens_pkey PRIMARY KEY (id),
  CONSTRAINT oauth2_refresh_tokens_token_hash_key UNIQUE (token_hash),
  CONSTRAINT fk_oauth2_refresh_tokens_auth_request FOREIGN KEY (auth_request_id)
    REFERENCES auth.oauth2_auth_requests (id) ON UPDATE CASCADE ON DELETE SET NULL,
  CONSTRAINT fk_oauth2_refresh_tokens_client FOREIGN KEY (client_id)
    REFERENCES auth.oauth2_clients (client_id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT fk_oauth2_refresh_tokens_user FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT oauth2_refresh_tokens_scopes_check
    CHECK (scopes <@ ARRAY['openid', 'profile', 'email', 'phone', 'offline_access', 'graphql']::text[])
);

COMMENT ON TABLE auth.oauth2_refresh_tokens IS 'OAuth2 refresh tokens with client and scope binding.';

CREATE INDEX IF NOT EXISTS oauth2_auth_requests_client_id_idx ON auth.oauth2_auth_requests (client_id);
CREATE INDEX IF NOT EXISTS oauth2_auth_requests_expires_at_idx ON auth.oauth2_auth_requests (expires_at);
CREATE INDEX IF NOT EXISTS oauth2_auth_requests_user_id_idx ON auth.oauth2_auth_requests (user_id);
CREATE INDEX IF NOT EXISTS oauth2_authorization_codes_expires_at_idx ON auth.oauth2_authorization_codes (expires_at);
CREATE INDEX IF NOT EXISTS oauth2_refresh_tokens_user_id_idx ON auth.oauth2_refresh_tokens (user_id);
CREATE INDEX IF NOT EXISTS oauth2_refresh_tokens_client_id_idx ON auth.oauth2_refresh_tokens (client_id);
CREATE INDEX IF NOT EXISTS oauth2_refresh_tokens_expires_at_idx ON auth.oauth2_refresh_tokens (expires_at);
CREATE INDEX IF NOT EXISTS oauth2_clients_created_by_idx ON auth.oauth2_clients (created_by);
