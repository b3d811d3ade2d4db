-- The case engine (src/engines/case/case.h): cases, their timelines and
-- attachments.  Days are cal_day integers (days since 1970-01-01 of the
-- deployment's civil calendar); times are Unix seconds.
--
-- The computed clock (deadlines, light, escalation bits) is stored on the
-- row so that the department inbox is an index range per light and the
-- deadline sweep writes only the rows that change.

CREATE TABLE cases (
	id {{pk}},
	process TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	applicant_id BIGINT REFERENCES users (id),
	assignee_id BIGINT REFERENCES users (id),
	tracking TEXT NOT NULL UNIQUE,
	phone_tail TEXT,
	subject TEXT NOT NULL,
	item_code TEXT,
	data TEXT,
	state TEXT NOT NULL,
	state_final INTEGER NOT NULL DEFAULT 0,
	version BIGINT NOT NULL DEFAULT 1,
	statutory_days INTEGER NOT NULL DEFAULT 0,
	promised_days INTEGER NOT NULL DEFAULT 0,
	special_counts TEXT,
	-- 0 wait (not started), 1 run, 2 pause, 3 stop
	clock_state INTEGER NOT NULL DEFAULT 0 CHECK (clock_state BETWEEN 0 AND 3),
	clock_started INTEGER,
	run_since INTEGER,
	used_days INTEGER NOT NULL DEFAULT 0,
	paused_since INTEGER,
	paused_days INTEGER NOT NULL DEFAULT 0,
	deadline_statutory INTEGER,
	deadline_promised INTEGER,
	-- the nearer of the two deadlines; 2147483647 when there is none
	deadline INTEGER NOT NULL DEFAULT 2147483647,
	-- 0 green, 1 yellow, 2 red
	light INTEGER NOT NULL DEFAULT 0 CHECK (light BETWEEN 0 AND 2),
	-- one bit per escalation rule of the process that has fired
	esc_level BIGINT NOT NULL DEFAULT 0,
	-- the first day on which the light or an escalation may change (a running
	-- clock); 2147483647 when nothing is pending
	next_check INTEGER NOT NULL DEFAULT 2147483647,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	closed_at BIGINT
);
-- The department inbox: open cases, one range per light, nearest deadline first.
CREATE INDEX cases_inbox ON cases (dept_id, state_final, light, deadline, id);
CREATE INDEX cases_inbox_state ON cases (dept_id, state, light, deadline, id);
-- The daily sweep reads the running clocks that are due; the full one walks
-- every running clock by id.
CREATE INDEX cases_due ON cases (next_check, id) WHERE clock_state = 1;
CREATE INDEX cases_running ON cases (id) WHERE clock_state = 1;
CREATE INDEX cases_applicant ON cases (applicant_id, id);
CREATE INDEX cases_assignee ON cases (assignee_id, state_final, id);

CREATE TABLE case_events (
	id {{pk}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	kind TEXT NOT NULL CHECK (kind IN ('created', 'action', 'assign', 'comment', 'attach', 'escalate')),
	-- the transition's action or the escalation rule's name
	name TEXT,
	from_state TEXT,
	to_state TEXT,
	title TEXT NOT NULL,
	body TEXT,
	data TEXT,
	public INTEGER NOT NULL DEFAULT 0,
	actor_id BIGINT,
	actor TEXT NOT NULL,
	day INTEGER NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- References to files of the file store (the file's metadata lives there).
CREATE TABLE case_attachments (
	id {{pk}},
	case_id BIGINT NOT NULL REFERENCES cases (id),
	file_id BIGINT NOT NULL,
	label TEXT NOT NULL,
	public INTEGER NOT NULL DEFAULT 0,
	user_id BIGINT,
	event_id BIGINT,
	created_at BIGINT NOT NULL
);
CREATE INDEX case_attachments_case ON case_attachments (case_id, id);
