-- Version 24: a phone number waiting for its SMS code (phone change, SMS sign-up
-- staging). Not unique: several accounts may claim a number until one proves it.
ALTER TABLE auth.users ADD COLUMN new_phone_number text;
