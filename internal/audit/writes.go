package audit

import (
	"context"
	"fmt"

	"github.com/entranceidp/entrance/internal/store"
)

// dir is a store.Directory whose writes are audited: inside a transaction
// (tx set) in it, otherwise each in a transaction of its own (st). Reads
// go to the embedded Directory.
type dir struct {
	store.Directory
	st  store.Store     // outside a transaction
	tx  store.Directory // inside InTx
	rec *recorder
}

// do runs one write and appends its entry, in one transaction.
func (d *dir) do(ctx context.Context, write func(w store.Directory) (change, error)) error {
	run := func(w store.Directory) error {
		c, err := write(w)
		if err != nil {
			return err
		}
		e, changed, err := d.rec.entry(c)
		if err != nil || !changed {
			return err
		}
		return w.CreateAuditEntry(ctx, e)
	}
	if d.tx != nil {
		return run(d.tx)
	}
	return d.st.InTx(ctx, run)
}

// names names an object in the log: its tenant and its id.
type names[T any] func(T) (tenantID, objectID string)

func created[T any](ctx context.Context, d *dir, kind string, v T, id names[T], create func(store.Directory) error) error {
	return d.do(ctx, func(w store.Directory) (change, error) {
		tid, oid := id(v)
		return change{store.AuditCreate, kind, tid, oid, nil, v}, create(w)
	})
}

func updated[T any](ctx context.Context, d *dir, kind string, fn func(T) (T, error), id names[T],
	update func(store.Directory, func(T) (T, error)) (T, error)) (T, error) {
	var out T
	err := d.do(ctx, func(w store.Directory) (change, error) {
		var before T
		v, err := update(w, func(old T) (T, error) {
			before = old
			return fn(old)
		})
		out = v
		tid, oid := id(v)
		return change{store.AuditUpdate, kind, tid, oid, before, v}, err
	})
	return out, err
}

func deleted[T any](ctx context.Context, d *dir, kind string, id names[T], get func(store.Directory) (T, error), del func(store.Directory) error) error {
	return d.do(ctx, func(w store.Directory) (change, error) {
		before, err := get(w)
		if err != nil {
			return change{}, err
		}
		tid, oid := id(before)
		return change{store.AuditDelete, kind, tid, oid, before, nil}, del(w)
	})
}

// find returns the element of list whose id is id.
func find[T any](list []T, err error, id string, idOf func(T) string, what string) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	for _, v := range list {
		if idOf(v) == id {
			return v, nil
		}
	}
	return zero, fmt.Errorf("%s %s: %w", what, id, store.ErrNotFound)
}

var (
	tenantIDs  names[store.Tenant]                  = func(t store.Tenant) (string, string) { return t.ID, t.ID }
	userIDs    names[store.User]                    = func(u store.User) (string, string) { return u.TenantID, u.ID }
	groupIDs   names[store.Group]                   = func(g store.Group) (string, string) { return g.TenantID, g.ID }
	roleIDs    names[store.DirectoryRoleAssignment] = func(a store.DirectoryRoleAssignment) (string, string) { return a.TenantID, a.ID }
	appIDs     names[store.Application]             = func(a store.Application) (string, string) { return a.TenantID, a.AppID }
	spIDs      names[store.ServicePrincipal]        = func(sp store.ServicePrincipal) (string, string) { return sp.TenantID, sp.ID }
	appRoleIDs names[store.AppRoleAssignment]       = func(a store.AppRoleAssignment) (string, string) { return a.TenantID, a.ID }
	grantIDs   names[store.OAuth2PermissionGrant]   = func(g store.OAuth2PermissionGrant) (string, string) { return g.TenantID, g.ID }
)

// Tenants.

func (d *dir) CreateTenant(ctx context.Context, t store.Tenant) error {
	return created(ctx, d, "tenant", t, tenantIDs, func(w store.Directory) error { return w.CreateTenant(ctx, t) })
}

func (d *dir) UpdateTenant(ctx context.Context, id string, fn func(store.Tenant) (store.Tenant, error)) (store.Tenant, error) {
	return updated(ctx, d, "tenant", fn, tenantIDs, func(w store.Directory, fn func(store.Tenant) (store.Tenant, error)) (store.Tenant, error) {
		return w.UpdateTenant(ctx, id, fn)
	})
}

func (d *dir) DeleteTenant(ctx context.Context, id string) error {
	return deleted(ctx, d, "tenant", tenantIDs,
		func(w store.Directory) (store.Tenant, error) { return w.GetTenant(ctx, id) },
		func(w store.Directory) error { return w.DeleteTenant(ctx, id) })
}

// Users.

func (d *dir) CreateUser(ctx context.Context, u store.User) error {
	return created(ctx, d, "user", u, userIDs, func(w store.Directory) error { return w.CreateUser(ctx, u) })
}

func (d *dir) UpdateUser(ctx context.Context, tenantID, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	return updated(ctx, d, "user", fn, userIDs, func(w store.Directory, fn func(store.User) (store.User, error)) (store.User, error) {
		return w.UpdateUser(ctx, tenantID, id, fn)
	})
}

func (d *dir) DeleteUser(ctx context.Context, tenantID, id string) error {
	return deleted(ctx, d, "user", userIDs,
		func(w store.Directory) (store.User, error) { return w.GetUser(ctx, tenantID, id) },
		func(w store.Directory) error { return w.DeleteUser(ctx, tenantID, id) })
}

// Groups.

func (d *dir) CreateGroup(ctx context.Context, g store.Group) error {
	return created(ctx, d, "group", g, groupIDs, func(w store.Directory) error { return w.CreateGroup(ctx, g) })
}

func (d *dir) UpdateGroup(ctx context.Context, tenantID, id string, fn func(store.Group) (store.Group, error)) (store.Group, error) {
	return updated(ctx, d, "group", fn, groupIDs, func(w store.Directory, fn func(store.Group) (store.Group, error)) (store.Group, error) {
		return w.UpdateGroup(ctx, tenantID, id, fn)
	})
}

func (d *dir) DeleteGroup(ctx context.Context, tenantID, id string) error {
	return deleted(ctx, d, "group", groupIDs,
		func(w store.Directory) (store.Group, error) { return w.GetGroup(ctx, tenantID, id) },
		func(w store.Directory) error { return w.DeleteGroup(ctx, tenantID, id) })
}

// Directory role assignments.

func (d *dir) CreateDirectoryRoleAssignment(ctx context.Context, a store.DirectoryRoleAssignment) error {
	return created(ctx, d, "directoryRoleAssignment", a, roleIDs, func(w store.Directory) error { return w.CreateDirectoryRoleAssignment(ctx, a) })
}

func (d *dir) DeleteDirectoryRoleAssignment(ctx context.Context, tenantID, id string) error {
	return deleted(ctx, d, "directoryRoleAssignment", roleIDs,
		func(w store.Directory) (store.DirectoryRoleAssignment, error) {
			list, err := w.ListDirectoryRoleAssignments(ctx, tenantID)
			return find(list, err, id, func(a store.DirectoryRoleAssignment) string { return a.ID }, "directory role assignment")
		},
		func(w store.Directory) error { return w.DeleteDirectoryRoleAssignment(ctx, tenantID, id) })
}

// Applications.

func (d *dir) CreateApplication(ctx context.Context, a store.Application) error {
	return created(ctx, d, "application", a, appIDs, func(w store.Directory) error { return w.CreateApplication(ctx, a) })
}

func (d *dir) UpdateApplication(ctx context.Context, appID string, fn func(store.Application) (store.Application, error)) (store.Application, error) {
	return updated(ctx, d, "application", fn, appIDs, func(w store.Directory, fn func(store.Application) (store.Application, error)) (store.Application, error) {
		return w.UpdateApplication(ctx, appID, fn)
	})
}

func (d *dir) DeleteApplication(ctx context.Context, appID string) error {
	return deleted(ctx, d, "application", appIDs,
		func(w store.Directory) (store.Application, error) { return w.GetApplicationByAppID(ctx, appID) },
		func(w store.Directory) error { return w.DeleteApplication(ctx, appID) })
}

// Service principals.

func (d *dir) CreateServicePrincipal(ctx context.Context, sp store.ServicePrincipal) error {
	return created(ctx, d, "servicePrincipal", sp, spIDs, func(w store.Directory) error { return w.CreateServicePrincipal(ctx, sp) })
}

func (d *dir) UpdateServicePrincipal(ctx context.Context, tenantID, id string, fn func(store.ServicePrincipal) (store.ServicePrincipal, error)) (store.ServicePrincipal, error) {
	return updated(ctx, d, "servicePrincipal", fn, spIDs, func(w store.Directory, fn func(store.ServicePrincipal) (store.ServicePrincipal, error)) (store.ServicePrincipal, error) {
		return w.UpdateServicePrincipal(ctx, tenantID, id, fn)
	})
}

func (d *dir) DeleteServicePrincipal(ctx context.Context, tenantID, id string) error {
	return deleted(ctx, d, "servicePrincipal", spIDs,
		func(w store.Directory) (store.ServicePrincipal, error) {
			return w.GetServicePrincipal(ctx, tenantID, id)
		},
		func(w store.Directory) error { return w.DeleteServicePrincipal(ctx, tenantID, id) })
}

// App role assignments.

func (d *dir) CreateAppRoleAssignment(ctx context.Context, a store.AppRoleAssignment) error {
	return created(ctx, d, "appRoleAssignment", a, appRoleIDs, func(w store.Directory) error { return w.CreateAppRoleAssignment(ctx, a) })
}

func (d *dir) DeleteAppRoleAssignment(ctx context.Context, tenantID, id string) error {
	return deleted(ctx, d, "appRoleAssignment", appRoleIDs,
		func(w store.Directory) (store.AppRoleAssignment, error) {
			list, err := w.ListAppRoleAssignments(ctx, tenantID)
			return find(list, err, id, func(a store.AppRoleAssignment) string { return a.ID }, "app role assignment")
		},
		func(w store.Directory) error { return w.DeleteAppRoleAssignment(ctx, tenantID, id) })
}

// Delegated permission grants (consent).

func (d *dir) CreateOAuth2PermissionGrant(ctx context.Context, g store.OAuth2PermissionGrant) error {
	return created(ctx, d, "oauth2PermissionGrant", g, grantIDs, func(w store.Directory) error { return w.CreateOAuth2PermissionGrant(ctx, g) })
}

func (d *dir) UpdateOAuth2PermissionGrant(ctx context.Context, tenantID, id string, fn func(store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error)) (store.OAuth2PermissionGrant, error) {
	return updated(ctx, d, "oauth2PermissionGrant", fn, grantIDs, func(w store.Directory, fn func(store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error)) (store.OAuth2PermissionGrant, error) {
		return w.UpdateOAuth2PermissionGrant(ctx, tenantID, id, fn)
	})
}

func (d *dir) DeleteOAuth2PermissionGrant(ctx context.Context, tenantID, id string) error {
	return deleted(ctx, d, "oauth2PermissionGrant", grantIDs,
		func(w store.Directory) (store.OAuth2PermissionGrant, error) {
			return w.GetOAuth2PermissionGrant(ctx, tenantID, id)
		},
		func(w store.Directory) error { return w.DeleteOAuth2PermissionGrant(ctx, tenantID, id) })
}

// Key sets: the log keeps kids and states (viewKeySet), never keys.

func (d *dir) UpsertKeySet(ctx context.Context, tenantID, appID string, fn func(store.KeySet) (store.KeySet, error)) (store.KeySet, error) {
	var out store.KeySet
	err := d.do(ctx, func(w store.Directory) (change, error) {
		var before store.KeySet
		ks, err := w.UpsertKeySet(ctx, tenantID, appID, func(old store.KeySet) (store.KeySet, error) {
			before = old
			return fn(old)
		})
		out = ks
		action, id := store.AuditUpdate, tenantID
		if len(before.Keys) == 0 {
			action = store.AuditCreate
		}
		if appID != "" {
			id += "/" + appID
		}
		return change{action, "keySet", tenantID, id, viewKeySet(before), viewKeySet(ks)}, err
	})
	return out, err
}

// Server secrets: the log names them; their values are sealed and stay out.

func (d *dir) CreateServerSecret(ctx context.Context, name string, sealed []byte) error {
	return d.do(ctx, func(w store.Directory) (change, error) {
		return change{action: store.AuditCreate, kind: "serverSecret", objectID: name}, w.CreateServerSecret(ctx, name, sealed)
	})
}

func (d *dir) UpdateServerSecret(ctx context.Context, name string, fn func([]byte) ([]byte, error)) error {
	return d.do(ctx, func(w store.Directory) (change, error) {
		return change{action: store.AuditUpdate, kind: "serverSecret", objectID: name}, w.UpdateServerSecret(ctx, name, fn)
	})
}
