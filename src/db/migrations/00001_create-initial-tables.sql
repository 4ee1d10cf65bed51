-- Version 1: the initial auth schema (tables, email domain, updated_at trigger, seeds).

-- The auth schema is usually created by the operator beforehand (the service user may
-- lack CREATE on the database), so only create it when it is really missing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
  END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;

CREATE FUNCTION auth.set_current_timestamp_updated_at()
  RETURNS trigger
  LANGUAGE plpgsql
AS $$
DECLARE
  _new record;
BEGIN
  _new := NEW;
  _new."updated_at" = now();
  RETURN _new;
END;
$$;

CREATE DOMAIN auth.email AS public.citext
  CONSTRAINT email_check CHECK (
    VALUE OPERATOR(public.~) '^[a-zA-Z0-9.!#$%&''*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$'::public.citext
  );

CREATE TABLE auth.user_providers (
  id               uuid        NOT NULL DEFAULT public.gen_random_uuid(),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  user_id          uuid        NOT NULL,
  access_token     text        NOT NULL,
  refresh_token    text,
  provider_id      text        NOT NULL,
  provider_user_id text        NOT NULL,
  CONSTRAINT user_providers_pkey PRIMARY KEY (id),
  CONSTRAINT user_providers_user_id_provider_id_key UNIQUE (user_id, provider_id),
  CONSTRAINT user_providers_provider_id_provider_user_id_key UNIQUE (provider_id, provider_user_id)
);

CREATE TABLE auth.user_roles (
  id         uuid        NOT NULL DEFAULT public.gen_random_uuid(),
  created_at timestamptz NOT NULL DEFAULT now(),
  user_id    uuid        NOT NULL,
  role       text        NOT NULL,
  CONSTRAINT user_roles_pkey PRIMARY KEY (id),
  CONSTRAINT user_roles_user_id_role_key UNIQUE (user_id, role)
);

CREATE TABLE auth.users (
  id                    uuid        NOT NULL DEFAULT public.gen_random_uuid(),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  last_seen             timestamptz,
  disabled              boolean     NOT NULL DEFAULT false,
  display_name          text        NOT NULL DEFAULT '',
  avatar_url            text        NOT NULL DEFAULT '',
  locale                varchar(2)  NOT NULL,
  email                 auth.email,
  phone_number          text,
  password_hash         text,
  email_verified        boolean     NOT NULL DEFAULT false,
  phone_number_verified boolean     NOT NULL DEFAULT false,
  new_email             auth.email,
  otp_method_last_used  text,
  otp_hash              text,
  otp_hash_expires_at   timestamptz NOT NULL DEFAULT now(),
  default_role          text        NOT NULL DEFAULT 'user',
  is_anonymous          boolean     NOT NULL DEFAULT false,
  totp_secret           text,
  active_mfa_type       text,
  ticket                text,
  ticket_expires_at     timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT users_pkey PRIMARY KEY (id),
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT users_phone_number_key UNIQUE (phone_number)
);

CREATE TABLE auth.providers (
  id text NOT NULL,
  CONSTRAINT providers_pkey PRIMARY KEY (id)
);

-- Until version 15 the token itself is the primary key.
CREATE TABLE auth.refresh_tokens (
  refresh_token uuid        NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  user_id       uuid        NOT NULL,
  CONSTRAINT refresh_tokens_pkey PRIMARY KEY (refresh_token)
);

CREATE TABLE auth.roles (
  role text NOT NULL,
  CONSTRAINT roles_pkey PRIMARY KEY (role)
);

CREATE TABLE auth.provider_requests (
  id           uuid NOT NULL,
  redirect_url text NOT NULL,
  CONSTRAINT provider_requests_pkey PRIMARY KEY (id)
);

ALTER TABLE auth.user_providers
  ADD CONSTRAINT fk_user FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  ADD CONSTRAINT fk_provider FOREIGN KEY (provider_id)
    REFERENCES auth.providers (id) ON UPDATE CASCADE ON DELETE RESTRICT;

ALTER TABLE auth.user_roles
  ADD CONSTRAINT fk_user FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  ADD CONSTRAINT fk_role FOREIGN KEY (role)
    REFERENCES auth.roles (role) ON UPDATE CASCADE ON DELETE RESTRICT;

ALTER TABLE auth.users
  ADD CONSTRAINT fk_default_role FOREIGN KEY (default_role)
    REFERENCES auth.roles (role) ON UPDATE CASCADE ON DELETE RESTRICT,
  ADD CONSTRAINT active_mfa_types_check
    CHECK (active_mfa_type = 'totp' OR active_mfa_type = 'sms');

ALTER TABLE auth.refresh_tokens
  ADD CONSTRAINT fk_user FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE;

CREATE TRIGGER set_auth_user_providers_updated_at
  BEFORE UPDATE ON auth.user_providers
  FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at();

CREATE TRIGGER set_auth_users_updated_at
  BEFORE UPDATE ON auth.users
  FOR EACH ROW EXECUTE FUNCTION auth.set_current_timestamp_updated_at();

INSERT INTO auth.roles (role) VALUES ('user'), ('anonymous'), ('me');

INSERT INTO auth.providers (id) VALUES
  ('github'), ('facebook'), ('twitter'), ('google'), ('apple'), ('linkedin'),
  ('windowslive'), ('spotify'), ('strava'), ('gitlab'), ('bitbucket');
