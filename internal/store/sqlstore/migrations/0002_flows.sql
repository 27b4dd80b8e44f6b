-- Entrance schema, version 2: sign-in flows, and identifier URIs as a lookup
-- table. Times are Unix milliseconds, except sign_ins.at (microseconds, to
-- order the log finely).
--
-- The flow tables have no foreign keys to tenants: on PostgreSQL an insert
-- would take a key-share lock on the tenant's row and so wait behind any
-- directory transaction that updates the tenant (a directory-file apply, say).
-- DeleteTenant deletes their rows itself; see directory.go.

-- An application's identifier URIs (App ID URIs), lower-cased; the primary key
-- makes each unique across applications. Kept in step with the application's
-- document by Create/UpdateApplication; filled from existing applications by a
-- step in Go after this file (migrate.go).
CREATE TABLE application_identifier_uris (
	uri            TEXT PRIMARY KEY,
	application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE
);
CREATE INDEX application_identifier_uris_application ON application_identifier_uris (application_id);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY, -- HashToken(cookie value)
	tenant_id  TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX sessions_tenant ON sessions (tenant_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE authorization_codes (
	id         TEXT PRIMARY KEY, -- HashToken(code)
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX authorization_codes_tenant ON authorization_codes (tenant_id);
CREATE INDEX authorization_codes_user ON authorization_codes (user_id);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
	id         TEXT PRIMARY KEY, -- HashToken(refresh token)
	tenant_id  TEXT NOT NULL,
	family_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	revoked    INTEGER NOT NULL, -- 0 or 1, as data's "revoked"
	expires_at BIGINT NOT NULL,
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_tenant ON refresh_tokens (tenant_id);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- The sign-in log. Kept when its tenant is deleted (it is an audit log);
-- DeleteExpired ages it out.
CREATE TABLE sign_ins (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	app_id     TEXT NOT NULL, -- lower(appId)
	at         BIGINT NOT NULL, -- createdDateTime, Unix microseconds
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
-- Lists are newest first (ORDER BY at DESC, id DESC): each index ends in the
-- sort key, so a filtered list reads its first rows from the index in order.
CREATE INDEX sign_ins_at ON sign_ins (at, id);
CREATE INDEX sign_ins_tenant ON sign_ins (tenant_id, at, id);
CREATE INDEX sign_ins_user ON sign_ins (user_id, at, id);
CREATE INDEX sign_ins_app ON sign_ins (app_id, at, id);

-- Throttling counters: hits in the window that started at window_start and
-- ends at expires_at.
CREATE TABLE counters (
	name         TEXT PRIMARY KEY,
	hits         BIGINT NOT NULL,
	window_start BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL
);
CREATE INDEX counters_expires ON counters (expires_at);

-- The replay cache (client-assertion jti values).
CREATE TABLE replay_cache (
	name       TEXT PRIMARY KEY,
	expires_at BIGINT NOT NULL
);
CREATE INDEX replay_cache_expires ON replay_cache (expires_at);
