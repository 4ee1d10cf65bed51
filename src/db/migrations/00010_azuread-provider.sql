-- Version 10: Azure AD sign-in.
INSERT INTO auth.providers (id) VALUES ('azuread') ON CONFLICT DO NOTHING;
