-- Version 23: wrong one-time-code guesses since the code was issued (5 burn it).
ALTER TABLE auth.users ADD COLUMN otp_attempts smallint NOT NULL DEFAULT 0;
