-- Version 25: the sign-up options of an SMS deanonymisation, applied once the code is
-- confirmed (keys roles, default_role, display_name, locale, metadata).
ALTER TABLE auth.users ADD COLUMN pending_sms_deanonymize_options jsonb;
