package dirfile

import (
	"context"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

// Planning users: members, then guests (who need their home users), and
// resolving UPN references.

func isGuest(u *User) bool { return strings.EqualFold(u.UserType, store.UserTypeGuest) }

func (p *planner) planUsers() error {
	// Members first, so that guests find their home users anywhere in the file.
	for _, guests := range []bool{false, true} {
		for _, tp := range p.tenants {
			for j := range tp.src.Users {
				src := &tp.src.Users[j]
				if isGuest(src) != guests {
					continue
				}
				path := indexPath(joinPath(tp.path, "users"), j)
				var err error
				if guests {
					err = p.planGuest(tp, src, path)
				} else {
					err = p.planMember(tp, src, path)
				}
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// findUser finds the stored user a file entry means: by id when given (the
// UPN may then change), else by UPN.
func (p *planner) findUser(tp *tenantPlan, id, upn, path string) (store.User, bool, error) {
	if !tp.exists {
		return store.User{}, false, nil
	}
	if id != "" {
		u, ok, err := found(p.tx.GetUser(p.ctx, tp.t.ID, id))
		if ok || err != nil {
			return u, ok, err
		}
	}
	u, ok, err := found(p.tx.GetUserByUPN(p.ctx, tp.t.ID, upn))
	if ok && id != "" && u.ID != id {
		p.errorf(joinPath(path, "id"), "userPrincipalName %q belongs to stored user %s; an object id cannot change", upn, u.ID)
	}
	return u, ok, err
}

func (p *planner) planMember(tp *tenantPlan, src *User, path string) error {
	upn := strings.TrimSpace(src.UserPrincipalName)
	if upn == "" && tp.t.Type == store.TenantTypeB2C && src.Mail != "" {
		// A B2C local account: it signs in with its mail, found by this UPN.
		upn = directory.LocalAccountUPN(tp.t, src.Mail)
	}
	if upn == "" {
		p.errorf(joinPath(path, "userPrincipalName"), "is required")
		return nil
	}
	if prev, dup := p.users[lower(upn)]; dup {
		p.errorf(joinPath(path, "userPrincipalName"), "%q is already declared at %s", upn, prev.path)
		return nil
	}
	old, exists, err := p.findUser(tp, lower(src.ID), upn, path)
	if err != nil {
		return err
	}
	u := old
	if !exists {
		u = directory.NewUser(tp.t.ID, upn, "", p.now)
		if src.ID != "" {
			u.ID = lower(src.ID)
		}
	}
	u.UserPrincipalName = upn
	p.patchUser(&u, src, path)
	if p.has(joinPath(path, "password")) {
		p.setPassword(&u, src.Password, joinPath(path, "password"))
	}
	p.validate(path, directory.ValidateUser(u, tp.t))
	p.users[lower(upn)] = &userRef{u: u, path: path}
	p.addUser(tp, old, u, exists)
	return nil
}

func (p *planner) planGuest(tp *tenantPlan, src *User, path string) error {
	if src.HomeUser == "" {
		p.errorf(joinPath(path, "homeUser"), "is required for a Guest: the UPN of the user in its home tenant")
		return nil
	}
	home, ok, err := p.userByUPN(src.HomeUser)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		p.errorf(joinPath(path, "homeUser"), "no user %q in this file or the store", src.HomeUser)
		return nil
	case home.UserType != store.UserTypeMember:
		p.errorf(joinPath(path, "homeUser"), "%q is a guest itself; the home user must be a Member", src.HomeUser)
		return nil
	case home.TenantID == tp.t.ID:
		p.errorf(joinPath(path, "homeUser"), "%q is a member of this tenant; a guest's home user is in another tenant", src.HomeUser)
		return nil
	}
	upn := strings.TrimSpace(src.UserPrincipalName)
	if upn == "" {
		upn = directory.GuestUPN(home.UserPrincipalName, directory.InitialDomain(tp.t))
	}
	if prev, dup := p.users[lower(upn)]; dup {
		p.errorf(path, "guest %q is already declared at %s", upn, prev.path)
		return nil
	}
	old, exists, err := p.findUser(tp, lower(src.ID), upn, path)
	if err != nil {
		return err
	}
	if !exists && tp.exists { // invited before under another UPN?
		guests, err := p.tx.ListGuestsOf(p.ctx, home.ID)
		if err != nil {
			return err
		}
		for _, g := range guests {
			if g.TenantID == tp.t.ID {
				old, exists = g, true
			}
		}
	}
	u := old
	if !exists {
		u = directory.NewGuest(tp.t, home, p.now)
		if src.ID != "" {
			u.ID = lower(src.ID)
		}
	}
	u.UserPrincipalName = upn
	u.HomeTenantID, u.HomeUserID = home.TenantID, home.ID
	p.patchUser(&u, src, path)
	u.UserType = store.UserTypeGuest
	if p.has(joinPath(path, "password")) {
		p.errorf(joinPath(path, "password"), "a Guest signs in at its home tenant and has no password here")
	}
	p.validate(path, directory.ValidateUser(u, tp.t))
	p.users[lower(upn)] = &userRef{u: u, path: path}
	tp.guests[lower(home.UserPrincipalName)] = lower(upn)
	p.addUser(tp, old, u, exists)
	return nil
}

// patchUser copies the properties the file gives.
func (p *planner) patchUser(u *store.User, src *User, path string) {
	set := func(name string, dst *string, v string) {
		if p.has(joinPath(path, name)) {
			*dst = v
		}
	}
	set("displayName", &u.DisplayName, src.DisplayName)
	set("givenName", &u.GivenName, src.GivenName)
	set("surname", &u.Surname, src.Surname)
	set("mail", &u.Mail, src.Mail)
	if p.has(joinPath(path, "accountEnabled")) {
		u.AccountEnabled = src.AccountEnabled
	}
	if p.has(joinPath(path, "userType")) {
		u.UserType = src.UserType
		if strings.EqualFold(src.UserType, store.UserTypeMember) {
			u.UserType = store.UserTypeMember
		}
	}
}

// setPassword keeps the stored hash when it already matches, so that a second
// apply changes nothing (and the password-changed time stays).
func (p *planner) setPassword(u *store.User, password, path string) {
	if u.PasswordHash != "" {
		if ok, err := secrets.VerifyPassword(u.PasswordHash, password); err == nil && ok {
			return
		}
	}
	if u.UserType == store.UserTypeGuest {
		return // reported by the validator
	}
	if err := directory.SetPassword(u, password, p.now); err != nil {
		p.errorf(path, "%v", err)
	}
}

func (p *planner) addUser(tp *tenantPlan, old, u store.User, exists bool) {
	p.add(phUsers, Change{Kind: "user", TenantID: tp.t.ID, Name: u.UserPrincipalName}, exists, old, u,
		func(ctx context.Context, tx store.Directory) error { return tx.CreateUser(ctx, u) },
		func(ctx context.Context, tx store.Directory) error {
			_, err := tx.UpdateUser(ctx, u.TenantID, u.ID, func(store.User) (store.User, error) { return u, nil })
			return err
		})
}

// userByUPN finds a user anywhere: declared in the file, or stored in the
// tenant that owns the UPN's domain.
func (p *planner) userByUPN(upn string) (store.User, bool, error) {
	key := lower(upn)
	if r, ok := p.users[key]; ok {
		return r.u, true, nil
	}
	if u, seen := p.storeUsers[key]; seen {
		return derefUser(u)
	}
	p.storeUsers[key] = nil
	_, domain, ok := directory.SplitUPN(key)
	if !ok {
		return store.User{}, false, nil
	}
	t, ok, err := found(p.tx.GetTenantByDomain(p.ctx, domain))
	if !ok || err != nil {
		return store.User{}, false, err
	}
	u, ok, err := found(p.tx.GetUserByUPN(p.ctx, t.ID, upn))
	if ok {
		p.storeUsers[key] = &u
	}
	return u, ok, err
}

func derefUser(u *store.User) (store.User, bool, error) {
	if u == nil {
		return store.User{}, false, nil
	}
	return *u, true, nil
}

// userIn resolves a reference to a user of tenant tp: its UPN there, or the
// home UPN of a guest invited into it.
func (p *planner) userIn(tp *tenantPlan, ref string) (store.User, bool, error) {
	key := lower(ref)
	if r, ok := p.users[key]; ok && r.u.TenantID == tp.t.ID {
		return r.u, true, nil
	}
	if g, ok := tp.guests[key]; ok {
		return p.users[g].u, true, nil
	}
	if !tp.exists {
		return store.User{}, false, nil
	}
	u, ok, err := found(p.tx.GetUserByUPN(p.ctx, tp.t.ID, ref))
	if ok || err != nil {
		return u, ok, err
	}
	home, ok, err := p.userByUPN(ref)
	if !ok || err != nil || home.TenantID == tp.t.ID {
		return store.User{}, false, err
	}
	guests, err := p.tx.ListGuestsOf(p.ctx, home.ID)
	if err != nil {
		return store.User{}, false, err
	}
	for _, g := range guests {
		if g.TenantID == tp.t.ID {
			return g, true, nil
		}
	}
	return store.User{}, false, nil
}
