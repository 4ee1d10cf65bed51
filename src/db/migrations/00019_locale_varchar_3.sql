-- Version 19: locales may have three letters (ISO 639-2/3 codes such as 'fil').
ALTER TABLE auth.users ALTER COLUMN locale TYPE varchar(3);
