-- Version 4: provider requests keep generic options instead of a redirect URL.
ALTER TABLE auth.provider_requests DROP COLUMN redirect_url;
ALTER TABLE auth.provider_requests ADD COLUMN options jsonb;
