-- Appointments (预约) and the hall queue (取号、叫号): src/apps/hall/appoint.c,
-- docs/hall.md "Appointments and the hall queue".

-- A window (窗口) of a department's service hall, managed by its admins.
CREATE TABLE hall_windows (
	id {{pk}},
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	code TEXT NOT NULL,
	name TEXT NOT NULL,
	active INTEGER NOT NULL DEFAULT 1,
	updated_at BIGINT NOT NULL,
	UNIQUE (dept_id, code)
);

-- Which items a window serves (any department's: 综合窗口 of a service centre).
CREATE TABLE hall_window_items (
	window_id BIGINT NOT NULL REFERENCES hall_windows (id),
	item_code TEXT NOT NULL,
	PRIMARY KEY (window_id, item_code)
);
CREATE INDEX hall_window_items_item ON hall_window_items (item_code, window_id);

-- Slot templates: on weekday (1 = Monday ... 7 = Sunday) from start_min to
-- end_min (minutes after midnight) every step_min minutes, capacity people a slot.
CREATE TABLE hall_window_slots (
	id {{pk}},
	window_id BIGINT NOT NULL REFERENCES hall_windows (id),
	weekday INTEGER NOT NULL,
	start_min INTEGER NOT NULL,
	end_min INTEGER NOT NULL,
	step_min INTEGER NOT NULL,
	capacity INTEGER NOT NULL
);
CREATE INDEX hall_window_slots_window ON hall_window_slots (window_id, weekday, start_min);

-- Places taken per slot (day: days since 1970-01-01); booked never exceeds the
-- capacity at the time of booking: the conditional UPDATE is the lock.
CREATE TABLE hall_slot_usage (
	window_id BIGINT NOT NULL REFERENCES hall_windows (id),
	day INTEGER NOT NULL,
	start_min INTEGER NOT NULL,
	booked INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (window_id, day, start_min)
);

-- status: booked, cancelled, checked_in (took a queue number), missed.
CREATE TABLE hall_appointments (
	id {{pk}},
	code TEXT NOT NULL UNIQUE,
	user_id BIGINT NOT NULL REFERENCES users (id),
	item_code TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	window_id BIGINT NOT NULL REFERENCES hall_windows (id),
	day INTEGER NOT NULL,
	start_min INTEGER NOT NULL,
	end_min INTEGER NOT NULL,
	starts_at BIGINT NOT NULL,
	ends_at BIGINT NOT NULL,
	status TEXT NOT NULL,
	ticket_id BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- One active booking per person per item.
CREATE UNIQUE INDEX hall_appointments_active ON hall_appointments (user_id, item_code) WHERE status = 'booked';
CREATE INDEX hall_appointments_user ON hall_appointments (user_id, starts_at);

-- Queue numbers per department, day and prefix (A: walk-in, P: booked).
CREATE TABLE hall_queue_seq (
	dept_id BIGINT NOT NULL,
	day INTEGER NOT NULL,
	prefix TEXT NOT NULL,
	last_seq INTEGER NOT NULL,
	PRIMARY KEY (dept_id, day, prefix)
);

-- status: waiting, called, skipped (过号), done.
CREATE TABLE hall_queue_tickets (
	id {{pk}},
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	day INTEGER NOT NULL,
	number TEXT NOT NULL,
	priority INTEGER NOT NULL DEFAULT 0,
	seq INTEGER NOT NULL,
	item_code TEXT NOT NULL,
	appointment_id BIGINT,
	status TEXT NOT NULL,
	window_id BIGINT REFERENCES hall_windows (id),
	calls INTEGER NOT NULL DEFAULT 0,
	called_at BIGINT,
	finished_at BIGINT,
	created_at BIGINT NOT NULL,
	UNIQUE (dept_id, day, number)
);
CREATE INDEX hall_queue_waiting ON hall_queue_tickets (dept_id, day, status, priority, seq);
CREATE INDEX hall_queue_window ON hall_queue_tickets (window_id, day, status);
