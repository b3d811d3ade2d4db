-- Department API tokens (src/core/apitoken.h).  The clear token
-- "yzt_<id>_<secret>" is shown once at creation; only a keyed hash of the
-- secret (BLAKE2b keyed with the server's seal key, hex) is stored.
CREATE TABLE api_tokens (
	id {{pk}},
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	name TEXT NOT NULL,
	-- "*" or comma-separated registry codes
	scopes TEXT NOT NULL,
	hash TEXT NOT NULL,
	-- Unix seconds; NULL: never expires
	expires_at BIGINT,
	created_by BIGINT REFERENCES users (id),
	created_at BIGINT NOT NULL,
	last_used_at BIGINT,
	revoked_at BIGINT,
	revoked_by BIGINT REFERENCES users (id)
);
-- names are unique among a department's live tokens
CREATE UNIQUE INDEX api_tokens_dept_name ON api_tokens (dept_id, name) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_dept ON api_tokens (dept_id, id);
