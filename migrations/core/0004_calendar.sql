-- The working-day calendar (core/calendar.c): the exceptions to the weekend
-- rule.  day is a cal_day (days since 1970-01-01 of the civil calendar);
-- 'holiday' marks a statutory holiday (法定节假日), 'workday' an adjusted
-- working day (调休上班).  A day without a row works Monday to Friday.
CREATE TABLE calendar_days (
	day BIGINT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
	note TEXT,
	updated_at BIGINT NOT NULL
);
