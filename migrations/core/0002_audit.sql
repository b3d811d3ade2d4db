-- The audit trail (src/core/audit.c): hash-chained entries, the chain head
-- and signed checkpoints.  Portable SQL (SQLite and PostgreSQL).
--
-- seq is assigned by audit_append as head.seq + 1 while it holds the head
-- row, never by the database, so the chain has no gaps and never forks.
-- hash and prev_hash are lower-case hex SHA-256; the first entry's
-- prev_hash is the initial head hash, 64 zeros.  Times are Unix seconds.
-- Rows are never updated or deleted by the platform (kept >= 180 days).

CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	ts BIGINT NOT NULL,
	actor_id BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object TEXT,
	dept_id BIGINT NOT NULL,
	ip TEXT,
	detail TEXT,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_actor_id ON audit_log (actor_id);
CREATE INDEX audit_log_action ON audit_log (action);
CREATE INDEX audit_log_ts ON audit_log (ts);

-- The chain head: one row, locked by every appending transaction.
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
	VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- signature: hex Ed25519 signature (server sign.key) of
-- "yizhan-audit-checkpoint\n<seq>\n<hash>\n<ts>".
CREATE TABLE audit_checkpoints (
	seq BIGINT PRIMARY KEY,
	ts BIGINT NOT NULL,
	hash TEXT NOT NULL,
	signature TEXT NOT NULL
);
