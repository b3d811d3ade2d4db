-- The read journal (src/core/readlog.h): for each spool file, the byte
-- position up to which its lines are ingested, moved in the same
-- transaction as the lines, so none is ingested twice or lost.
CREATE TABLE readlog_progress (
	file TEXT PRIMARY KEY,
	pos BIGINT NOT NULL,
	-- Unix seconds of the last move
	updated_at BIGINT NOT NULL
);
