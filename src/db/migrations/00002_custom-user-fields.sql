-- Version 2: free-form custom data on users.
ALTER TABLE auth.users ADD COLUMN metadata jsonb;
