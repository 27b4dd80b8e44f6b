package scopes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Permission is one delegated permission of one resource: a line of the
// consent page (Scope carries the display names and descriptions).
type Permission struct {
	Resource store.Application
	Scope    store.PermissionScope
}

// NeedsAdmin reports whether any of perms is an Admin-type scope, which only
// an administrator can consent to, for the whole organization.
func NeedsAdmin(perms []Permission) bool {
	return slices.ContainsFunc(perms, func(p Permission) bool { return p.Scope.Type == directory.ScopeTypeAdmin })
}

// adminConsentRoles are the built-in directory roles that may grant
// tenant-wide consent to delegated permissions.
var adminConsentRoles = []string{
	"62e90394-69f5-4237-9190-012177145e10", // Global Administrator
	"e8611ab8-c189-46e8-94e1-60213ab1f814", // Privileged Role Administrator
	"158c047a-c907-4556-b7ef-446551a6b5f7", // Cloud Application Administrator
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", // Application Administrator
}

// CanGrantAdminConsent reports whether a user with these directory roles
// (wids, see Groups) may consent for the whole organization.
func CanGrantAdminConsent(wids []string) bool {
	return slices.ContainsFunc(wids, func(w string) bool { return slices.Contains(adminConsentRoles, strings.ToLower(w)) })
}

// Requested lists every permission res asks for, what the consent page shows
// with prompt=consent: the requested scopes of the resource, or for .default
// every delegated permission in the client's requiredResourceAccess, for all
// the APIs listed there (as Entra's consent page does), then the OpenID
// Connect scopes (Graph permissions). Each appears once.
func Requested(ctx context.Context, st store.Directory, tenantID string, client store.Application, res Resolution) ([]Permission, error) {
	var perms []Permission
	add := func(app store.Application, s store.PermissionScope) {
		if !slices.ContainsFunc(perms, func(p Permission) bool { return p.Resource.AppID == app.AppID && p.Scope.ID == s.ID }) {
			perms = append(perms, Permission{app, s})
		}
	}
	if res.Default {
		for _, rra := range client.RequiredResourceAccess {
			app, err := directory.LookupApplication(ctx, st, rra.ResourceAppID)
			if errors.Is(err, store.ErrNotFound) {
				continue // an API deleted since; Entra skips it too
			} else if err != nil {
				return nil, err
			}
			if app.SignInAudience == store.AudienceMyOrg && app.TenantID != tenantID {
				continue // cannot be instantiated here, so cannot be granted
			}
			for _, ra := range rra.ResourceAccess {
				if s, ok := scopeByID(app, ra.ID); ok && ra.Type == directory.AccessTypeScope {
					add(app, s)
				}
			}
		}
	}
	for _, v := range res.Scopes {
		if s, ok := scopeByValue(res.Resource, v); ok {
			add(res.Resource, s)
		}
	}
	graph := directory.GraphApplication()
	for _, v := range res.OIDC {
		if s, ok := scopeByValue(graph, v); ok {
			add(graph, s)
		}
	}
	return perms, nil
}

// Missing lists what userID must still consent to before client gets what
// res asks for (nil: go ahead). A permission is granted when an admin
// consented for everyone (AllPrincipals) or the user for themself
// (Principal). Two rules follow Entra's documents and one is Entrance's:
//   - .default prompts only when nothing at all is granted on the resource
//     for the user; then it asks for all of Requested;
//   - prompt=consent is the caller's: show Requested instead;
//   - the OpenID Connect scopes are asked for with the first consent, and
//     once the user or an admin has granted the client anything, they count
//     as granted. (Entra stores them as Graph grants; this way a directory
//     file that grants an API needs no Graph grant for sign-in to be silent.)
func Missing(ctx context.Context, st store.Directory, tenantID string, client store.Application, res Resolution, userID string) ([]Permission, error) {
	perms, err := Requested(ctx, st, tenantID, client, res)
	if err != nil {
		return nil, err
	}
	grants, err := grantedTo(ctx, st, tenantID, client.AppID, userID)
	if err != nil {
		return nil, err
	}
	spIDs := map[string]string{} // resource appId → its service principal's id, "" for none
	grantedOn := func(appID string) ([]string, error) {
		id, ok := spIDs[appID]
		if !ok {
			sp, err := st.GetServicePrincipalByAppID(ctx, tenantID, appID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			id, spIDs[appID] = sp.ID, sp.ID
		}
		if id == "" {
			return nil, nil
		}
		return grants[id], nil
	}
	if res.Default {
		if have, err := grantedOn(res.Resource.AppID); err != nil {
			return nil, err
		} else if len(have) > 0 {
			// Consent exists: the token gets what was granted, no prompt.
			perms = slices.DeleteFunc(perms, func(p Permission) bool { return !isOIDCPermission(p) })
		}
	}
	var missing []Permission
	for _, p := range perms {
		if isOIDCPermission(p) && len(grants) > 0 {
			continue
		}
		have, err := grantedOn(p.Resource.AppID)
		if err != nil {
			return nil, err
		}
		if !containsFold(have, p.Scope.Value) {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// Delegated is what a user's access token for a resolved request carries.
type Delegated struct {
	// Scopes is the scp: everything consented on the resource for the user,
	// not only what this request named (Entra's tokens carry the union).
	Scopes []string
	// Roles are the user's app roles on the resource.
	Roles []string
	// Scope is the "scope" of a v2.0 token response (ResponseScope); v1
	// responses use ResponseScopeV1(Scopes).
	Scope string
}

// ForUser checks that userID's consent covers res for client and gathers
// what the token carries; missing consent is AADSTS65001, what the token
// endpoint answers. A token for an API with nothing consented is refused the
// same way, except for Graph (an OpenID Connect sign-in) and for the client
// itself.
func ForUser(ctx context.Context, st store.Directory, tenantID string, client store.Application, res Resolution, userID string) (Delegated, error) {
	missing, err := Missing(ctx, st, tenantID, client, res, userID)
	if err != nil {
		return Delegated{}, err
	}
	granted, err := Consented(ctx, st, tenantID, client.AppID, res.Resource.AppID, userID)
	if err != nil {
		return Delegated{}, err
	}
	if len(missing) > 0 || len(granted) == 0 && !res.IsGraph() && res.Resource.AppID != client.AppID {
		return Delegated{}, aadsts.New(aadsts.ConsentRequired, client.AppID, client.DisplayName)
	}
	roles, err := UserRoles(ctx, st, tenantID, res.Resource, userID)
	if err != nil {
		return Delegated{}, err
	}
	return Delegated{Scopes: granted, Roles: roles, Scope: res.ResponseScope(granted)}, nil
}

func isOIDCPermission(p Permission) bool {
	return p.Resource.AppID == directory.GraphAppID && IsOIDC(p.Scope.Value)
}

// Consented returns the scope values granted to the client on the resource
// for userID (an admin's AllPrincipals grant and the user's own), in grant
// order: the scp of the user's access tokens.
func Consented(ctx context.Context, st store.Directory, tenantID, clientAppID, resourceAppID, userID string) ([]string, error) {
	sp, err := st.GetServicePrincipalByAppID(ctx, tenantID, resourceAppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	grants, err := grantedTo(ctx, st, tenantID, clientAppID, userID)
	return grants[sp.ID], err
}

// grantedTo maps each resource service principal id to the scope values
// granted on it to the client for userID.
func grantedTo(ctx context.Context, st store.Directory, tenantID, clientAppID, userID string) (map[string][]string, error) {
	client, err := st.GetServicePrincipalByAppID(ctx, tenantID, clientAppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	gs, err := st.ListOAuth2PermissionGrantsOf(ctx, tenantID, client.ID)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	// Admin grants first, so scp lists the organization's scopes first.
	slices.SortStableFunc(gs, func(a, b store.OAuth2PermissionGrant) int {
		return strings.Compare(a.ConsentType, b.ConsentType) // AllPrincipals < Principal
	})
	for _, g := range gs {
		if g.ConsentType == store.ConsentAllPrincipals || g.ConsentType == store.ConsentPrincipal && g.PrincipalID == userID {
			for _, v := range strings.Fields(g.Scope) {
				if !containsFold(out[g.ResourceID], v) {
					out[g.ResourceID] = append(out[g.ResourceID], v)
				}
			}
		}
	}
	return out, nil
}

// Grant records consent to perms for client: for userID alone, or with
// admin for everyone in the tenant (consentType AllPrincipals). It creates
// the service principals of the client and of each resource in the tenant
// when they are missing (multi-tenant apps and Graph get theirs on first
// consent, as in Entra), then extends each resource's grant atomically,
// keeping what it had. Admin-type scopes need admin (else AADSTS90094, and
// nothing is written).
func Grant(ctx context.Context, st store.Directory, tenantID string, client store.Application, perms []Permission, userID string, admin bool) error {
	if !admin && NeedsAdmin(perms) {
		return aadsts.New(aadsts.AdminConsentRequired)
	}
	if len(perms) == 0 {
		return nil
	}
	clientSP, err := directory.EnsureServicePrincipal(ctx, st, tenantID, client)
	if err != nil {
		return err
	}
	var order []string
	byResource := map[string][]Permission{}
	for _, p := range perms {
		if _, ok := byResource[p.Resource.AppID]; !ok {
			order = append(order, p.Resource.AppID)
		}
		byResource[p.Resource.AppID] = append(byResource[p.Resource.AppID], p)
	}
	consentType, principal := store.ConsentPrincipal, userID
	if admin {
		consentType, principal = store.ConsentAllPrincipals, ""
	}
	for _, appID := range order {
		ps := byResource[appID]
		resSP, err := directory.EnsureServicePrincipal(ctx, st, tenantID, ps[0].Resource)
		if err != nil {
			return err
		}
		values := make([]string, len(ps))
		for i, p := range ps {
			values[i] = p.Scope.Value
		}
		if err := extendGrant(ctx, st, tenantID, clientSP.ID, resSP.ID, consentType, principal, values); err != nil {
			return fmt.Errorf("grant %s on %s: %w", strings.Join(values, " "), appID, err)
		}
	}
	return nil
}

// extendGrant adds values to the one grant of (client, resource,
// consentType, principal), creating it if needed. A concurrent creation
// makes Create fail with ErrAlreadyExists; the next round updates that one.
func extendGrant(ctx context.Context, st store.Directory, tenantID, clientID, resourceID, consentType, principalID string, values []string) error {
	merge := func(g store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error) {
		have := strings.Fields(g.Scope)
		for _, v := range values {
			if !containsFold(have, v) {
				have = append(have, v)
			}
		}
		g.Scope = strings.Join(have, " ")
		return g, nil
	}
	for range 3 {
		gs, err := st.ListOAuth2PermissionGrantsOf(ctx, tenantID, clientID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(gs, func(g store.OAuth2PermissionGrant) bool {
			return g.ResourceID == resourceID && g.ConsentType == consentType && g.PrincipalID == principalID
		})
		if i >= 0 {
			_, err := st.UpdateOAuth2PermissionGrant(ctx, tenantID, gs[i].ID, merge)
			return err
		}
		g, _ := merge(store.OAuth2PermissionGrant{ID: ids.NewGUID(), TenantID: tenantID, ClientID: clientID,
			ResourceID: resourceID, ConsentType: consentType, PrincipalID: principalID})
		if err := st.CreateOAuth2PermissionGrant(ctx, g); !errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
	}
	return store.ErrConflict
}

func scopeByID(app store.Application, id string) (store.PermissionScope, bool) {
	for _, s := range app.API.OAuth2PermissionScopes {
		if s.IsEnabled && strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return store.PermissionScope{}, false
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
}
