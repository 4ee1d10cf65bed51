-- Version 7: a user-chosen name for each authenticator.
ALTER TABLE auth.user_authenticators ADD COLUMN nickname text;
