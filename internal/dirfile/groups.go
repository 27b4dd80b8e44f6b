package dirfile

import (
	"context"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

// Planning groups: identities first, then members, written nested-first.

func (p *planner) planGroups() error {
	for _, tp := range p.tenants {
		// First every group's identity, so members can name groups declared later.
		for j := range tp.src.Groups {
			src := &tp.src.Groups[j]
			path := indexPath(joinPath(tp.path, "groups"), j)
			name := strings.TrimSpace(src.DisplayName)
			if name == "" {
				p.errorf(joinPath(path, "displayName"), "is required")
				continue
			}
			if prev, dup := tp.groups[lower(name)]; dup {
				p.errorf(joinPath(path, "displayName"), "%q is already declared at %s (group names are unique in a tenant)", name, prev.path)
				continue
			}
			old, exists, err := p.findGroup(tp, lower(src.ID), name, path)
			if err != nil {
				return err
			}
			g := old
			if !exists {
				g = directory.NewGroup(tp.t.ID, name, p.now)
				if src.ID != "" {
					g.ID = lower(src.ID)
				}
			}
			g.DisplayName = name
			if p.has(joinPath(path, "description")) {
				g.Description = src.Description
			}
			if p.has(joinPath(path, "securityEnabled")) {
				g.SecurityEnabled = src.SecurityEnabled
			}
			if p.has(joinPath(path, "mailEnabled")) {
				g.MailEnabled = src.MailEnabled
			}
			tp.groups[lower(name)] = &groupRef{g: g, old: old, path: path, src: src, exists: exists}
		}
		// Then members, by UPN or group name.
		var declared []*groupRef
		byID := map[string]*groupRef{}
		for j := range tp.src.Groups {
			r := tp.groups[lower(strings.TrimSpace(tp.src.Groups[j].DisplayName))]
			if r == nil || r.src != &tp.src.Groups[j] {
				continue // reported above
			}
			declared = append(declared, r)
			byID[r.g.ID] = r
			if !p.has(joinPath(r.path, "members")) {
				continue
			}
			r.g.Members = []store.DirectoryObjectRef{}
			for k, ref := range r.src.Members {
				m, ok, err := p.member(tp, ref)
				if err != nil {
					return err
				}
				if !ok {
					p.errorf(indexPath(joinPath(r.path, "members"), k), "%q is neither a user (UPN) nor a group (name) of tenant %q", ref, tp.t.DisplayName)
					continue
				}
				r.g.Members = append(r.g.Members, m)
			}
		}
		// Write nested groups before the groups that contain them.
		state := map[*groupRef]int{} // 1 visiting, 2 done
		var visit func(r *groupRef)
		visit = func(r *groupRef) {
			if state[r] == 2 {
				return
			}
			if state[r] == 1 {
				p.errorf(joinPath(r.path, "members"), "group %q contains itself through nested groups", r.g.DisplayName)
				return
			}
			state[r] = 1
			for _, m := range r.g.Members {
				if nested := byID[m.ID]; nested != nil && m.Type == store.MemberTypeGroup {
					visit(nested)
				}
			}
			state[r] = 2
			directory.NormalizeGroup(&r.g)
			p.validate(r.path, directory.ValidateGroup(r.g))
			g := r.g
			p.add(phGroups, Change{Kind: "group", TenantID: tp.t.ID, Name: g.DisplayName}, r.exists, r.old, g,
				func(ctx context.Context, tx store.Directory) error { return tx.CreateGroup(ctx, g) },
				func(ctx context.Context, tx store.Directory) error {
					_, err := tx.UpdateGroup(ctx, g.TenantID, g.ID, func(store.Group) (store.Group, error) { return g, nil })
					return err
				})
		}
		for _, r := range declared {
			visit(r)
		}
	}
	return nil
}

func (p *planner) findGroup(tp *tenantPlan, id, name, path string) (store.Group, bool, error) {
	if !tp.exists {
		return store.Group{}, false, nil
	}
	if id != "" {
		g, ok, err := found(p.tx.GetGroup(p.ctx, tp.t.ID, id))
		if ok || err != nil {
			return g, ok, err
		}
	}
	g, ok, err := found(p.tx.GetGroupByName(p.ctx, tp.t.ID, name))
	if ok && id != "" && g.ID != id {
		p.errorf(joinPath(path, "id"), "group %q is stored with id %s; an object id cannot change", name, g.ID)
	}
	return g, ok, err
}

// member resolves a group member reference: a user's UPN (or a guest's home
// UPN), else a group's name.
func (p *planner) member(tp *tenantPlan, ref string) (store.DirectoryObjectRef, bool, error) {
	u, ok, err := p.userIn(tp, ref)
	if ok || err != nil {
		return store.DirectoryObjectRef{ID: u.ID, Type: store.MemberTypeUser}, ok, err
	}
	g, ok, err := p.groupIn(tp, ref)
	if !ok || err != nil {
		return store.DirectoryObjectRef{}, false, err
	}
	return store.DirectoryObjectRef{ID: g.g.ID, Type: store.MemberTypeGroup}, true, nil
}

// groupIn resolves a group name in tenant tp: declared in the file, or stored.
func (p *planner) groupIn(tp *tenantPlan, name string) (*groupRef, bool, error) {
	key := lower(name)
	if r, ok := tp.groups[key]; ok {
		return r, true, nil
	}
	if !tp.exists {
		return nil, false, nil
	}
	g, ok, err := found(p.tx.GetGroupByName(p.ctx, tp.t.ID, name))
	if !ok || err != nil {
		return nil, false, err
	}
	r := &groupRef{g: g, exists: true}
	tp.groups[key] = r
	return r, true, nil
}
