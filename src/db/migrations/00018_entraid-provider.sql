-- Version 18: Microsoft Entra ID sign-in.
INSERT INTO auth.providers (id) VALUES ('entraid') ON CONFLICT DO NOTHING;
