-- Entrance schema, version 5: one index on refresh_tokens (tenant_id,
-- user_id) in place of one on each. Deleting a tenant (tenant_id) and
-- deleting a user (tenant_id, user_id) both use it, and every refresh-token
-- redemption, which inserts a row, updates one b-tree fewer.
DROP INDEX refresh_tokens_tenant;
DROP INDEX refresh_tokens_user;
CREATE INDEX refresh_tokens_tenant_user ON refresh_tokens (tenant_id, user_id);
