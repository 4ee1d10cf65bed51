-- Version 6: WebAuthn authenticators (renamed to security keys in version 9).
ALTER TABLE auth.users ADD COLUMN webauthn_current_challenge text;

CREATE TABLE auth.user_authenticators (
  id                    uuid         NOT NULL DEFAULT public.gen_random_uuid(),
  user_id               uuid         NOT NULL,
  credential_id         text         NOT NULL,
  credential_public_key bytea,
  counter               bigint       NOT NULL DEFAULT 0,
  transports            varchar(255) NOT NULL DEFAULT '',
  CONSTRAINT user_authenticators_pkey PRIMARY KEY (id),
  CONSTRAINT user_authenticators_credential_id_key UNIQUE (credential_id),
  CONSTRAINT fk_user FOREIGN KEY (user_id)
    REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE
);

COMMENT ON TABLE auth.user_authenticators IS 'User webauthn authenticators. Don''t modify its structure as Hasura Auth relies on it to function properly.';
