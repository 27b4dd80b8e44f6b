-- Entrance schema, version 4: the audit log of administrative changes.
-- at is the entry's time in Unix microseconds (entries of one command
-- within a millisecond still come out in order). No foreign keys: the log
-- outlives what it describes.
CREATE TABLE audit_log (
	id         TEXT PRIMARY KEY,
	at         BIGINT NOT NULL,
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
