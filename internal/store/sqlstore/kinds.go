package sqlstore

import (
	"strings"

	"github.com/entranceidp/entrance/internal/store"
)

// The tables of each kind (migrations/0001_init.sql). Natural keys are
// lower-cased here rather than in SQL, where SQLite's lower() knows only ASCII.

var lower = strings.ToLower

var tenants = newKind("tenants", "tenant", "id", 1,
	[]string{"id"},
	func(t store.Tenant) []any { return []any{t.ID} })

var users = newKind("users", "user", "upn", 2,
	[]string{"id", "tenant_id", "upn", "home_user_id"},
	func(u store.User) []any {
		return []any{u.ID, u.TenantID, lower(u.UserPrincipalName), u.HomeUserID}
	})

var groups = newKind("groups", "group", "name", 2,
	[]string{"id", "tenant_id", "name"},
	func(g store.Group) []any { return []any{g.ID, g.TenantID, groupName(g.TenantID, g.DisplayName)} })

func groupName(tenantID, displayName string) string { return tenantID + "/" + lower(displayName) }

var directoryRoleAssignments = newKind("directory_role_assignments", "directory role assignment", "id", 2,
	[]string{"id", "tenant_id", "lookup", "principal_id"},
	func(a store.DirectoryRoleAssignment) []any {
		return []any{a.ID, a.TenantID, a.TenantID + "/" + a.PrincipalID + "/" + a.RoleDefinitionID, a.PrincipalID}
	})

var applications = newKind("applications", "application", "app_id", 3,
	[]string{"id", "tenant_id", "app_id"},
	func(a store.Application) []any { return []any{a.ID, a.TenantID, lower(a.AppID)} })

var servicePrincipals = newKind("service_principals", "service principal", "app_id", 3,
	[]string{"id", "tenant_id", "app_id", "lookup"},
	func(sp store.ServicePrincipal) []any {
		return []any{sp.ID, sp.TenantID, lower(sp.AppID), sp.TenantID + "/" + lower(sp.AppID)}
	})

var appRoleAssignments = newKind("app_role_assignments", "app role assignment", "id", 2,
	[]string{"id", "tenant_id", "lookup", "principal_id", "resource_id"},
	func(a store.AppRoleAssignment) []any {
		return []any{a.ID, a.TenantID, a.TenantID + "/" + a.PrincipalID + "/" + a.ResourceID + "/" + a.AppRoleID,
			a.PrincipalID, a.ResourceID}
	})

var grants = newKind("oauth2_permission_grants", "oauth2 permission grant", "id", 2,
	[]string{"id", "tenant_id", "lookup", "client_id", "resource_id", "principal_id"},
	func(g store.OAuth2PermissionGrant) []any {
		return []any{g.ID, g.TenantID, g.TenantID + "/" + g.ClientID + "/" + g.ResourceID + "/" + g.ConsentType + "/" + g.PrincipalID,
			g.ClientID, g.ResourceID, g.PrincipalID}
	})

// Key sets have no id of their own: it is tenantId/lower(appId), so that a
// change of tenant or app by Upsert's fn shows as a change of id.
var keySets = newKind("key_sets", "key set", "id", 2,
	[]string{"id", "tenant_id", "app_id"},
	func(k store.KeySet) []any { return []any{keySetID(k.TenantID, k.AppID), k.TenantID, lower(k.AppID)} })

func keySetID(tenantID, appID string) string { return tenantID + "/" + lower(appID) }
