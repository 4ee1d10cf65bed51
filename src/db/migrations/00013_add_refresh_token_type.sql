-- Version 13: refresh token kinds, first as an enum (replaced by a table in version 14).
CREATE TYPE auth.refresh_token_type AS ENUM ('regular', 'pat');
ALTER TABLE auth.refresh_tokens
  ADD COLUMN type auth.refresh_token_type NOT NULL DEFAULT 'regular';
