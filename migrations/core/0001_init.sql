-- Core tables: departments, accounts, roles, sessions, login throttling,
-- idempotency records and background jobs.  Portable SQL (SQLite and
-- PostgreSQL); {{pk}} becomes each driver's auto-increment primary key.
-- Times are Unix seconds (BIGINT); flags are INTEGER 0/1.

CREATE TABLE departments (
	id {{pk}},
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	parent_id BIGINT REFERENCES departments (id),
	level TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'town', 'village')),
	sort BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX departments_parent ON departments (parent_id);

CREATE TABLE users (
	id {{pk}},
	login TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL CHECK (kind IN ('citizen', 'enterprise', 'staff')),
	name TEXT NOT NULL,
	-- 身份证号 (citizens) or 统一社会信用代码 (enterprises): a keyed hash for
	-- uniqueness and look-up, the sealed value, and the masked form for display.
	ident_hash TEXT UNIQUE,
	ident_sealed TEXT,
	ident_masked TEXT,
	contact_name TEXT,
	phone TEXT,
	email TEXT,
	password TEXT NOT NULL,
	totp_sealed TEXT,
	totp_enabled INTEGER NOT NULL DEFAULT 0,
	totp_last_step BIGINT NOT NULL DEFAULT 0,
	must_change_pw INTEGER NOT NULL DEFAULT 0,
	disabled INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX users_kind ON users (kind);

CREATE TABLE user_roles (
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	role TEXT NOT NULL CHECK (role IN ('staff', 'dept_admin', 'platform_admin')),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, dept_id, role)
);
CREATE INDEX user_roles_dept ON user_roles (dept_id);

-- The cookie holds a random id; only its SHA-256 is stored.
CREATE TABLE sessions (
	id_hash TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf TEXT NOT NULL,
	half INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	seen_at BIGINT NOT NULL,
	ip TEXT,
	agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins per key ("acct:<login>" or "ip:<address>").
CREATE TABLE login_throttle (
	key TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	failures BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0
);

-- The first answer to a submission, returned again to a retry with the same key.
CREATE TABLE idempotency (
	user_id BIGINT NOT NULL,
	key TEXT NOT NULL,
	route TEXT NOT NULL,
	status INTEGER NOT NULL,
	location TEXT,
	ctype TEXT,
	body TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id, key)
);

CREATE TABLE jobs (
	id {{pk}},
	kind TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
	params TEXT NOT NULL,
	result TEXT,
	message TEXT,
	done BIGINT NOT NULL DEFAULT 0,
	total BIGINT NOT NULL DEFAULT 0,
	user_id BIGINT REFERENCES users (id),
	dept_id BIGINT REFERENCES departments (id),
	created_at BIGINT NOT NULL,
	started_at BIGINT,
	finished_at BIGINT,
	worker TEXT
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_user ON jobs (user_id, id);
