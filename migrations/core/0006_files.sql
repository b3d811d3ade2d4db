-- Stored files (materials, attachments, generated documents): the bytes are
-- in DATA/files/ab/cd/<sha256>, content-addressed; each row is one time a
-- file was stored, so several rows may name the same content (no UNIQUE on
-- sha256).  mime is the sniffed type; name the client's file name, sanitised.
CREATE TABLE files (
	id {{pk}},
	sha256 TEXT NOT NULL,
	mime TEXT NOT NULL,
	size BIGINT NOT NULL,
	name TEXT NOT NULL,
	owner_id BIGINT REFERENCES users (id),
	created_at BIGINT NOT NULL
);
CREATE INDEX files_sha256 ON files (sha256);
CREATE INDEX files_owner ON files (owner_id);
