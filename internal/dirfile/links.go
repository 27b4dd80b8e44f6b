package dirfile

import (
	"context"
	"slices"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// This file plans what links objects: service principals, directory role
// assignments, app role assignments and delegated permission grants.

func (p *planner) planServicePrincipals() error {
	for _, tp := range p.tenants {
		for j := range tp.src.ServicePrincipals {
			src := &tp.src.ServicePrincipals[j]
			path := indexPath(joinPath(tp.path, "servicePrincipals"), j)
			if _, dup := tp.sps[lower(src.AppID)]; dup {
				p.errorf(joinPath(path, "appId"), "%s already has a service principal in this tenant", src.AppID)
				continue
			}
			ref, ok, err := p.appRef(src.AppID, joinPath(path, "appId"))
			if err != nil || !ok {
				return err
			}
			if _, err := p.servicePrincipal(tp, ref, path, src); err != nil {
				return err
			}
		}
	}
	// Entra creates the service principal in the app's home tenant with the app.
	for _, tp := range p.tenants {
		for j := range tp.src.Applications {
			if ref := p.apps[lower(tp.src.Applications[j].AppID)]; ref != nil && ref.tenant == tp {
				if _, err := p.servicePrincipal(tp, ref, ref.path, nil); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// appRef resolves an appId reference at path, reporting a missing app there.
func (p *planner) appRef(appID, path string) (*appRef, bool, error) {
	if !ids.IsGUID(strings.TrimSpace(appID)) {
		p.errorf(path, "%q is not an appId (a GUID)", appID)
		return nil, false, nil
	}
	ref, ok, err := p.app(appID)
	if err == nil && !ok {
		p.errorf(path, "no application with appId %s in this file or the store", lower(appID))
	}
	return ref, ok, err
}

// servicePrincipal plans the service principal of ref's app in tenant tp, once.
// src is the file's entry when it has one; path is where the need arose.
func (p *planner) servicePrincipal(tp *tenantPlan, ref *appRef, path string, src *ServicePrincipal) (*store.ServicePrincipal, error) {
	key := ref.a.AppID
	if sp := tp.sps[key]; sp != nil {
		return sp, nil
	}
	var old store.ServicePrincipal
	exists := false
	if tp.exists {
		var err error
		if old, exists, err = found(p.tx.GetServicePrincipalByAppID(p.ctx, tp.t.ID, key)); err != nil {
			return nil, err
		}
	}
	sp := old
	if !exists {
		sp = directory.NewServicePrincipal(tp.t.ID, ref.a, p.now)
	}
	sp.AppDisplayName, sp.AppOwnerOrganizationID = ref.a.DisplayName, ref.a.TenantID
	if src != nil {
		if src.ID != "" && !exists {
			sp.ID = lower(src.ID)
		} else if src.ID != "" && lower(src.ID) != sp.ID {
			p.errorf(joinPath(path, "id"), "the service principal is stored with id %s; an object id cannot change", sp.ID)
		}
		if p.has(joinPath(path, "accountEnabled")) {
			sp.AccountEnabled = src.AccountEnabled
		}
		if p.has(joinPath(path, "appRoleAssignmentRequired")) {
			sp.AppRoleAssignmentRequired = src.AppRoleAssignmentRequired
		}
		p.validate(path, directory.ValidateServicePrincipal(sp, ref.a, tp.t))
	} else if err := directory.ValidateServicePrincipal(sp, ref.a, tp.t); err != nil {
		p.errorf(path, "%s", strings.TrimPrefix(err.Error(), "appId: "))
	}
	tp.sps[key] = &sp
	p.add(phServicePrincipals, Change{Kind: "servicePrincipal", TenantID: tp.t.ID, Name: key}, exists, old, sp,
		func(ctx context.Context, tx store.Directory) error { return tx.CreateServicePrincipal(ctx, sp) },
		func(ctx context.Context, tx store.Directory) error {
			_, err := tx.UpdateServicePrincipal(ctx, sp.TenantID, sp.ID, func(store.ServicePrincipal) (store.ServicePrincipal, error) { return sp, nil })
			return err
		})
	return &sp, nil
}

// spFor resolves an appId reference at path to the app's service principal
// in tp, planning one when the tenant has none yet.
func (p *planner) spFor(tp *tenantPlan, appID, path string) (*appRef, *store.ServicePrincipal, error) {
	ref, ok, err := p.appRef(appID, path)
	if err != nil || !ok {
		return nil, nil, err
	}
	sp, err := p.servicePrincipal(tp, ref, path, nil)
	return ref, sp, err
}

func (p *planner) planLinks() error {
	for _, tp := range p.tenants {
		for _, step := range []func(*tenantPlan) error{p.planDirectoryRoles, p.planAppRoleAssignments, p.planGrants} {
			if err := step(tp); err != nil {
				return err
			}
		}
	}
	return nil
}

// principal resolves a user (UPN) or group (name) of tp for role assignments.
func (p *planner) principal(tp *tenantPlan, ref, path string) (id, principalType string, ok bool, err error) {
	u, ok, err := p.userIn(tp, ref)
	if ok || err != nil {
		return u.ID, store.PrincipalTypeUser, ok, err
	}
	g, ok, err := p.groupIn(tp, ref)
	if ok || err != nil {
		return g.g.ID, store.PrincipalTypeGroup, ok, err
	}
	p.errorf(path, "%q is neither a user (UPN) nor a group (name) of tenant %q", ref, tp.t.DisplayName)
	return "", "", false, nil
}

func (p *planner) planDirectoryRoles(tp *tenantPlan) error {
	seen := map[string]string{}
	for j, src := range tp.src.DirectoryRoles {
		path := indexPath(joinPath(tp.path, "directoryRoles"), j)
		var roleID string
		switch {
		case src.RoleTemplateID != "" && src.Role != "":
			p.errorf(path, "give roleTemplateId or role, not both")
			continue
		case src.RoleTemplateID != "":
			if !ids.IsGUID(src.RoleTemplateID) {
				p.errorf(joinPath(path, "roleTemplateId"), "%q is not a GUID", src.RoleTemplateID)
				continue
			}
			roleID = lower(src.RoleTemplateID)
		case src.Role != "":
			id, ok := directory.RoleTemplateID(src.Role)
			if !ok {
				p.errorf(joinPath(path, "role"), "unknown role %q; give its roleTemplateId, or one of: %s", src.Role, strings.Join(directory.BuiltInRoleNames(), ", "))
				continue
			}
			roleID = id
		default:
			p.errorf(path, "roleTemplateId (a GUID) or role (a built-in role's name) is required")
			continue
		}
		principalID, _, ok, err := p.principal(tp, src.Principal, joinPath(path, "principal"))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		key := principalID + " " + roleID
		if at, dup := seen[key]; dup {
			p.errorf(path, "the same assignment is already declared at %s", at)
			continue
		}
		seen[key] = path
		if tp.exists && !tp.rolesLoaded {
			if tp.roles, err = p.tx.ListDirectoryRoleAssignments(p.ctx, tp.t.ID); err != nil {
				return err
			}
			tp.rolesLoaded = true
		}
		a := store.DirectoryRoleAssignment{ID: ids.NewGUID(), TenantID: tp.t.ID, PrincipalID: principalID, RoleDefinitionID: roleID, DirectoryScopeID: "/"}
		exists := false
		for _, have := range tp.roles {
			if have.PrincipalID == principalID && have.RoleDefinitionID == roleID {
				a, exists = have, true
			}
		}
		p.add(phLinks, Change{Kind: "directoryRoleAssignment", TenantID: tp.t.ID, Name: src.Principal + " → " + roleID}, exists, a, a,
			func(ctx context.Context, tx store.Directory) error { return tx.CreateDirectoryRoleAssignment(ctx, a) }, nil)
	}
	return nil
}

func (p *planner) planAppRoleAssignments(tp *tenantPlan) error {
	seen := map[string]string{}
	for j, src := range tp.src.AppRoleAssignments {
		path := indexPath(joinPath(tp.path, "appRoleAssignments"), j)
		var principalID, principalType, memberType string
		if ids.IsGUID(strings.TrimSpace(src.Principal)) {
			_, sp, err := p.spFor(tp, src.Principal, joinPath(path, "principal"))
			if err != nil {
				return err
			}
			if sp == nil {
				continue
			}
			principalID, principalType, memberType = sp.ID, store.PrincipalTypeServicePrincipal, directory.AllowedMemberApplication
		} else {
			id, typ, ok, err := p.principal(tp, src.Principal, joinPath(path, "principal"))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			principalID, principalType, memberType = id, typ, directory.AllowedMemberUser
		}
		res, resSP, err := p.spFor(tp, src.Resource, joinPath(path, "resource"))
		if err != nil {
			return err
		}
		if resSP == nil {
			continue
		}
		roleID, ok := p.appRole(res, src.AppRole, memberType, path)
		if !ok {
			continue
		}
		key := principalID + " " + resSP.ID + " " + roleID
		if at, dup := seen[key]; dup {
			p.errorf(path, "the same assignment is already declared at %s", at)
			continue
		}
		seen[key] = path
		have, err := p.assignmentsOf(tp, principalID)
		if err != nil {
			return err
		}
		a := store.AppRoleAssignment{ID: ids.NewGUID(), TenantID: tp.t.ID, PrincipalID: principalID, PrincipalType: principalType,
			ResourceID: resSP.ID, AppRoleID: roleID, CreatedDateTime: p.now}
		exists := false
		for _, h := range have {
			if h.ResourceID == resSP.ID && h.AppRoleID == roleID {
				a, exists = h, true
			}
		}
		p.add(phLinks, Change{Kind: "appRoleAssignment", TenantID: tp.t.ID, Name: src.Principal + " → " + res.a.AppID + " (" + src.AppRole + ")"}, exists, a, a,
			func(ctx context.Context, tx store.Directory) error { return tx.CreateAppRoleAssignment(ctx, a) }, nil)
	}
	return nil
}

// appRole finds the app role of res that ref names (its value or id) and
// checks that it can be given to memberType. No ref means Default Access,
// which only users and groups can have.
func (p *planner) appRole(res *appRef, ref, memberType, path string) (string, bool) {
	if strings.TrimSpace(ref) == "" {
		if memberType == directory.AllowedMemberApplication {
			p.errorf(joinPath(path, "appRole"), "is required when the principal is an application")
			return "", false
		}
		return directory.DefaultAccessRole, true
	}
	var values []string
	for _, r := range res.a.AppRoles {
		values = append(values, r.Value)
		if r.Value != ref && r.ID != lower(ref) {
			continue
		}
		switch {
		case !r.IsEnabled:
			p.errorf(joinPath(path, "appRole"), "app role %q of %s is disabled", r.Value, res.a.AppID)
		case !slices.Contains(r.AllowedMemberTypes, memberType):
			p.errorf(joinPath(path, "appRole"), "app role %q of %s cannot be assigned to a %s (allowedMemberTypes: %s)",
				r.Value, res.a.AppID, strings.ToLower(memberType), strings.Join(r.AllowedMemberTypes, ", "))
		default:
			return r.ID, true
		}
		return "", false
	}
	p.errorf(joinPath(path, "appRole"), "%q is not an app role of %s (%s); it has: %s", ref, res.a.AppID, res.a.DisplayName, strings.Join(values, ", "))
	return "", false
}

func (p *planner) assignmentsOf(tp *tenantPlan, principalID string) ([]store.AppRoleAssignment, error) {
	if !tp.exists {
		return nil, nil
	}
	if have, ok := tp.assigned[principalID]; ok {
		return have, nil
	}
	have, err := p.tx.ListAppRoleAssignmentsOf(p.ctx, tp.t.ID, principalID)
	tp.assigned[principalID] = have
	return have, err
}

func (p *planner) planGrants(tp *tenantPlan) error {
	seen := map[string]string{}
	for j, src := range tp.src.OAuth2PermissionGrants {
		path := indexPath(joinPath(tp.path, "oauth2PermissionGrants"), j)
		_, client, err := p.spFor(tp, src.Client, joinPath(path, "client"))
		if err != nil {
			return err
		}
		res, resSP, err := p.spFor(tp, src.Resource, joinPath(path, "resource"))
		if err != nil {
			return err
		}
		consent := src.ConsentType
		if consent == "" && src.Principal != "" {
			consent = store.ConsentPrincipal
		} else if consent == "" {
			consent = store.ConsentAllPrincipals
		}
		principalID := ""
		switch consent {
		case store.ConsentAllPrincipals:
			if src.Principal != "" {
				p.errorf(joinPath(path, "principal"), "must be empty when consentType is AllPrincipals")
			}
		case store.ConsentPrincipal:
			u, ok, err := p.userIn(tp, src.Principal)
			if err != nil {
				return err
			}
			if !ok {
				p.errorf(joinPath(path, "principal"), "%q is not a user (UPN) of tenant %q; consentType Principal needs one", src.Principal, tp.t.DisplayName)
				continue
			}
			principalID = u.ID
		default:
			p.errorf(joinPath(path, "consentType"), "%q is not AllPrincipals or Principal", src.ConsentType)
			continue
		}
		if client == nil || resSP == nil {
			continue
		}
		scope, ok := p.grantScope(res, src.Scope, joinPath(path, "scope"))
		if !ok {
			continue
		}
		key := client.ID + " " + resSP.ID + " " + consent + " " + principalID
		if at, dup := seen[key]; dup {
			p.errorf(path, "a grant for the same client, resource and principal is already declared at %s", at)
			continue
		}
		seen[key] = path
		if _, loaded := tp.grants[client.ID]; tp.exists && !loaded {
			if tp.grants[client.ID], err = p.tx.ListOAuth2PermissionGrantsOf(p.ctx, tp.t.ID, client.ID); err != nil {
				return err
			}
		}
		g := store.OAuth2PermissionGrant{ID: ids.NewGUID(), TenantID: tp.t.ID, ClientID: client.ID, ResourceID: resSP.ID,
			ConsentType: consent, PrincipalID: principalID, Scope: scope}
		old, exists := g, false
		for _, h := range tp.grants[client.ID] {
			if h.ResourceID == resSP.ID && h.ConsentType == consent && h.PrincipalID == principalID {
				old, exists = h, true
				g.ID = h.ID
				if sameScopes(h.Scope, scope) {
					g.Scope = h.Scope
				}
			}
		}
		p.add(phLinks, Change{Kind: "oauth2PermissionGrant", TenantID: tp.t.ID, Name: src.Client + " → " + res.a.AppID + " (" + scope + ")"}, exists, old, g,
			func(ctx context.Context, tx store.Directory) error { return tx.CreateOAuth2PermissionGrant(ctx, g) },
			func(ctx context.Context, tx store.Directory) error {
				_, err := tx.UpdateOAuth2PermissionGrant(ctx, g.TenantID, g.ID, func(have store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error) {
					have.Scope = g.Scope
					return have, nil
				})
				return err
			})
	}
	return nil
}

// grantScope checks that every value of a space-separated scope is a
// delegated permission res exposes, and returns it without repeats.
func (p *planner) grantScope(res *appRef, scope, path string) (string, bool) {
	values := strings.Fields(scope)
	if len(values) == 0 {
		p.errorf(path, "is required: the space-separated delegated permissions granted")
		return "", false
	}
	var exposed, out []string
	for _, s := range res.a.API.OAuth2PermissionScopes {
		if s.IsEnabled {
			exposed = append(exposed, s.Value)
		}
	}
	ok := true
	for _, v := range values {
		switch {
		case !slices.Contains(exposed, v):
			p.errorf(path, "%q is not a delegated permission of %s (%s); it exposes: %s", v, res.a.AppID, res.a.DisplayName, strings.Join(exposed, ", "))
			ok = false
		case !slices.Contains(out, v):
			out = append(out, v)
		}
	}
	return strings.Join(out, " "), ok
}

// sameScopes compares space-separated scope lists as sets.
func sameScopes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
