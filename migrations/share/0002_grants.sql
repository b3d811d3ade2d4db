-- Grant requests (cases of process share.grant) and grants of conditional
-- resources to other departments (src/apps/share/grants.c, util.c).
-- Dates are "YYYY-MM-DD" text (compared as text); times are Unix seconds.

-- One row per request: what the case is about, queryable without parsing
-- the case's JSON.  The case (cases.id) holds state, clock and timeline.
CREATE TABLE share_requests (
	id {{pk}},
	case_id BIGINT NOT NULL UNIQUE REFERENCES cases (id),
	registry_id BIGINT NOT NULL REFERENCES registries (id),
	owner_dept_id BIGINT NOT NULL REFERENCES departments (id),
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	-- the requesting user (NULL: seeded by the demo)
	user_id BIGINT REFERENCES users (id),
	fields TEXT NOT NULL,
	purpose TEXT NOT NULL,
	basis TEXT,
	days INTEGER NOT NULL CHECK (days BETWEEN 1 AND 365),
	grant_id BIGINT,
	created_at BIGINT NOT NULL
);
CREATE INDEX share_requests_dept ON share_requests (dept_id, id);
CREATE INDEX share_requests_owner ON share_requests (owner_dept_id, id);

-- Approved grants.  A grant reads while revoked_at IS NULL and today < expires.
CREATE TABLE share_grants (
	id {{pk}},
	registry_id BIGINT NOT NULL REFERENCES registries (id),
	owner_dept_id BIGINT NOT NULL REFERENCES departments (id),
	grantee_dept_id BIGINT NOT NULL REFERENCES departments (id),
	fields TEXT NOT NULL,
	purpose TEXT NOT NULL,
	starts TEXT NOT NULL,
	expires TEXT NOT NULL,
	case_id BIGINT REFERENCES cases (id),
	approved_by BIGINT REFERENCES users (id),
	approved_at BIGINT NOT NULL,
	revoked_at BIGINT,
	revoked_by BIGINT REFERENCES users (id),
	revoke_kind TEXT CHECK (revoke_kind IN ('revoke', 'give_up')),
	revoke_reason TEXT
);
-- share_right_for: one range per (grantee, registry), newest first.
CREATE INDEX share_grants_grantee ON share_grants (grantee_dept_id, registry_id, id);
CREATE INDEX share_grants_owner ON share_grants (owner_dept_id, id);
