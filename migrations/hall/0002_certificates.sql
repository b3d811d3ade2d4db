-- Electronic certificates (电子证照) issued when a case is approved
-- (src/apps/hall/cert.c).  The certificate's printed fields are kept as
-- JSON text ([[label, value], ...]) so the PDF can be drawn again exactly.
CREATE TABLE hall_certificates (
	id {{pk}},
	number TEXT NOT NULL UNIQUE,
	case_id BIGINT NOT NULL UNIQUE REFERENCES cases (id),
	item_code TEXT NOT NULL,
	dept_id BIGINT NOT NULL REFERENCES departments (id),
	holder TEXT NOT NULL,
	title TEXT NOT NULL,
	issuer TEXT NOT NULL,
	issued_on TEXT NOT NULL,
	verify_token TEXT NOT NULL,
	verify_url TEXT NOT NULL,
	fields TEXT NOT NULL,
	-- the PDF in the file store; NULL until drawn (demo certificates are drawn on first download)
	file_id BIGINT,
	revoked INTEGER NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);

-- The last sequence number given per prefix ("<DEPT CODE>YYYYMMDD").
CREATE TABLE hall_cert_seq (
	prefix TEXT PRIMARY KEY,
	last BIGINT NOT NULL
);

-- Electronic supervision (电子监察) reads the open cases of every department
-- by light, and the escalation events of the last days.
CREATE INDEX cases_supervision ON cases (state_final, light, deadline, id);
CREATE INDEX case_events_kind ON case_events (kind, created_at);
