-- Cross-registry comparisons (数据比对) and their discrepancies
-- (src/apps/share/compare.c on src/engines/registry/compare.h).  Each
-- discrepancy becomes a data-quality task: a case of process share.dq in
-- the authoritative department (一数一源) of the fields concerned.
-- Times are Unix seconds.

-- One row per comparison: its specification, state and counts.
CREATE TABLE compare_runs (
	id {{pk}},
	registry_a TEXT NOT NULL,
	key_a TEXT NOT NULL,
	registry_b TEXT NOT NULL,
	key_b TEXT NOT NULL,
	-- the field mapping as given, normalised to "fa=fb,fc=fd"
	map TEXT NOT NULL DEFAULT '',
	only_a INTEGER NOT NULL DEFAULT 1,
	only_b INTEGER NOT NULL DEFAULT 0,
	-- create a data-quality task per discrepancy
	tasks INTEGER NOT NULL DEFAULT 1,
	-- working days a task has (its limit)
	deadline_days INTEGER NOT NULL CHECK (deadline_days BETWEEN 1 AND 60),
	state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'tasks', 'done', 'failed')),
	job_id BIGINT,
	user_id BIGINT REFERENCES users (id),
	actor TEXT NOT NULL,
	rows_a BIGINT NOT NULL DEFAULT 0,
	rows_b BIGINT NOT NULL DEFAULT 0,
	n_only_a BIGINT NOT NULL DEFAULT 0,
	n_only_b BIGINT NOT NULL DEFAULT 0,
	n_mismatch BIGINT NOT NULL DEFAULT 0,
	n_tasks BIGINT NOT NULL DEFAULT 0,
	elapsed_ms BIGINT NOT NULL DEFAULT 0,
	message TEXT,
	created_at BIGINT NOT NULL,
	started_at BIGINT,
	finished_at BIGINT
);
CREATE INDEX compare_runs_created ON compare_runs (id);

-- One row per discrepancy.  key and the values are stored in clear (the
-- report is for the registries' owners, who must find the record); pages
-- mask personal ones for everyone else.
CREATE TABLE compare_items (
	id {{pk}},
	run_id BIGINT NOT NULL REFERENCES compare_runs (id),
	kind TEXT NOT NULL CHECK (kind IN ('only_a', 'only_b', 'mismatch')),
	key TEXT NOT NULL,
	id_a BIGINT,
	id_b BIGINT,
	field_a TEXT,
	field_b TEXT,
	value_a TEXT,
	value_b TEXT,
	-- the department the task goes to (the authoritative source)
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	case_id BIGINT REFERENCES cases (id),
	created_at BIGINT NOT NULL
);
CREATE INDEX compare_items_run ON compare_items (run_id, id);
CREATE INDEX compare_items_run_kind ON compare_items (run_id, kind, id);
CREATE INDEX compare_items_dept ON compare_items (dept_id, id);
CREATE INDEX compare_items_case ON compare_items (case_id);
