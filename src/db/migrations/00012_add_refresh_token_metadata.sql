-- Version 12: free-form data attached to a refresh token.
ALTER TABLE auth.refresh_tokens ADD COLUMN metadata jsonb;
