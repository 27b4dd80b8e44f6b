package dirfile

import (
	"context"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Planning tenants: matched by id, else by their first domain.

func (p *planner) planTenants() error {
	byID := map[string]string{}     // tenant id → path
	byDomain := map[string]string{} // domain → path of the tenant declaring it
	for i := range p.doc.Tenants {
		src := &p.doc.Tenants[i]
		path := indexPath("tenants", i)
		id := lower(src.ID)
		if id == "" && len(src.Domains) > 0 {
			// No id: the tenant is the one that owns its first domain, or new.
			t, _, err := found(p.tx.GetTenantByDomain(p.ctx, lower(src.Domains[0])))
			if err != nil {
				return err
			}
			id = t.ID // "" when none
		}
		if id == "" {
			id = ids.NewGUID()
		}
		if at, dup := byID[id]; dup {
			p.errorf(joinPath(path, "id"), "tenant %s is already declared at %s", id, at)
			continue
		}
		byID[id] = path
		var old store.Tenant
		exists := false
		if ids.IsGUID(id) {
			var err error
			if old, exists, err = found(p.tx.GetTenant(p.ctx, id)); err != nil {
				return err
			}
		}
		t := old
		if !exists {
			t = store.Tenant{ID: id, Type: store.TenantTypeAAD, CreatedDateTime: p.now}
		}
		if p.has(joinPath(path, "displayName")) {
			t.DisplayName = src.DisplayName
		}
		if p.has(joinPath(path, "type")) {
			t.Type = lower(src.Type)
		}
		if p.has(joinPath(path, "domains")) {
			t.Domains = make([]string, len(src.Domains))
			for j, d := range src.Domains {
				t.Domains[j] = lower(d)
			}
		}
		if t.Domains == nil {
			t.Domains = []string{}
		}
		if p.has(joinPath(path, "userFlows")) {
			t.UserFlows = p.planUserFlows(path, src.UserFlows)
		}
		p.validate(path, directory.ValidateTenant(t))
		for j, d := range t.Domains {
			dp := indexPath(joinPath(path, "domains"), j)
			if at, dup := byDomain[d]; dup && at != path {
				p.errorf(dp, "%q is already a domain of the tenant at %s", d, at)
			}
			byDomain[d] = path
			other, ok, err := found(p.tx.GetTenantByDomain(p.ctx, d))
			if err != nil {
				return err
			}
			if ok && other.ID != id {
				p.errorf(dp, "%q is already a domain of tenant %q (%s)", d, other.DisplayName, other.ID)
			}
		}
		if exists {
			if err := p.checkRemovedDomains(path, old, t); err != nil {
				return err
			}
		}
		tp := &tenantPlan{path: path, src: src, t: t, exists: exists, groups: map[string]*groupRef{}, guests: map[string]string{},
			sps:      map[string]*store.ServicePrincipal{},
			assigned: map[string][]store.AppRoleAssignment{}, grants: map[string][]store.OAuth2PermissionGrant{}}
		p.tenants = append(p.tenants, tp)
		p.add(phTenants, Change{Kind: "tenant", TenantID: id, Name: t.DisplayName}, exists, old, t,
			func(ctx context.Context, tx store.Directory) error { return tx.CreateTenant(ctx, t) },
			func(ctx context.Context, tx store.Directory) error {
				_, err := tx.UpdateTenant(ctx, id, func(store.Tenant) (store.Tenant, error) { return t, nil })
				return err
			})
	}
	return nil
}

// checkRemovedDomains refuses to drop a domain that stored users still use.
func (p *planner) checkRemovedDomains(path string, old, t store.Tenant) error {
	var removed []string
	for _, d := range old.Domains {
		if !directory.HasDomain(t, d) {
			removed = append(removed, d)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	users, err := p.tx.ListUsers(p.ctx, t.ID)
	if err != nil {
		return err
	}
	for _, u := range users {
		_, domain, _ := directory.SplitUPN(u.UserPrincipalName)
		for _, d := range removed {
			if strings.EqualFold(domain, d) {
				p.errorf(joinPath(path, "domains"), "domain %q cannot be removed: user %q uses it", d, u.UserPrincipalName)
			}
		}
	}
	return nil
}
