-- One-time codes that upstream did not protect.
--
-- totp_used_steps: the last TOTP time step (unix time / 30) accepted for a user. A code
-- is accepted only for a later step, so a code seen once (shoulder-surfed, phished,
-- logged) cannot be used again within its ±1-step window (RFC 6238 §5.2).
CREATE TABLE hasura_auth.totp_used_steps (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  last_step bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- sms_otp_failures: wrong SMS codes entered since the last code was sent. After a few
-- the code is void, so the 10^6 codes cannot be tried one by one within their 5 minutes.
CREATE TABLE hasura_auth.sms_otp_failures (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  failures integer NOT NULL
);
