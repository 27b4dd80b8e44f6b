// Package store defines Entrance's storage: the directory model (types.go) and
// one interface that every backend implements. Backends are checked by the one
// conformance suite in store/storetest.
//
// The interface follows Dex's storage: Create / Get / List / Delete, plus
// Update(id, func(old) (new, error)) for atomic read-modify-write. Update calls
// fn with the stored value and writes what it returns only if nobody changed the
// record in between; otherwise it reads again and calls fn again, so fn must be
// free of side effects other than computing the new value.
package store

import (
	"context"
	"errors"
)

// Errors every backend returns, so callers can test with errors.Is.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a uniqueness rule (ID, appId, UPN, domain, group name,
	// one service principal per app per tenant, ...) would be broken.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict: Update could not win against concurrent writers after retrying.
	ErrConflict = errors.New("store: concurrent update conflict")
)

// Store is the storage every part of Entrance reads and writes through.
type Store interface {
	Directory
	Flows
	AuditLog

	// InTx runs fn in one transaction: everything fn does through tx is
	// committed together, or nothing is if fn returns an error.
	InTx(ctx context.Context, fn func(tx Directory) error) error

	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// Directory is the part of the store that can also run inside a transaction.
type Directory interface {
	// Tenants. Domains are unique across all tenants (case-insensitive).
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	GetTenantByDomain(ctx context.Context, domain string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	UpdateTenant(ctx context.Context, id string, fn func(Tenant) (Tenant, error)) (Tenant, error)
	// DeleteTenant removes the tenant and everything in it.
	DeleteTenant(ctx context.Context, id string) error

	// Users. userPrincipalName is unique across all tenants (case-insensitive).
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, tenantID, id string) (User, error)
	GetUserByUPN(ctx context.Context, tenantID, upn string) (User, error)
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// ListGuestsOf lists the guest objects, in any tenant, of a home user.
	ListGuestsOf(ctx context.Context, homeUserID string) ([]User, error)
	UpdateUser(ctx context.Context, tenantID, id string, fn func(User) (User, error)) (User, error)
	DeleteUser(ctx context.Context, tenantID, id string) error

	// Groups. displayName is unique within a tenant (case-insensitive), so the
	// directory file can refer to groups by name.
	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, tenantID, id string) (Group, error)
	GetGroupByName(ctx context.Context, tenantID, displayName string) (Group, error)
	ListGroups(ctx context.Context, tenantID string) ([]Group, error)
	UpdateGroup(ctx context.Context, tenantID, id string, fn func(Group) (Group, error)) (Group, error)
	DeleteGroup(ctx context.Context, tenantID, id string) error

	// Directory role assignments; one per (principal, role) in a tenant.
	CreateDirectoryRoleAssignment(ctx context.Context, a DirectoryRoleAssignment) error
	ListDirectoryRoleAssignments(ctx context.Context, tenantID string) ([]DirectoryRoleAssignment, error)
	DeleteDirectoryRoleAssignment(ctx context.Context, tenantID, id string) error

	// Applications. appId is unique across all tenants.
	CreateApplication(ctx context.Context, a Application) error
	GetApplicationByAppID(ctx context.Context, appID string) (Application, error)
	ListApplications(ctx context.Context, tenantID string) ([]Application, error)
	UpdateApplication(ctx context.Context, appID string, fn func(Application) (Application, error)) (Application, error)
	DeleteApplication(ctx context.Context, appID string) error

	// Service principals; one per (tenant, appId).
	CreateServicePrincipal(ctx context.Context, sp ServicePrincipal) error
	GetServicePrincipal(ctx context.Context, tenantID, id string) (ServicePrincipal, error)
	GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, tenantID string) ([]ServicePrincipal, error)
	UpdateServicePrincipal(ctx context.Context, tenantID, id string, fn func(ServicePrincipal) (ServicePrincipal, error)) (ServicePrincipal, error)
	DeleteServicePrincipal(ctx context.Context, tenantID, id string) error

	// App role assignments; one per (principal, resource, appRoleId) in a tenant.
	CreateAppRoleAssignment(ctx context.Context, a AppRoleAssignment) error
	ListAppRoleAssignments(ctx context.Context, tenantID string) ([]AppRoleAssignment, error)
	ListAppRoleAssignmentsOf(ctx context.Context, tenantID, principalID string) ([]AppRoleAssignment, error)
	DeleteAppRoleAssignment(ctx context.Context, tenantID, id string) error

	// Delegated permission grants; one per (client, resource, consentType,
	// principal) in a tenant. Update changes the scope list atomically.
	CreateOAuth2PermissionGrant(ctx context.Context, g OAuth2PermissionGrant) error
	GetOAuth2PermissionGrant(ctx context.Context, tenantID, id string) (OAuth2PermissionGrant, error)
	ListOAuth2PermissionGrants(ctx context.Context, tenantID string) ([]OAuth2PermissionGrant, error)
	ListOAuth2PermissionGrantsOf(ctx context.Context, tenantID, clientID string) ([]OAuth2PermissionGrant, error)
	UpdateOAuth2PermissionGrant(ctx context.Context, tenantID, id string, fn func(OAuth2PermissionGrant) (OAuth2PermissionGrant, error)) (OAuth2PermissionGrant, error)
	DeleteOAuth2PermissionGrant(ctx context.Context, tenantID, id string) error

	// Key sets: one per tenant, and one per application that asks for its own
	// key (appID ""= the tenant's). UpsertKeySet calls fn with the stored set, or
	// with a zero KeySet{TenantID, AppID} and ErrNotFound-free semantics when
	// none exists yet, and stores the result atomically.
	GetKeySet(ctx context.Context, tenantID, appID string) (KeySet, error)
	ListKeySets(ctx context.Context) ([]KeySet, error)
	UpsertKeySet(ctx context.Context, tenantID, appID string, fn func(KeySet) (KeySet, error)) (KeySet, error)

	// Server secrets: small values created once and shared by every replica
	// (the client-secret pepper, the pairwise-subject key, ...), stored sealed
	// under the master key by the caller. CreateServerSecret returns
	// ErrAlreadyExists if another replica won the race; read it back then.
	CreateServerSecret(ctx context.Context, name string, sealed []byte) error
	GetServerSecret(ctx context.Context, name string) ([]byte, error)
	ListServerSecrets(ctx context.Context) (map[string][]byte, error)
	UpdateServerSecret(ctx context.Context, name string, fn func([]byte) ([]byte, error)) error

	// GetApplicationByIdentifierURI finds the application that exposes an API
	// under uri (an App ID URI such as api://tasks). Identifier URIs are unique
	// across all applications (case-insensitive).
	GetApplicationByIdentifierURI(ctx context.Context, uri string) (Application, error)

	// CreateAuditEntry appends e to the audit log (see AuditEntry). It does
	// not bump ChangeVersion: the log is not part of what caches hold.
	CreateAuditEntry(ctx context.Context, e AuditEntry) error

	// ChangeVersion is a counter bumped by every write to the directory or the
	// keys. Servers compare it to know when cached documents (discovery, JWKS)
	// must be rebuilt, also when another replica made the change.
	ChangeVersion(ctx context.Context) (int64, error)
}
