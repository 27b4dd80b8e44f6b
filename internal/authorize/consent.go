package authorize

import (
	"context"
	"slices"

	"github.com/entranceidp/entrance/internal/store"
)

// Consent is what the endpoint needs from scope resolution and the consent
// records (internal/scopes provides it; the server adapts it).
type Consent interface {
	// Check resolves what the request asks for — Scope (v2) or Resource (v1)
	// — for the client in the user's tenant, and reports which permissions
	// the user (or an admin, for everyone) has not consented to yet. Invalid
	// scopes are *aadsts.Error values (70011, 500011, ...).
	Check(ctx context.Context, q ConsentQuery) (ConsentCheck, error)
	// Grant records consent to the permissions the query asks for: for the
	// user, or for every user of the tenant (admin consent).
	Grant(ctx context.Context, q ConsentQuery, forOrganization bool) error
}

// ConsentQuery names a consent decision.
type ConsentQuery struct {
	TenantID string
	Client   store.Application
	User     store.User
	Scope    string
	Resource string
}

// ConsentCheck is the answer to Check.
type ConsentCheck struct {
	// Requested is every permission asked for; Missing those not consented to.
	Requested []Permission
	Missing   []Permission
	// Admin: the user holds a directory role that may consent for the whole
	// organization, and to Admin-type permissions.
	Admin bool
	// NotAssigned: the client requires app role assignment
	// (appRoleAssignmentRequired) and the user has none (AADSTS50105).
	NotAssigned bool
}

// needsAdmin reports whether any permission is Admin-type.
func needsAdmin(perms []Permission) bool {
	return slices.ContainsFunc(perms, func(p Permission) bool { return p.AdminOnly })
}

// Permission is one delegated permission, as the consent page shows it.
type Permission struct {
	Resource    string // the resource's display name
	Value       string // the scope value (User.Read)
	DisplayName string
	Description string
	// AdminOnly: Type "Admin", which only an administrator can consent to.
	AdminOnly bool
}
