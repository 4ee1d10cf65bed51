-- Version 8: WorkOS sign-in.
INSERT INTO auth.providers (id) VALUES ('workos') ON CONFLICT DO NOTHING;
