-- The registry engine's own tables (src/engines/registry/registry.h).
-- The registries themselves are tables reg_<code>, created and altered by
-- SQL the engine writes (recorded in registry_migrations).

-- One row per registry: its current definition (source text and parsed JSON).
CREATE TABLE registries (
	id {{pk}},
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	owner_dept_id BIGINT NOT NULL REFERENCES departments (id),
	share TEXT NOT NULL CHECK (share IN ('unconditional', 'conditional', 'none')),
	open INTEGER NOT NULL DEFAULT 0,
	version BIGINT NOT NULL,
	def_text TEXT NOT NULL,
	def_json TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- Every DDL statement the engine ran for a registry, in order.
CREATE TABLE registry_migrations (
	id {{pk}},
	registry_id BIGINT NOT NULL REFERENCES registries (id),
	version BIGINT NOT NULL,
	sql TEXT NOT NULL,
	applied_at BIGINT NOT NULL,
	applied_by TEXT NOT NULL
);
CREATE INDEX registry_migrations_reg ON registry_migrations (registry_id, id);

-- Updates and deletes of records: old and new values of the changed fields
-- as JSON {"field":{"old":..,"new":..}}.  Inserts are recorded on the row.
CREATE TABLE reg_history (
	id {{pk}},
	registry_id BIGINT NOT NULL REFERENCES registries (id),
	rec_key TEXT NOT NULL,
	version BIGINT NOT NULL,
	op TEXT NOT NULL CHECK (op IN ('update', 'delete')),
	changes TEXT NOT NULL,
	at BIGINT NOT NULL,
	actor_id BIGINT NOT NULL DEFAULT 0,
	actor TEXT NOT NULL,
	source TEXT NOT NULL
);
CREATE INDEX reg_history_rec ON reg_history (registry_id, rec_key, id);

-- Reads of personal or conditional data, for the data subject's tracker.
-- subject_hash is account_ident_hash of the subject's 身份证号 / 统一社会信用代码.
CREATE TABLE reg_access (
	id {{pk}},
	at BIGINT NOT NULL,
	dept_id BIGINT NOT NULL,
	actor_id BIGINT NOT NULL DEFAULT 0,
	actor TEXT NOT NULL,
	registry TEXT NOT NULL,
	subject_hash TEXT,
	purpose TEXT NOT NULL,
	basis TEXT NOT NULL,
	fields TEXT NOT NULL,
	via TEXT NOT NULL
);
CREATE INDEX reg_access_subject ON reg_access (subject_hash, id);
CREATE INDEX reg_access_dept ON reg_access (dept_id, id);
