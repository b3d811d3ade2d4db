-- SHA-256 of def_text: registry_get compares it with its cached handles
-- instead of fetching the whole definition text on every call.
ALTER TABLE registries ADD COLUMN def_hash TEXT NOT NULL DEFAULT '';
