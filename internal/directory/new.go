package directory

import (
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// The constructors below fill Entra's defaults for a new object: a new object
// id, enabled, and empty (not nil) lists, so stored JSON says [] rather than null.

// NewTenant returns an Entra ID tenant (type aad) with a new id.
func NewTenant(displayName string, domains []string, now time.Time) store.Tenant {
	ds := make([]string, len(domains))
	for i, d := range domains {
		ds[i] = strings.ToLower(d)
	}
	return store.Tenant{ID: ids.NewGUID(), DisplayName: displayName, Type: store.TenantTypeAAD, Domains: ds, CreatedDateTime: now.UTC()}
}

// NewUser returns an enabled member user of the tenant.
func NewUser(tenantID, upn, displayName string, now time.Time) store.User {
	return store.User{
		ID: ids.NewGUID(), TenantID: tenantID, UserPrincipalName: upn, DisplayName: displayName,
		AccountEnabled: true, UserType: store.UserTypeMember, CreatedDateTime: now.UTC(),
	}
}

// NewGuest returns the guest object that home (a member of another tenant)
// gets when invited into tenant t, with Entra's #EXT# UPN.
func NewGuest(t store.Tenant, home store.User, now time.Time) store.User {
	mail := home.Mail
	if mail == "" {
		mail = home.UserPrincipalName
	}
	return store.User{
		ID: ids.NewGUID(), TenantID: t.ID, UserPrincipalName: GuestUPN(home.UserPrincipalName, InitialDomain(t)),
		DisplayName: home.DisplayName, GivenName: home.GivenName, Surname: home.Surname, Mail: mail,
		AccountEnabled: true, UserType: store.UserTypeGuest, HomeTenantID: home.TenantID, HomeUserID: home.ID,
		CreatedDateTime: now.UTC(),
	}
}

// NewGroup returns a security group with no members.
func NewGroup(tenantID, displayName string, now time.Time) store.Group {
	return store.Group{
		ID: ids.NewGUID(), TenantID: tenantID, DisplayName: displayName, SecurityEnabled: true,
		Members: []store.DirectoryObjectRef{}, CreatedDateTime: now.UTC(),
	}
}

// NewApplication returns a single-tenant (AzureADMyOrg) app registration with
// a new object id and appId.
func NewApplication(tenantID, displayName string, now time.Time) store.Application {
	a := store.Application{
		ID: ids.NewGUID(), AppID: ids.NewGUID(), TenantID: tenantID, DisplayName: displayName,
		SignInAudience: store.AudienceMyOrg, CreatedDateTime: now.UTC(),
	}
	NormalizeApplication(&a)
	return a
}

// NewPermissionScope returns an enabled delegated permission users can consent to.
func NewPermissionScope(value string) store.PermissionScope {
	return store.PermissionScope{ID: ids.NewGUID(), Value: value, Type: ScopeTypeUser, IsEnabled: true}
}

// NewAppRole returns an enabled app role.
func NewAppRole(value string, allowedMemberTypes ...string) store.AppRole {
	if allowedMemberTypes == nil {
		allowedMemberTypes = []string{}
	}
	return store.AppRole{ID: ids.NewGUID(), Value: value, DisplayName: value, AllowedMemberTypes: allowedMemberTypes, IsEnabled: true}
}

// NewServicePrincipal returns app's enabled service principal in tenantID.
func NewServicePrincipal(tenantID string, app store.Application, now time.Time) store.ServicePrincipal {
	return store.ServicePrincipal{
		ID: ids.NewGUID(), TenantID: tenantID, AppID: app.AppID, AppOwnerOrganizationID: app.TenantID,
		AppDisplayName: app.DisplayName, AccountEnabled: true, CreatedDateTime: now.UTC(),
	}
}

// NormalizeApplication fills what Entra fills on every write: empty lists
// instead of nil, scope type User when unset, and requestedAccessTokenVersion
// 2 for apps that sign in personal accounts (the portal sets it; Entra
// requires it).
func NormalizeApplication(a *store.Application) {
	a.Web.RedirectURIs = nonNil(a.Web.RedirectURIs)
	a.SPA.RedirectURIs = nonNil(a.SPA.RedirectURIs)
	a.PublicClient.RedirectURIs = nonNil(a.PublicClient.RedirectURIs)
	a.IdentifierURIs = nonNil(a.IdentifierURIs)
	a.API.OAuth2PermissionScopes = nonNil(a.API.OAuth2PermissionScopes)
	for i := range a.API.OAuth2PermissionScopes {
		if a.API.OAuth2PermissionScopes[i].Type == "" {
			a.API.OAuth2PermissionScopes[i].Type = ScopeTypeUser
		}
	}
	a.AppRoles = nonNil(a.AppRoles)
	for i := range a.AppRoles {
		a.AppRoles[i].AllowedMemberTypes = nonNil(a.AppRoles[i].AllowedMemberTypes)
	}
	a.RequiredResourceAccess = nonNil(a.RequiredResourceAccess)
	for i := range a.RequiredResourceAccess {
		a.RequiredResourceAccess[i].ResourceAccess = nonNil(a.RequiredResourceAccess[i].ResourceAccess)
	}
	a.PasswordCredentials = nonNil(a.PasswordCredentials)
	a.KeyCredentials = nonNil(a.KeyCredentials)
	if SignsInPersonalAccounts(a.SignInAudience) && a.API.RequestedAccessTokenVersion == nil {
		v := 2
		a.API.RequestedAccessTokenVersion = &v
	}
}

// NormalizeGroup makes the member list empty rather than nil.
func NormalizeGroup(g *store.Group) {
	g.Members = nonNil(g.Members)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
