-- phone_changes: the number a user asked to move to (`POST /user/phone-number/change`)
-- while the SMS code sent to it is pending, on a schema below level 24, whose
-- auth.users has no new_phone_number column. From level 24 on the staged number is kept
-- in auth.users.new_phone_number, as Nhost Auth 0.52 keeps it, and this table is unused.
-- Never unique: staging a number (without its code) must not block its owner.
CREATE TABLE hasura_auth.phone_changes (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  new_phone_number text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- sms_deanonymize_options: the sign-up options an anonymous user gave
-- `POST /user/deanonymize/sms`, applied when the texted code is entered, on a schema
-- below level 25 (no auth.users.pending_sms_deanonymize_options). The number itself is
-- staged as for a phone change (new_phone_number from 24, phone_changes below).
CREATE TABLE hasura_auth.sms_deanonymize_options (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
  options jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
