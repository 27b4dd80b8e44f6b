-- Entrance schema, version 3: device codes (the device authorization grant).
-- Like the other flow tables, no foreign keys (see 0002_flows.sql):
-- DeleteTenant and DeleteUser delete their rows themselves.
CREATE TABLE device_codes (
	id         TEXT PRIMARY KEY, -- HashToken(device_code)
	user_code  TEXT NOT NULL UNIQUE, -- what the user types at the device page
	tenant_id  TEXT NOT NULL, -- '' until known (requests to common/organizations)
	user_id    TEXT NOT NULL, -- '' until the user approves
	expires_at BIGINT NOT NULL,
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX device_codes_tenant ON device_codes (tenant_id);
CREATE INDEX device_codes_user ON device_codes (user_id);
CREATE INDEX device_codes_expires ON device_codes (expires_at);
