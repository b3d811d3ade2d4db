-- Consent-bound verification (授权核查) and its records
-- (src/apps/share/verify.c, src/apps/share/consent.c).

-- Verification templates: named questions a department may ask about a
-- data subject, answered as counts or yes/no, never as records.
-- questions is JSON text: [{"label","registry","match","agg":"count"|"exists"|"sum",
--   "field"?, "op"?: ">="|">"|"<="|"=", "threshold"?: canonical value}].
CREATE TABLE verify_templates (
	id {{pk}},
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	description TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	subject_kind TEXT NOT NULL CHECK (subject_kind IN ('idcard', 'uscc')),
	questions TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

-- A data subject's consent: the account (user_id) authorises dept_id to run
-- template_id about the account's own identifier for purpose, through
-- valid_until (inclusive, YYYY-MM-DD), unless revoked.  The subject is kept
-- only as the account's ident_hash (users.ident_hash), never in clear.
CREATE TABLE consents (
	id {{pk}},
	user_id BIGINT NOT NULL REFERENCES users (id),
	subject_hash TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	template_id BIGINT NOT NULL REFERENCES verify_templates (id),
	purpose TEXT NOT NULL,
	valid_until TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX consents_user ON consents (user_id, id);
CREATE INDEX consents_subject ON consents (subject_hash, dept_id, template_id, id);

-- Every verification that was run: who, for which department, which
-- template, about whom (hash only), under which consent, and the answers
-- (JSON [{"label","kind","answer"}]).
CREATE TABLE verification_runs (
	id {{pk}},
	actor_id BIGINT NOT NULL DEFAULT 0,
	actor TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	template_id BIGINT NOT NULL REFERENCES verify_templates (id),
	subject_hash TEXT NOT NULL,
	subject_masked TEXT NOT NULL,
	consent_id BIGINT NOT NULL REFERENCES consents (id),
	answers TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX verification_runs_dept ON verification_runs (dept_id, id);
CREATE INDEX verification_runs_consent ON verification_runs (consent_id, id);
