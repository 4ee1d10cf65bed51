-- Version 17: a user may link several accounts of the same provider.
ALTER TABLE ONLY auth.user_providers
  DROP CONSTRAINT IF EXISTS user_providers_user_id_provider_id_key;
