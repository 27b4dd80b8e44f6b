package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

var _ store.Directory = (*dir)(nil)

// Tenants.

func (d *dir) CreateTenant(ctx context.Context, t store.Tenant) error {
	return d.write(ctx, func(w *dir) error {
		if err := insert(ctx, w, tenants, t); err != nil {
			return err
		}
		return w.setDomains(ctx, t)
	})
}

func (d *dir) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	return get(ctx, d, tenants, "id = ?", id)
}

func (d *dir) GetTenantByDomain(ctx context.Context, domain string) (store.Tenant, error) {
	return get(ctx, d, tenants, "id = (SELECT tenant_id FROM tenant_domains WHERE domain = ?)", lower(domain))
}

func (d *dir) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	return list(ctx, d, tenants, "")
}

func (d *dir) UpdateTenant(ctx context.Context, id string, fn func(store.Tenant) (store.Tenant, error)) (store.Tenant, error) {
	return writeV(ctx, d, func(w *dir) (store.Tenant, error) {
		t, err := update(ctx, w, tenants, fn, "id = ?", id)
		if err != nil {
			return t, err
		}
		return t, w.setDomains(ctx, t)
	})
}

// setDomains makes tenant_domains hold exactly t's domains; its primary key
// keeps a domain unique across tenants.
func (d *dir) setDomains(ctx context.Context, t store.Tenant) error {
	if _, err := deleteAll(ctx, d, "tenant_domains", "tenant_id = ?", t.ID); err != nil {
		return fmt.Errorf("tenant %s: domains: %w", t.ID, err)
	}
	for _, dom := range t.Domains {
		if _, err := d.exec(ctx, "INSERT INTO tenant_domains (domain, tenant_id) VALUES (?, ?)", lower(dom), t.ID); err != nil {
			return fmt.Errorf("tenant %s: domain %q: %w", t.ID, dom, err)
		}
	}
	return nil
}

// DeleteTenant deletes the tenant; the foreign keys delete what is in it. Its
// applications go first so that their service principals in other tenants go
// with them. The flow tables have no foreign keys (see 0002_flows.sql), so
// the tenant's sessions, codes, device codes and refresh tokens are deleted
// here; its sign-in log entries are kept: the log is an audit trail, aged
// out by DeleteExpired's retention.
func (d *dir) DeleteTenant(ctx context.Context, id string) error {
	return d.write(ctx, func(w *dir) error {
		apps, err := list(ctx, w, applications, "tenant_id = ?", id)
		if err != nil {
			return err
		}
		for _, a := range apps {
			if err := w.deleteApplication(ctx, a.AppID); err != nil {
				return err
			}
		}
		if err := del(ctx, w, "tenants", "tenant", "id = ?", id); err != nil {
			return err
		}
		for _, table := range []string{"sessions", "authorization_codes", "device_codes", "refresh_tokens"} {
			if _, err := deleteAll(ctx, w, table, "tenant_id = ?", id); err != nil {
				return fmt.Errorf("delete %s of tenant %s: %w", table, id, err)
			}
		}
		return nil
	})
}

// Users.

func (d *dir) CreateUser(ctx context.Context, u store.User) error {
	return d.write(ctx, func(w *dir) error { return insert(ctx, w, users, u) })
}

func (d *dir) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	return get(ctx, d, users, "tenant_id = ? AND id = ?", tenantID, id)
}

func (d *dir) GetUserByUPN(ctx context.Context, tenantID, upn string) (store.User, error) {
	return get(ctx, d, users, "tenant_id = ? AND upn = ?", tenantID, lower(upn))
}

func (d *dir) ListUsers(ctx context.Context, tenantID string) ([]store.User, error) {
	return list(ctx, d, users, "tenant_id = ?", tenantID)
}

func (d *dir) ListGuestsOf(ctx context.Context, homeUserID string) ([]store.User, error) {
	if homeUserID == "" { // members have home_user_id ""
		return []store.User{}, nil
	}
	return list(ctx, d, users, "home_user_id = ?", homeUserID)
}

func (d *dir) UpdateUser(ctx context.Context, tenantID, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	return writeV(ctx, d, func(w *dir) (store.User, error) {
		return update(ctx, w, users, fn, "tenant_id = ? AND id = ?", tenantID, id)
	})
}

// DeleteUser deletes the user, what refers to it, and its authorization
// codes, approved device codes and refresh tokens, so that nothing issued to
// it can be redeemed.
// SSO sessions stay: one may hold other accounts too, and the session code
// ignores accounts whose user no longer exists.
func (d *dir) DeleteUser(ctx context.Context, tenantID, id string) error {
	return d.write(ctx, func(w *dir) error {
		if err := del(ctx, w, "users", "user", "tenant_id = ? AND id = ?", tenantID, id); err != nil {
			return err
		}
		for _, table := range []string{"authorization_codes", "device_codes", "refresh_tokens"} {
			if _, err := deleteAll(ctx, w, table, "tenant_id = ? AND user_id = ?", tenantID, id); err != nil {
				return fmt.Errorf("delete %s of user %s: %w", table, id, err)
			}
		}
		return w.forget(ctx, tenantID, id)
	})
}

// forget deletes what refers to the deleted object id (a user, group or
// service principal) in its tenant: assignments and grants it is party to,
// and its group memberships. Object IDs are unique, so matching any
// reference column is safe.
func (d *dir) forget(ctx context.Context, tenantID, id string) error {
	for _, q := range []struct {
		table, where string
		args         []any
	}{
		{"app_role_assignments", "principal_id = ? OR resource_id = ?", []any{id, id}},
		{"oauth2_permission_grants", "client_id = ? OR resource_id = ? OR principal_id = ?", []any{id, id, id}},
		{"directory_role_assignments", "principal_id = ?", []any{id}},
	} {
		if _, err := deleteAll(ctx, d, q.table, "tenant_id = ? AND ("+q.where+")", append([]any{tenantID}, q.args...)...); err != nil {
			return fmt.Errorf("delete references to %s: %w", id, err)
		}
	}
	// Memberships live in the groups' documents. Deleting is rare, so reading
	// the tenant's groups is fine.
	gs, err := list(ctx, d, groups, "tenant_id = ?", tenantID)
	if err != nil {
		return err
	}
	for _, g := range gs {
		members := slices.DeleteFunc(slices.Clone(g.Members), func(m store.DirectoryObjectRef) bool { return m.ID == id })
		if len(members) == len(g.Members) {
			continue
		}
		g.Members = members
		if _, err := replace(ctx, d, groups, g); err != nil {
			return err
		}
	}
	return nil
}

// Groups.

func (d *dir) CreateGroup(ctx context.Context, g store.Group) error {
	return d.write(ctx, func(w *dir) error { return insert(ctx, w, groups, g) })
}

func (d *dir) GetGroup(ctx context.Context, tenantID, id string) (store.Group, error) {
	return get(ctx, d, groups, "tenant_id = ? AND id = ?", tenantID, id)
}

func (d *dir) GetGroupByName(ctx context.Context, tenantID, displayName string) (store.Group, error) {
	return get(ctx, d, groups, "name = ?", groupName(tenantID, displayName))
}

func (d *dir) ListGroups(ctx context.Context, tenantID string) ([]store.Group, error) {
	return list(ctx, d, groups, "tenant_id = ?", tenantID)
}

func (d *dir) UpdateGroup(ctx context.Context, tenantID, id string, fn func(store.Group) (store.Group, error)) (store.Group, error) {
	return writeV(ctx, d, func(w *dir) (store.Group, error) {
		return update(ctx, w, groups, fn, "tenant_id = ? AND id = ?", tenantID, id)
	})
}

func (d *dir) DeleteGroup(ctx context.Context, tenantID, id string) error {
	return d.write(ctx, func(w *dir) error {
		if err := del(ctx, w, "groups", "group", "tenant_id = ? AND id = ?", tenantID, id); err != nil {
			return err
		}
		return w.forget(ctx, tenantID, id)
	})
}

// Directory role assignments.

func (d *dir) CreateDirectoryRoleAssignment(ctx context.Context, a store.DirectoryRoleAssignment) error {
	return d.write(ctx, func(w *dir) error { return insert(ctx, w, directoryRoleAssignments, a) })
}

func (d *dir) ListDirectoryRoleAssignments(ctx context.Context, tenantID string) ([]store.DirectoryRoleAssignment, error) {
	return list(ctx, d, directoryRoleAssignments, "tenant_id = ?", tenantID)
}

func (d *dir) DeleteDirectoryRoleAssignment(ctx context.Context, tenantID, id string) error {
	return d.write(ctx, func(w *dir) error {
		return del(ctx, w, "directory_role_assignments", "directory role assignment", "tenant_id = ? AND id = ?", tenantID, id)
	})
}

// Applications.

func (d *dir) CreateApplication(ctx context.Context, a store.Application) error {
	return d.write(ctx, func(w *dir) error {
		if err := insert(ctx, w, applications, a); err != nil {
			return err
		}
		return w.setIdentifierURIs(ctx, a, false)
	})
}

func (d *dir) GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error) {
	return get(ctx, d, applications, "app_id = ?", lower(appID))
}

func (d *dir) GetApplicationByIdentifierURI(ctx context.Context, uri string) (store.Application, error) {
	if uri == "" {
		return store.Application{}, fmt.Errorf("application with identifier URI \"\": %w", store.ErrNotFound)
	}
	return get(ctx, d, applications, "id = (SELECT application_id FROM application_identifier_uris WHERE uri = ?)", lower(uri))
}

// setIdentifierURIs makes application_identifier_uris hold exactly a's
// identifier URIs; its primary key keeps each unique across applications
// (ErrAlreadyExists). A URI listed twice by a itself counts once; empty ones
// are skipped. firstWins makes a URI another application holds already no
// error but left to that one (the backfill of migration 2, see migrate.go).
func (d *dir) setIdentifierURIs(ctx context.Context, a store.Application, firstWins bool) error {
	if _, err := deleteAll(ctx, d, "application_identifier_uris", "application_id = ?", a.ID); err != nil {
		return fmt.Errorf("application %s: identifier URIs: %w", a.AppID, err)
	}
	q := "INSERT INTO application_identifier_uris (uri, application_id) VALUES (?, ?)"
	if firstWins {
		q += " ON CONFLICT (uri) DO NOTHING"
	}
	seen := map[string]bool{}
	for _, uri := range a.IdentifierURIs {
		key := lower(uri)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if _, err := d.exec(ctx, q, key, a.ID); err != nil {
			if errors.Is(err, store.ErrAlreadyExists) {
				return fmt.Errorf("application %s: identifier URI %q is used by another application: %w", a.AppID, uri, err)
			}
			return fmt.Errorf("application %s: identifier URI %q: %w", a.AppID, uri, err)
		}
	}
	return nil
}

func (d *dir) ListApplications(ctx context.Context, tenantID string) ([]store.Application, error) {
	return list(ctx, d, applications, "tenant_id = ?", tenantID)
}

func (d *dir) UpdateApplication(ctx context.Context, appID string, fn func(store.Application) (store.Application, error)) (store.Application, error) {
	return writeV(ctx, d, func(w *dir) (store.Application, error) {
		a, err := update(ctx, w, applications, fn, "app_id = ?", lower(appID))
		if err != nil {
			return a, err
		}
		return a, w.setIdentifierURIs(ctx, a, false)
	})
}

func (d *dir) DeleteApplication(ctx context.Context, appID string) error {
	return d.write(ctx, func(w *dir) error { return w.deleteApplication(ctx, appID) })
}

// deleteApplication deletes the application, its service principals in every
// tenant with what refers to them, and its own key sets.
func (d *dir) deleteApplication(ctx context.Context, appID string) error {
	if err := del(ctx, d, "applications", "application", "app_id = ?", lower(appID)); err != nil {
		return err
	}
	sps, err := list(ctx, d, servicePrincipals, "app_id = ?", lower(appID))
	if err != nil {
		return err
	}
	for _, sp := range sps {
		if err := d.deleteServicePrincipal(ctx, sp.TenantID, sp.ID); err != nil {
			return err
		}
	}
	if _, err := deleteAll(ctx, d, "key_sets", "app_id = ?", lower(appID)); err != nil {
		return fmt.Errorf("delete key sets of application %s: %w", appID, err)
	}
	return nil
}

// Service principals.

func (d *dir) CreateServicePrincipal(ctx context.Context, sp store.ServicePrincipal) error {
	return d.write(ctx, func(w *dir) error { return insert(ctx, w, servicePrincipals, sp) })
}

func (d *dir) GetServicePrincipal(ctx context.Context, tenantID, id string) (store.ServicePrincipal, error) {
	return get(ctx, d, servicePrincipals, "tenant_id = ? AND id = ?", tenantID, id)
}

func (d *dir) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (store.ServicePrincipal, error) {
	return get(ctx, d, servicePrincipals, "tenant_id = ? AND app_id = ?", tenantID, lower(appID))
}

func (d *dir) ListServicePrincipals(ctx context.Context, tenantID string) ([]store.ServicePrincipal, error) {
	return list(ctx, d, servicePrincipals, "tenant_id = ?", tenantID)
}

func (d *dir) UpdateServicePrincipal(ctx context.Context, tenantID, id string, fn func(store.ServicePrincipal) (store.ServicePrincipal, error)) (store.ServicePrincipal, error) {
	return writeV(ctx, d, func(w *dir) (store.ServicePrincipal, error) {
		return update(ctx, w, servicePrincipals, fn, "tenant_id = ? AND id = ?", tenantID, id)
	})
}

func (d *dir) DeleteServicePrincipal(ctx context.Context, tenantID, id string) error {
	return d.write(ctx, func(w *dir) error { return w.deleteServicePrincipal(ctx, tenantID, id) })
}

func (d *dir) deleteServicePrincipal(ctx context.Context, tenantID, id string) error {
	if err := del(ctx, d, "service_principals", "service principal", "tenant_id = ? AND id = ?", tenantID, id); err != nil {
		return err
	}
	return d.forget(ctx, tenantID, id)
}

// App role assignments.

func (d *dir) CreateAppRoleAssignment(ctx context.Context, a store.AppRoleAssignment) error {
	return d.write(ctx, func(w *dir) error { return insert(ctx, w, appRoleAssignments, a) })
}

func (d *dir) ListAppRoleAssignments(ctx context.Context, tenantID string) ([]store.AppRoleAssignment, error) {
	return list(ctx, d, appRoleAssignments, "tenant_id = ?", tenantID)
}

func (d *dir) ListAppRoleAssignmentsOf(ctx context.Context, tenantID, principalID string) ([]store.AppRoleAssignment, error) {
	return list(ctx, d, appRoleAssignments, "tenant_id = ? AND principal_id = ?", tenantID, principalID)
}

func (d *dir) DeleteAppRoleAssignment(ctx context.Context, tenantID, id string) error {
	return d.write(ctx, func(w *dir) error {
		return del(ctx, w, "app_role_assignments", "app role assignment", "tenant_id = ? AND id = ?", tenantID, id)
	})
}

// Delegated permission grants.

func (d *dir) CreateOAuth2PermissionGrant(ctx context.Context, g store.OAuth2PermissionGrant) error {
	return d.write(ctx, func(w *dir) error { return insert(ctx, w, grants, g) })
}

func (d *dir) GetOAuth2PermissionGrant(ctx context.Context, tenantID, id string) (store.OAuth2PermissionGrant, error) {
	return get(ctx, d, grants, "tenant_id = ? AND id = ?", tenantID, id)
}

func (d *dir) ListOAuth2PermissionGrants(ctx context.Context, tenantID string) ([]store.OAuth2PermissionGrant, error) {
	return list(ctx, d, grants, "tenant_id = ?", tenantID)
}

func (d *dir) ListOAuth2PermissionGrantsOf(ctx context.Context, tenantID, clientID string) ([]store.OAuth2PermissionGrant, error) {
	return list(ctx, d, grants, "tenant_id = ? AND client_id = ?", tenantID, clientID)
}

func (d *dir) UpdateOAuth2PermissionGrant(ctx context.Context, tenantID, id string, fn func(store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error)) (store.OAuth2PermissionGrant, error) {
	return writeV(ctx, d, func(w *dir) (store.OAuth2PermissionGrant, error) {
		return update(ctx, w, grants, fn, "tenant_id = ? AND id = ?", tenantID, id)
	})
}

func (d *dir) DeleteOAuth2PermissionGrant(ctx context.Context, tenantID, id string) error {
	return d.write(ctx, func(w *dir) error {
		return del(ctx, w, "oauth2_permission_grants", "oauth2 permission grant", "tenant_id = ? AND id = ?", tenantID, id)
	})
}

// Key sets.

func (d *dir) GetKeySet(ctx context.Context, tenantID, appID string) (store.KeySet, error) {
	return get(ctx, d, keySets, "id = ?", keySetID(tenantID, appID))
}

func (d *dir) ListKeySets(ctx context.Context) ([]store.KeySet, error) {
	return list(ctx, d, keySets, "")
}

// UpsertKeySet creates an empty set if there is none (ON CONFLICT DO NOTHING
// is safe when replicas race to create it), then updates it like any object.
// If fn fails, the empty set goes too: the transaction rolls back.
func (d *dir) UpsertKeySet(ctx context.Context, tenantID, appID string, fn func(store.KeySet) (store.KeySet, error)) (store.KeySet, error) {
	return writeV(ctx, d, func(w *dir) (store.KeySet, error) {
		empty := store.KeySet{TenantID: tenantID, AppID: appID}
		keys := keySets.keys(empty)
		if err := keySets.check(keys); err != nil {
			return store.KeySet{}, err
		}
		data, err := json.Marshal(empty)
		if err != nil {
			return store.KeySet{}, err
		}
		now := time.Now().UnixMilli()
		if _, err := w.exec(ctx, keySets.insertSQL+" ON CONFLICT (id) DO NOTHING", append(keys, string(data), now, now)...); err != nil {
			return store.KeySet{}, fmt.Errorf("create key set %v: %w", keys[0], err)
		}
		return update(ctx, w, keySets, fn, "id = ?", keys[0])
	})
}
