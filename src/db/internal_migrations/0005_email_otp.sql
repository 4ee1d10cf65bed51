-- Pending email one-time codes (`POST /signin/otp/email`). Upstream kept the code in
-- clear in auth.users.ticket and accepted any current ticket; here a code is bcrypt-hashed,
-- bound to its user, expires, and allows a limited number of attempts.
CREATE TABLE hasura_auth.email_otps (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON UPDATE CASCADE ON DELETE CASCADE,
  code_hash text NOT NULL,
  expires_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hasura_auth.email_otps IS 'Pending email sign-in codes (bcrypt hashes), one per user. Internal to hasura-auth.';
