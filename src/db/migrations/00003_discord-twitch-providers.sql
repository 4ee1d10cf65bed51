-- Version 3: Discord and Twitch sign-in.
INSERT INTO auth.providers (id) VALUES ('discord'), ('twitch')
ON CONFLICT DO NOTHING;
