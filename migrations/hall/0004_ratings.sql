-- 好差评: the applicant's rating of a decided case (src/apps/hall/rating.c),
-- one per case.  A bad rating (1–2) opens a rectification case (process
-- hall.rectify) whose id is kept here; when that case ends in appeal_upheld
-- (申诉成立) the rating no longer counts in the statistics: that is read
-- from the rectification case's state, so nothing has to be kept in step.
CREATE TABLE hall_ratings (
	id {{pk}},
	case_id BIGINT NOT NULL UNIQUE REFERENCES cases (id),
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	user_id BIGINT NOT NULL REFERENCES users (id),
	item_code TEXT,
	score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
	comment TEXT NOT NULL DEFAULT '',
	rectify_case_id BIGINT REFERENCES cases (id),
	created_at BIGINT NOT NULL
);
-- The public statistics aggregate a department's ratings by score.
CREATE INDEX hall_ratings_dept ON hall_ratings (dept_id, score);
-- The ranking counts decided cases per department.
CREATE INDEX cases_dept_final ON cases (dept_id, state_final, process);
