-- The service-item catalogue (事项目录) of the online service hall.
-- Lists (materials, form fields, special steps) are JSON text: they are read
-- and written whole with their item, never queried inside.
CREATE TABLE hall_items (
	id {{pk}},
	code TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	kind TEXT NOT NULL,
	audience TEXT NOT NULL CHECK (audience IN ('person', 'enterprise', 'both')),
	statutory_days INTEGER NOT NULL CHECK (statutory_days > 0),
	promised_days INTEGER NOT NULL CHECK (promised_days > 0),
	special_steps TEXT NOT NULL DEFAULT '[]',
	materials TEXT NOT NULL DEFAULT '[]',
	form TEXT NOT NULL DEFAULT '[]',
	fees TEXT NOT NULL DEFAULT '',
	visits INTEGER NOT NULL DEFAULT 0 CHECK (visits >= 0 AND visits <= 5),
	depth INTEGER NOT NULL CHECK (depth >= 1 AND depth <= 5),
	process TEXT NOT NULL,
	themes TEXT NOT NULL DEFAULT '',
	life_events TEXT NOT NULL DEFAULT '',
	conditions TEXT NOT NULL DEFAULT '',
	legal_basis TEXT NOT NULL DEFAULT '',
	result_name TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'retired')),
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX hall_items_dept ON hall_items (dept_id, status);
CREATE INDEX hall_items_status ON hall_items (status, id);
