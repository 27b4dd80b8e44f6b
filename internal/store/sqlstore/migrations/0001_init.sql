-- Entrance schema, version 1. Shared by SQLite and PostgreSQL: {{BLOB}} becomes
-- BLOB or BYTEA. Objects are JSON documents (data); the columns beside them are
-- the keys we look rows up by and the references we clean up by. Natural keys
-- (UPN, domain, group name, appId) are lower-cased in Go so that both databases
-- compare them alike. Times are Unix milliseconds.

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- A tenant's verified domains; the primary key makes each unique across tenants.
CREATE TABLE tenant_domains (
	domain    TEXT PRIMARY KEY,
	tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE users (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	upn          TEXT NOT NULL UNIQUE, -- lower(userPrincipalName), unique across tenants
	home_user_id TEXT NOT NULL,        -- guests: the home user, for ListGuestsOf
	data         TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX users_tenant ON users (tenant_id);
CREATE INDEX users_home_user ON users (home_user_id);

CREATE TABLE groups (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name       TEXT NOT NULL UNIQUE, -- tenantId/lower(displayName)
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX groups_tenant ON groups (tenant_id);

CREATE TABLE directory_role_assignments (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	lookup       TEXT NOT NULL UNIQUE, -- tenantId/principalId/roleDefinitionId
	principal_id TEXT NOT NULL,
	data         TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX directory_role_assignments_tenant ON directory_role_assignments (tenant_id);
CREATE INDEX directory_role_assignments_principal ON directory_role_assignments (principal_id);

CREATE TABLE applications (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	app_id     TEXT NOT NULL UNIQUE, -- lower(appId), unique across tenants
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX applications_tenant ON applications (tenant_id);

-- No foreign key to applications: a tenant may hold the service principal of
-- an application registered elsewhere (Microsoft Graph, say).
CREATE TABLE service_principals (
	id         TEXT PRIMARY KEY,
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	app_id     TEXT NOT NULL,        -- lower(appId)
	lookup     TEXT NOT NULL UNIQUE, -- tenantId/lower(appId)
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX service_principals_tenant ON service_principals (tenant_id);
CREATE INDEX service_principals_app ON service_principals (app_id);

CREATE TABLE app_role_assignments (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	lookup       TEXT NOT NULL UNIQUE, -- tenantId/principalId/resourceId/appRoleId
	principal_id TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	data         TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX app_role_assignments_tenant ON app_role_assignments (tenant_id);
CREATE INDEX app_role_assignments_principal ON app_role_assignments (principal_id);
CREATE INDEX app_role_assignments_resource ON app_role_assignments (resource_id);

CREATE TABLE oauth2_permission_grants (
	id           TEXT PRIMARY KEY,
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	lookup       TEXT NOT NULL UNIQUE, -- tenantId/clientId/resourceId/consentType/principalId
	client_id    TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	principal_id TEXT NOT NULL,
	data         TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);
CREATE INDEX oauth2_permission_grants_tenant ON oauth2_permission_grants (tenant_id);
CREATE INDEX oauth2_permission_grants_client ON oauth2_permission_grants (client_id);
CREATE INDEX oauth2_permission_grants_resource ON oauth2_permission_grants (resource_id);
CREATE INDEX oauth2_permission_grants_principal ON oauth2_permission_grants (principal_id);

CREATE TABLE key_sets (
	id         TEXT PRIMARY KEY, -- tenantId/lower(appId)
	tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	app_id     TEXT NOT NULL,    -- lower(appId), "" for the tenant's own set
	data       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX key_sets_tenant ON key_sets (tenant_id);
CREATE INDEX key_sets_app ON key_sets (app_id);

CREATE TABLE server_secrets (
	name       TEXT PRIMARY KEY,
	value      {{BLOB}} NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

-- One row, bumped by every write transaction (see ChangeVersion).
CREATE TABLE change_version (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT NOT NULL
);
INSERT INTO change_version (id, version) VALUES (1, 0);
