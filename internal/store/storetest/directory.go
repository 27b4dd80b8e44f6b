package storetest

import (
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

func testTenants(t *testing.T, s store.Store) {
	c := ctx(t)
	// Empty lists are empty, not nil, so that they encode as [] in JSON.
	if l := must(s.ListTenants(c))(t); l == nil || len(l) != 0 {
		t.Fatalf("ListTenants of an empty store = %#v, want []", l)
	}
	if l := must(s.ListUsers(c, ids.NewGUID()))(t); l == nil || len(l) != 0 {
		t.Fatalf("ListUsers of an unknown tenant = %#v, want []", l)
	}
	a := newTenant("contoso.example")
	requireFull(t, a)
	ok(t, s.CreateTenant(c, a))
	same(t, must(s.GetTenant(c, a.ID))(t), a)
	same(t, must(s.GetTenantByDomain(c, "CONTOSO.Example"))(t), a)
	same(t, must(s.GetTenantByDomain(c, "alt.contoso.example"))(t), a)

	dupID := newTenant("other.example")
	dupID.ID = a.ID
	isErr(t, s.CreateTenant(c, dupID), store.ErrAlreadyExists)
	_, err := s.GetTenantByDomain(c, "other.example")
	isErr(t, err, store.ErrNotFound)

	// A domain is unique across tenants, case-insensitively; the failed
	// create leaves nothing behind.
	b := newTenant("fabrikam.example")
	b.Domains = append(b.Domains, "Contoso.EXAMPLE")
	isErr(t, s.CreateTenant(c, b), store.ErrAlreadyExists)
	_, err = s.GetTenant(c, b.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetTenantByDomain(c, "fabrikam.example")
	isErr(t, err, store.ErrNotFound)
	b = tenantFixture(t, s, "fabrikam.example")

	sameSet(t, must(s.ListTenants(c))(t), []store.Tenant{a, b}, func(t store.Tenant) string { return t.ID })

	_, err = s.GetTenant(c, ids.NewGUID())
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetTenantByDomain(c, "nowhere.example")
	isErr(t, err, store.ErrNotFound)

	// Update keeps the domains in sync.
	want := a
	want.DisplayName = "Contoso Ltd"
	want.Domains = []string{"new.contoso.example"}
	got, err := s.UpdateTenant(c, a.ID, func(old store.Tenant) (store.Tenant, error) {
		same(t, old, a)
		old.DisplayName = want.DisplayName
		old.Domains = want.Domains
		return old, nil
	})
	ok(t, err)
	same(t, got, want)
	same(t, must(s.GetTenant(c, a.ID))(t), want)
	same(t, must(s.GetTenantByDomain(c, "NEW.contoso.example"))(t), want)
	_, err = s.GetTenantByDomain(c, "contoso.example")
	isErr(t, err, store.ErrNotFound)

	// Refused updates change nothing.
	_, err = s.UpdateTenant(c, a.ID, func(old store.Tenant) (store.Tenant, error) {
		old.DisplayName = "stolen"
		old.Domains = append(old.Domains, "ALT.fabrikam.example")
		return old, nil
	})
	isErr(t, err, store.ErrAlreadyExists)
	_, err = s.UpdateTenant(c, a.ID, func(old store.Tenant) (store.Tenant, error) {
		old.DisplayName = "failed"
		return old, errBoom
	})
	isErr(t, err, errBoom)
	_, err = s.UpdateTenant(c, a.ID, func(old store.Tenant) (store.Tenant, error) {
		old.ID = ids.NewGUID()
		return old, nil
	})
	failed(t, err)
	same(t, must(s.GetTenant(c, a.ID))(t), want)
	same(t, must(s.GetTenantByDomain(c, "new.contoso.example"))(t), want)
	same(t, must(s.GetTenantByDomain(c, "alt.fabrikam.example"))(t), b)

	_, err = s.UpdateTenant(c, ids.NewGUID(), func(old store.Tenant) (store.Tenant, error) { return old, nil })
	isErr(t, err, store.ErrNotFound)

	ok(t, s.DeleteTenant(c, b.ID))
	_, err = s.GetTenant(c, b.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetTenantByDomain(c, "fabrikam.example")
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteTenant(c, b.ID), store.ErrNotFound)
	// Its domains are free again.
	ok(t, s.CreateTenant(c, newTenant("fabrikam.example")))
}

func testTenantDeleteCascade(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")

	u := userFixture(t, s, a.ID, "u@a.example")
	g := newGroup(a.ID, "Engineering", store.DirectoryObjectRef{ID: u.ID, Type: store.MemberTypeUser})
	ok(t, s.CreateGroup(c, g))
	ok(t, s.CreateDirectoryRoleAssignment(c, newDirectoryRoleAssignment(a.ID, u.ID, ids.NewGUID())))
	appA := appFixture(t, s, a.ID) // homed in a, used in a and b
	appB := appFixture(t, s, b.ID) // homed in b, used in a and b
	spAA := spFixture(t, s, a.ID, appA)
	spAB := spFixture(t, s, b.ID, appA)
	spBA := spFixture(t, s, a.ID, appB)
	spBB := spFixture(t, s, b.ID, appB)
	ok(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(a.ID, u.ID, spBA.ID, ids.NewGUID())))
	ok(t, s.CreateOAuth2PermissionGrant(c, newGrant(a.ID, spAA.ID, spBA.ID, u.ID)))
	// In b, what refers to a's application goes with it; the rest stays.
	bUser := userFixture(t, s, b.ID, "u@b.example")
	ok(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(b.ID, bUser.ID, spAB.ID, ids.NewGUID())))
	keepARA := newAppRoleAssignment(b.ID, bUser.ID, spBB.ID, ids.NewGUID())
	ok(t, s.CreateAppRoleAssignment(c, keepARA))
	ok(t, s.CreateOAuth2PermissionGrant(c, newGrant(b.ID, spAB.ID, spBB.ID, bUser.ID)))
	keepGrant := newGrant(b.ID, spBB.ID, spBB.ID, bUser.ID)
	ok(t, s.CreateOAuth2PermissionGrant(c, keepGrant))
	for _, app := range []string{"", appA.AppID} {
		_, err := s.UpsertKeySet(c, a.ID, app, func(k store.KeySet) (store.KeySet, error) { return newKeySet(a.ID, app), nil })
		ok(t, err)
	}
	bKeys, err := s.UpsertKeySet(c, b.ID, "", func(k store.KeySet) (store.KeySet, error) { return newKeySet(b.ID, ""), nil })
	ok(t, err)

	ok(t, s.DeleteTenant(c, a.ID))

	_, err = s.GetTenant(c, a.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetTenantByDomain(c, "a.example")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUserByUPN(c, a.ID, u.UserPrincipalName)
	isErr(t, err, store.ErrNotFound)
	empty := func(n int, err error) {
		t.Helper()
		ok(t, err)
		if n != 0 {
			t.Fatalf("%d objects of the deleted tenant remain", n)
		}
	}
	empty(lenOf(s.ListUsers(c, a.ID)))
	empty(lenOf(s.ListGroups(c, a.ID)))
	empty(lenOf(s.ListDirectoryRoleAssignments(c, a.ID)))
	empty(lenOf(s.ListApplications(c, a.ID)))
	empty(lenOf(s.ListServicePrincipals(c, a.ID)))
	empty(lenOf(s.ListAppRoleAssignments(c, a.ID)))
	empty(lenOf(s.ListOAuth2PermissionGrants(c, a.ID)))
	_, err = s.GetApplicationByAppID(c, appA.AppID)
	isErr(t, err, store.ErrNotFound)
	for _, app := range []string{"", appA.AppID} {
		_, err = s.GetKeySet(c, a.ID, app)
		isErr(t, err, store.ErrNotFound)
	}
	same(t, must(s.ListKeySets(c))(t), []store.KeySet{bKeys})

	// Tenant b lost a's application and what referred to it, nothing else.
	same(t, must(s.GetTenant(c, b.ID))(t), b)
	same(t, must(s.GetApplicationByAppID(c, appB.AppID))(t), appB)
	same(t, must(s.ListServicePrincipals(c, b.ID))(t), []store.ServicePrincipal{spBB})
	same(t, must(s.ListAppRoleAssignments(c, b.ID))(t), []store.AppRoleAssignment{keepARA})
	same(t, must(s.ListOAuth2PermissionGrants(c, b.ID))(t), []store.OAuth2PermissionGrant{keepGrant})
	same(t, must(s.ListUsers(c, b.ID))(t), []store.User{bUser})
}

func lenOf[T any](v []T, err error) (int, error) { return len(v), err }

func testUsers(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")

	u := newUser(a.ID, "Abe@A.example")
	requireFull(t, u)
	ok(t, s.CreateUser(c, u))
	same(t, must(s.GetUser(c, a.ID, u.ID))(t), u)
	same(t, must(s.GetUserByUPN(c, a.ID, "abe@a.EXAMPLE"))(t), u)
	// Another tenant does not see it.
	_, err := s.GetUser(c, b.ID, u.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUserByUPN(c, b.ID, u.UserPrincipalName)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUser(c, a.ID, ids.NewGUID())
	isErr(t, err, store.ErrNotFound)

	// The UPN is unique across tenants, case-insensitively; so is the ID.
	isErr(t, s.CreateUser(c, newUser(b.ID, "ABE@a.example")), store.ErrAlreadyExists)
	dupID := newUser(a.ID, "other@a.example")
	dupID.ID = u.ID
	isErr(t, s.CreateUser(c, dupID), store.ErrAlreadyExists)
	// A user needs its tenant.
	isErr(t, s.CreateUser(c, newUser(ids.NewGUID(), "orphan@a.example")), store.ErrNotFound)

	// Guests point at their home user.
	home := newUser(a.ID, "home@a.example")
	home.UserType, home.HomeTenantID, home.HomeUserID = store.UserTypeMember, "", ""
	ok(t, s.CreateUser(c, home))
	guest := newUser(b.ID, "home_a.example#EXT#@b.example")
	guest.HomeTenantID, guest.HomeUserID = a.ID, home.ID
	ok(t, s.CreateUser(c, guest))
	same(t, must(s.ListGuestsOf(c, home.ID))(t), []store.User{guest})
	if n, err := lenOf(s.ListGuestsOf(c, "")); err != nil || n != 0 {
		t.Fatalf("ListGuestsOf(\"\") = %d users, %v; want none", n, err)
	}
	sameSet(t, must(s.ListUsers(c, a.ID))(t), []store.User{u, home}, userID)
	sameSet(t, must(s.ListUsers(c, b.ID))(t), []store.User{guest}, userID)

	// Renaming moves the UPN.
	want := u
	want.UserPrincipalName = "Lincoln@a.example"
	want.AccountEnabled = false
	got, err := s.UpdateUser(c, a.ID, u.ID, func(old store.User) (store.User, error) {
		same(t, old, u)
		old.UserPrincipalName = want.UserPrincipalName
		old.AccountEnabled = false
		return old, nil
	})
	ok(t, err)
	same(t, got, want)
	same(t, must(s.GetUserByUPN(c, a.ID, "lincoln@a.example"))(t), want)
	_, err = s.GetUserByUPN(c, a.ID, u.UserPrincipalName)
	isErr(t, err, store.ErrNotFound)

	// Refused updates change nothing.
	_, err = s.UpdateUser(c, a.ID, u.ID, func(old store.User) (store.User, error) {
		old.UserPrincipalName = "HOME@a.example"
		return old, nil
	})
	isErr(t, err, store.ErrAlreadyExists)
	_, err = s.UpdateUser(c, a.ID, u.ID, func(old store.User) (store.User, error) {
		old.DisplayName = "x"
		return old, errBoom
	})
	isErr(t, err, errBoom)
	for _, change := range []func(*store.User){
		func(u *store.User) { u.ID = ids.NewGUID() },
		func(u *store.User) { u.TenantID = b.ID },
	} {
		_, err = s.UpdateUser(c, a.ID, u.ID, func(old store.User) (store.User, error) { change(&old); return old, nil })
		failed(t, err)
	}
	same(t, must(s.GetUser(c, a.ID, u.ID))(t), want)
	_, err = s.UpdateUser(c, b.ID, u.ID, func(old store.User) (store.User, error) { return old, nil })
	isErr(t, err, store.ErrNotFound)

	// The old UPN is free again.
	ok(t, s.CreateUser(c, newUser(a.ID, u.UserPrincipalName)))

	isErr(t, s.DeleteUser(c, b.ID, u.ID), store.ErrNotFound)
	ok(t, s.DeleteUser(c, a.ID, u.ID))
	_, err = s.GetUser(c, a.ID, u.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteUser(c, a.ID, u.ID), store.ErrNotFound)
}

func testGroups(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")

	g := newGroup(a.ID, "Engineering")
	requireFull(t, g)
	ok(t, s.CreateGroup(c, g))
	same(t, must(s.GetGroup(c, a.ID, g.ID))(t), g)
	same(t, must(s.GetGroupByName(c, a.ID, "ENGINEERING"))(t), g)
	_, err := s.GetGroup(c, b.ID, g.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetGroupByName(c, b.ID, "Engineering")
	isErr(t, err, store.ErrNotFound)

	// displayName is unique within a tenant, case-insensitively.
	isErr(t, s.CreateGroup(c, newGroup(a.ID, "engineering")), store.ErrAlreadyExists)
	gb := newGroup(b.ID, "Engineering")
	ok(t, s.CreateGroup(c, gb))
	isErr(t, s.CreateGroup(c, newGroup(ids.NewGUID(), "Orphans")), store.ErrNotFound)
	nested := newGroup(a.ID, "Nested", store.DirectoryObjectRef{ID: g.ID, Type: store.MemberTypeGroup})
	ok(t, s.CreateGroup(c, nested))
	empty := newGroup(a.ID, "Empty")
	empty.Members = nil
	ok(t, s.CreateGroup(c, empty))
	same(t, must(s.GetGroup(c, a.ID, empty.ID))(t), empty)
	sameSet(t, must(s.ListGroups(c, a.ID))(t), []store.Group{g, nested, empty}, groupID)
	same(t, must(s.ListGroups(c, b.ID))(t), []store.Group{gb})

	want := g
	want.DisplayName = "Platform"
	want.Members = append(want.Members, store.DirectoryObjectRef{ID: ids.NewGUID(), Type: store.MemberTypeUser})
	got, err := s.UpdateGroup(c, a.ID, g.ID, func(old store.Group) (store.Group, error) {
		old.DisplayName = want.DisplayName
		old.Members = want.Members
		return old, nil
	})
	ok(t, err)
	same(t, got, want)
	same(t, must(s.GetGroupByName(c, a.ID, "platform"))(t), want)
	_, err = s.GetGroupByName(c, a.ID, "Engineering")
	isErr(t, err, store.ErrNotFound)

	_, err = s.UpdateGroup(c, a.ID, g.ID, func(old store.Group) (store.Group, error) {
		old.DisplayName = "NESTED"
		return old, nil
	})
	isErr(t, err, store.ErrAlreadyExists)
	_, err = s.UpdateGroup(c, a.ID, g.ID, func(old store.Group) (store.Group, error) { return old, errBoom })
	isErr(t, err, errBoom)
	_, err = s.UpdateGroup(c, a.ID, g.ID, func(old store.Group) (store.Group, error) { old.TenantID = b.ID; return old, nil })
	failed(t, err)
	same(t, must(s.GetGroup(c, a.ID, g.ID))(t), want)
	_, err = s.UpdateGroup(c, b.ID, g.ID, func(old store.Group) (store.Group, error) { return old, nil })
	isErr(t, err, store.ErrNotFound)

	isErr(t, s.DeleteGroup(c, b.ID, g.ID), store.ErrNotFound)
	ok(t, s.DeleteGroup(c, a.ID, empty.ID))
	_, err = s.GetGroup(c, a.ID, empty.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteGroup(c, a.ID, empty.ID), store.ErrNotFound)
}

// testDeleteUserAndGroupCleanup checks that deleting a user or group removes
// what refers to it: memberships, app role assignments, grants, directory roles.
func testDeleteUserAndGroupCleanup(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	u := userFixture(t, s, a.ID, "u@a.example")
	v := userFixture(t, s, a.ID, "v@a.example")
	ref := func(id, typ string) store.DirectoryObjectRef { return store.DirectoryObjectRef{ID: id, Type: typ} }
	inner := newGroup(a.ID, "Inner", ref(u.ID, store.MemberTypeUser))
	ok(t, s.CreateGroup(c, inner))
	outer := newGroup(a.ID, "Outer", ref(u.ID, store.MemberTypeUser), ref(inner.ID, store.MemberTypeGroup), ref(v.ID, store.MemberTypeUser))
	ok(t, s.CreateGroup(c, outer))
	app := appFixture(t, s, a.ID)
	sp := spFixture(t, s, a.ID, app)
	role := app.AppRoles[0].ID

	araU := newAppRoleAssignment(a.ID, u.ID, sp.ID, role)
	araV := newAppRoleAssignment(a.ID, v.ID, sp.ID, role)
	araInner := newAppRoleAssignment(a.ID, inner.ID, sp.ID, role)
	araInner.PrincipalType = store.PrincipalTypeGroup
	for _, x := range []store.AppRoleAssignment{araU, araV, araInner} {
		ok(t, s.CreateAppRoleAssignment(c, x))
	}
	grantU := newGrant(a.ID, sp.ID, sp.ID, u.ID)
	grantV := newGrant(a.ID, sp.ID, sp.ID, v.ID)
	grantAll := newGrant(a.ID, sp.ID, sp.ID, "")
	grantAll.ConsentType = store.ConsentAllPrincipals
	for _, x := range []store.OAuth2PermissionGrant{grantU, grantV, grantAll} {
		ok(t, s.CreateOAuth2PermissionGrant(c, x))
	}
	draU := newDirectoryRoleAssignment(a.ID, u.ID, ids.NewGUID())
	draV := newDirectoryRoleAssignment(a.ID, v.ID, ids.NewGUID())
	draInner := newDirectoryRoleAssignment(a.ID, inner.ID, ids.NewGUID())
	for _, x := range []store.DirectoryRoleAssignment{draU, draV, draInner} {
		ok(t, s.CreateDirectoryRoleAssignment(c, x))
	}

	ok(t, s.DeleteUser(c, a.ID, u.ID))
	same(t, must(s.GetGroup(c, a.ID, outer.ID))(t).Members, []store.DirectoryObjectRef{ref(inner.ID, store.MemberTypeGroup), ref(v.ID, store.MemberTypeUser)})
	if m := must(s.GetGroup(c, a.ID, inner.ID))(t).Members; len(m) != 0 {
		t.Fatalf("inner group still has members %v", m)
	}
	sameSet(t, must(s.ListAppRoleAssignments(c, a.ID))(t), []store.AppRoleAssignment{araV, araInner}, appRoleAssignmentID)
	sameSet(t, must(s.ListOAuth2PermissionGrants(c, a.ID))(t), []store.OAuth2PermissionGrant{grantV, grantAll}, grantID)
	sameSet(t, must(s.ListDirectoryRoleAssignments(c, a.ID))(t), []store.DirectoryRoleAssignment{draV, draInner}, draID)

	ok(t, s.DeleteGroup(c, a.ID, inner.ID))
	same(t, must(s.GetGroup(c, a.ID, outer.ID))(t).Members, []store.DirectoryObjectRef{ref(v.ID, store.MemberTypeUser)})
	same(t, must(s.ListAppRoleAssignments(c, a.ID))(t), []store.AppRoleAssignment{araV})
	same(t, must(s.ListDirectoryRoleAssignments(c, a.ID))(t), []store.DirectoryRoleAssignment{draV})
	sameSet(t, must(s.ListOAuth2PermissionGrants(c, a.ID))(t), []store.OAuth2PermissionGrant{grantV, grantAll}, grantID)
}

func testDirectoryRoleAssignments(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	u := userFixture(t, s, a.ID, "u@a.example")
	role := "62e90394-69f5-4237-9190-012177145e10" // Global Administrator

	x := newDirectoryRoleAssignment(a.ID, u.ID, role)
	requireFull(t, x)
	ok(t, s.CreateDirectoryRoleAssignment(c, x))
	same(t, must(s.ListDirectoryRoleAssignments(c, a.ID))(t), []store.DirectoryRoleAssignment{x})
	// One per (principal, role) in a tenant.
	isErr(t, s.CreateDirectoryRoleAssignment(c, newDirectoryRoleAssignment(a.ID, u.ID, role)), store.ErrAlreadyExists)
	dupID := newDirectoryRoleAssignment(a.ID, u.ID, ids.NewGUID())
	dupID.ID = x.ID
	isErr(t, s.CreateDirectoryRoleAssignment(c, dupID), store.ErrAlreadyExists)
	y := newDirectoryRoleAssignment(a.ID, u.ID, ids.NewGUID())
	ok(t, s.CreateDirectoryRoleAssignment(c, y))
	z := newDirectoryRoleAssignment(b.ID, u.ID, role)
	ok(t, s.CreateDirectoryRoleAssignment(c, z))
	isErr(t, s.CreateDirectoryRoleAssignment(c, newDirectoryRoleAssignment(ids.NewGUID(), u.ID, role)), store.ErrNotFound)
	sameSet(t, must(s.ListDirectoryRoleAssignments(c, a.ID))(t), []store.DirectoryRoleAssignment{x, y}, draID)

	isErr(t, s.DeleteDirectoryRoleAssignment(c, b.ID, x.ID), store.ErrNotFound)
	ok(t, s.DeleteDirectoryRoleAssignment(c, a.ID, x.ID))
	isErr(t, s.DeleteDirectoryRoleAssignment(c, a.ID, x.ID), store.ErrNotFound)
	same(t, must(s.ListDirectoryRoleAssignments(c, a.ID))(t), []store.DirectoryRoleAssignment{y})
	same(t, must(s.ListDirectoryRoleAssignments(c, b.ID))(t), []store.DirectoryRoleAssignment{z})
}

func testApplications(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")

	app := newApplication(a.ID)
	app.AppID = strings.ToUpper(app.AppID) // stored as given, found in any case
	requireFull(t, app)
	ok(t, s.CreateApplication(c, app))
	same(t, must(s.GetApplicationByAppID(c, strings.ToLower(app.AppID)))(t), app)
	_, err := s.GetApplicationByAppID(c, ids.NewGUID())
	isErr(t, err, store.ErrNotFound)

	// appId is unique across tenants, case-insensitively.
	dup := newApplication(b.ID)
	dup.AppID = strings.ToLower(app.AppID)
	isErr(t, s.CreateApplication(c, dup), store.ErrAlreadyExists)
	dupID := newApplication(b.ID)
	dupID.ID = app.ID
	isErr(t, s.CreateApplication(c, dupID), store.ErrAlreadyExists)
	isErr(t, s.CreateApplication(c, newApplication(ids.NewGUID())), store.ErrNotFound)
	other := appFixture(t, s, a.ID)
	inB := appFixture(t, s, b.ID)
	sameSet(t, must(s.ListApplications(c, a.ID))(t), []store.Application{app, other}, func(a store.Application) string { return a.ID })
	same(t, must(s.ListApplications(c, b.ID))(t), []store.Application{inB})

	want := app
	want.DisplayName = "Tasks v2"
	want.Web.RedirectURIs = append(want.Web.RedirectURIs, "https://app.example/cb2")
	want.PasswordCredentials = nil
	got, err := s.UpdateApplication(c, strings.ToLower(app.AppID), func(old store.Application) (store.Application, error) {
		same(t, old, app)
		return want, nil
	})
	ok(t, err)
	same(t, got, want)
	same(t, must(s.GetApplicationByAppID(c, app.AppID))(t), want)

	_, err = s.UpdateApplication(c, app.AppID, func(old store.Application) (store.Application, error) { return old, errBoom })
	isErr(t, err, errBoom)
	for _, change := range []func(*store.Application){
		func(a *store.Application) { a.AppID = ids.NewGUID() },
		func(a *store.Application) { a.ID = ids.NewGUID() },
		func(a *store.Application) { a.TenantID = b.ID },
	} {
		_, err = s.UpdateApplication(c, app.AppID, func(old store.Application) (store.Application, error) { change(&old); return old, nil })
		failed(t, err)
	}
	same(t, must(s.GetApplicationByAppID(c, app.AppID))(t), want)
	_, err = s.UpdateApplication(c, ids.NewGUID(), func(old store.Application) (store.Application, error) { return old, nil })
	isErr(t, err, store.ErrNotFound)

	ok(t, s.DeleteApplication(c, strings.ToLower(app.AppID)))
	_, err = s.GetApplicationByAppID(c, app.AppID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteApplication(c, app.AppID), store.ErrNotFound)
	// Its appId is free again.
	ok(t, s.CreateApplication(c, dup))
}

// testApplicationDeleteCascade: deleting an application deletes its service
// principals in every tenant, what refers to them, and its key sets.
func testApplicationDeleteCascade(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	app := appFixture(t, s, a.ID)
	keep := appFixture(t, s, a.ID)
	spA, spB := spFixture(t, s, a.ID, app), spFixture(t, s, b.ID, app)
	keepA, keepB := spFixture(t, s, a.ID, keep), spFixture(t, s, b.ID, keep)
	uA, uB := userFixture(t, s, a.ID, "u@a.example"), userFixture(t, s, b.ID, "u@b.example")
	role := ids.NewGUID()

	// spA as resource and as principal; spB as resource.
	ok(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(a.ID, uA.ID, spA.ID, role)))
	asPrincipal := newAppRoleAssignment(a.ID, spA.ID, keepA.ID, role)
	asPrincipal.PrincipalType = store.PrincipalTypeServicePrincipal
	ok(t, s.CreateAppRoleAssignment(c, asPrincipal))
	ok(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(b.ID, uB.ID, spB.ID, role)))
	keptARA := newAppRoleAssignment(a.ID, uA.ID, keepA.ID, role)
	ok(t, s.CreateAppRoleAssignment(c, keptARA))
	// spA as client, spB as resource.
	ok(t, s.CreateOAuth2PermissionGrant(c, newGrant(a.ID, spA.ID, keepA.ID, uA.ID)))
	ok(t, s.CreateOAuth2PermissionGrant(c, newGrant(b.ID, keepB.ID, spB.ID, uB.ID)))
	keptGrant := newGrant(b.ID, keepB.ID, keepB.ID, uB.ID)
	ok(t, s.CreateOAuth2PermissionGrant(c, keptGrant))
	for _, appID := range []string{app.AppID, keep.AppID} {
		_, err := s.UpsertKeySet(c, a.ID, appID, func(k store.KeySet) (store.KeySet, error) { return newKeySet(a.ID, appID), nil })
		ok(t, err)
	}

	ok(t, s.DeleteApplication(c, app.AppID))

	for _, sp := range []store.ServicePrincipal{spA, spB} {
		_, err := s.GetServicePrincipal(c, sp.TenantID, sp.ID)
		isErr(t, err, store.ErrNotFound)
	}
	same(t, must(s.ListServicePrincipals(c, a.ID))(t), []store.ServicePrincipal{keepA})
	same(t, must(s.ListServicePrincipals(c, b.ID))(t), []store.ServicePrincipal{keepB})
	same(t, must(s.ListAppRoleAssignments(c, a.ID))(t), []store.AppRoleAssignment{keptARA})
	if n, err := lenOf(s.ListAppRoleAssignments(c, b.ID)); err != nil || n != 0 {
		t.Fatalf("tenant b has %d app role assignments (%v), want none", n, err)
	}
	if n, err := lenOf(s.ListOAuth2PermissionGrants(c, a.ID)); err != nil || n != 0 {
		t.Fatalf("tenant a has %d grants (%v), want none", n, err)
	}
	same(t, must(s.ListOAuth2PermissionGrants(c, b.ID))(t), []store.OAuth2PermissionGrant{keptGrant})
	_, err := s.GetKeySet(c, a.ID, app.AppID)
	isErr(t, err, store.ErrNotFound)
	_ = must(s.GetKeySet(c, a.ID, keep.AppID))(t)
	same(t, must(s.GetApplicationByAppID(c, keep.AppID))(t), keep)
}

func testServicePrincipals(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	app := appFixture(t, s, a.ID)

	sp := newServicePrincipal(a.ID, app)
	requireFull(t, sp)
	ok(t, s.CreateServicePrincipal(c, sp))
	same(t, must(s.GetServicePrincipal(c, a.ID, sp.ID))(t), sp)
	same(t, must(s.GetServicePrincipalByAppID(c, a.ID, strings.ToUpper(app.AppID)))(t), sp)
	_, err := s.GetServicePrincipal(c, b.ID, sp.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetServicePrincipalByAppID(c, b.ID, app.AppID)
	isErr(t, err, store.ErrNotFound)

	// One per (tenant, appId).
	dup := newServicePrincipal(a.ID, app)
	dup.AppID = strings.ToUpper(app.AppID)
	isErr(t, s.CreateServicePrincipal(c, dup), store.ErrAlreadyExists)
	dupID := newServicePrincipal(b.ID, app)
	dupID.ID = sp.ID
	isErr(t, s.CreateServicePrincipal(c, dupID), store.ErrAlreadyExists)
	isErr(t, s.CreateServicePrincipal(c, newServicePrincipal(ids.NewGUID(), app)), store.ErrNotFound)
	spB := spFixture(t, s, b.ID, app)
	// The application may be registered elsewhere (Microsoft Graph, say).
	graph := newServicePrincipal(a.ID, store.Application{AppID: "00000003-0000-0000-c000-000000000000", TenantID: ids.NewGUID(), DisplayName: "Microsoft Graph"})
	ok(t, s.CreateServicePrincipal(c, graph))
	sameSet(t, must(s.ListServicePrincipals(c, a.ID))(t), []store.ServicePrincipal{sp, graph}, spID)
	same(t, must(s.ListServicePrincipals(c, b.ID))(t), []store.ServicePrincipal{spB})

	want := sp
	want.AppRoleAssignmentRequired = false
	want.AppDisplayName = "renamed"
	got, err := s.UpdateServicePrincipal(c, a.ID, sp.ID, func(old store.ServicePrincipal) (store.ServicePrincipal, error) {
		same(t, old, sp)
		return want, nil
	})
	ok(t, err)
	same(t, got, want)
	_, err = s.UpdateServicePrincipal(c, a.ID, sp.ID, func(old store.ServicePrincipal) (store.ServicePrincipal, error) { return old, errBoom })
	isErr(t, err, errBoom)
	_, err = s.UpdateServicePrincipal(c, a.ID, sp.ID, func(old store.ServicePrincipal) (store.ServicePrincipal, error) {
		old.AppID = graph.AppID
		return old, nil
	})
	failed(t, err)
	same(t, must(s.GetServicePrincipal(c, a.ID, sp.ID))(t), want)
	_, err = s.UpdateServicePrincipal(c, b.ID, sp.ID, func(old store.ServicePrincipal) (store.ServicePrincipal, error) { return old, nil })
	isErr(t, err, store.ErrNotFound)

	// Deleting it deletes what refers to it.
	u := userFixture(t, s, a.ID, "u@a.example")
	ok(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(a.ID, u.ID, sp.ID, ids.NewGUID())))
	ok(t, s.CreateOAuth2PermissionGrant(c, newGrant(a.ID, sp.ID, graph.ID, u.ID)))
	kept := newGrant(a.ID, graph.ID, graph.ID, u.ID)
	ok(t, s.CreateOAuth2PermissionGrant(c, kept))
	isErr(t, s.DeleteServicePrincipal(c, b.ID, sp.ID), store.ErrNotFound)
	ok(t, s.DeleteServicePrincipal(c, a.ID, sp.ID))
	_, err = s.GetServicePrincipal(c, a.ID, sp.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteServicePrincipal(c, a.ID, sp.ID), store.ErrNotFound)
	if n, err := lenOf(s.ListAppRoleAssignments(c, a.ID)); err != nil || n != 0 {
		t.Fatalf("%d app role assignments (%v), want none", n, err)
	}
	same(t, must(s.ListOAuth2PermissionGrants(c, a.ID))(t), []store.OAuth2PermissionGrant{kept})
	// The application and its other service principals stay.
	_ = must(s.GetApplicationByAppID(c, app.AppID))(t)
	same(t, must(s.GetServicePrincipal(c, b.ID, spB.ID))(t), spB)
}

func testAppRoleAssignments(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	app := appFixture(t, s, a.ID)
	sp := spFixture(t, s, a.ID, app)
	u := userFixture(t, s, a.ID, "u@a.example")
	v := userFixture(t, s, a.ID, "v@a.example")
	role := app.AppRoles[0].ID

	x := newAppRoleAssignment(a.ID, u.ID, sp.ID, role)
	requireFull(t, x)
	ok(t, s.CreateAppRoleAssignment(c, x))
	same(t, must(s.ListAppRoleAssignments(c, a.ID))(t), []store.AppRoleAssignment{x})
	// One per (principal, resource, appRoleId) in a tenant.
	isErr(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(a.ID, u.ID, sp.ID, role)), store.ErrAlreadyExists)
	dupID := newAppRoleAssignment(a.ID, v.ID, sp.ID, role)
	dupID.ID = x.ID
	isErr(t, s.CreateAppRoleAssignment(c, dupID), store.ErrAlreadyExists)
	isErr(t, s.CreateAppRoleAssignment(c, newAppRoleAssignment(ids.NewGUID(), u.ID, sp.ID, role)), store.ErrNotFound)
	otherRole := newAppRoleAssignment(a.ID, u.ID, sp.ID, ids.NewGUID())
	ok(t, s.CreateAppRoleAssignment(c, otherRole))
	forV := newAppRoleAssignment(a.ID, v.ID, sp.ID, role)
	ok(t, s.CreateAppRoleAssignment(c, forV))
	inB := newAppRoleAssignment(b.ID, u.ID, sp.ID, role)
	ok(t, s.CreateAppRoleAssignment(c, inB))

	sameSet(t, must(s.ListAppRoleAssignments(c, a.ID))(t), []store.AppRoleAssignment{x, otherRole, forV}, appRoleAssignmentID)
	sameSet(t, must(s.ListAppRoleAssignmentsOf(c, a.ID, u.ID))(t), []store.AppRoleAssignment{x, otherRole}, appRoleAssignmentID)
	same(t, must(s.ListAppRoleAssignmentsOf(c, b.ID, u.ID))(t), []store.AppRoleAssignment{inB})

	isErr(t, s.DeleteAppRoleAssignment(c, b.ID, x.ID), store.ErrNotFound)
	ok(t, s.DeleteAppRoleAssignment(c, a.ID, x.ID))
	isErr(t, s.DeleteAppRoleAssignment(c, a.ID, x.ID), store.ErrNotFound)
	same(t, must(s.ListAppRoleAssignmentsOf(c, a.ID, u.ID))(t), []store.AppRoleAssignment{otherRole})
}

func testGrants(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	client := spFixture(t, s, a.ID, appFixture(t, s, a.ID))
	api := spFixture(t, s, a.ID, appFixture(t, s, a.ID))
	u := userFixture(t, s, a.ID, "u@a.example")
	v := userFixture(t, s, a.ID, "v@a.example")

	g := newGrant(a.ID, client.ID, api.ID, u.ID)
	requireFull(t, g)
	ok(t, s.CreateOAuth2PermissionGrant(c, g))
	same(t, must(s.GetOAuth2PermissionGrant(c, a.ID, g.ID))(t), g)
	_, err := s.GetOAuth2PermissionGrant(c, b.ID, g.ID)
	isErr(t, err, store.ErrNotFound)

	// One per (client, resource, consentType, principal) in a tenant.
	isErr(t, s.CreateOAuth2PermissionGrant(c, newGrant(a.ID, client.ID, api.ID, u.ID)), store.ErrAlreadyExists)
	forV := newGrant(a.ID, client.ID, api.ID, v.ID)
	ok(t, s.CreateOAuth2PermissionGrant(c, forV))
	all := newGrant(a.ID, client.ID, api.ID, "")
	all.ConsentType = store.ConsentAllPrincipals
	ok(t, s.CreateOAuth2PermissionGrant(c, all))
	all2 := newGrant(a.ID, client.ID, api.ID, "")
	all2.ConsentType = store.ConsentAllPrincipals
	isErr(t, s.CreateOAuth2PermissionGrant(c, all2), store.ErrAlreadyExists)
	dupID := newGrant(a.ID, api.ID, client.ID, u.ID)
	dupID.ID = g.ID
	isErr(t, s.CreateOAuth2PermissionGrant(c, dupID), store.ErrAlreadyExists)
	isErr(t, s.CreateOAuth2PermissionGrant(c, newGrant(ids.NewGUID(), client.ID, api.ID, u.ID)), store.ErrNotFound)
	reverse := newGrant(a.ID, api.ID, client.ID, u.ID)
	ok(t, s.CreateOAuth2PermissionGrant(c, reverse))
	inB := newGrant(b.ID, client.ID, api.ID, u.ID)
	ok(t, s.CreateOAuth2PermissionGrant(c, inB))

	sameSet(t, must(s.ListOAuth2PermissionGrants(c, a.ID))(t), []store.OAuth2PermissionGrant{g, forV, all, reverse}, grantID)
	sameSet(t, must(s.ListOAuth2PermissionGrantsOf(c, a.ID, client.ID))(t), []store.OAuth2PermissionGrant{g, forV, all}, grantID)
	same(t, must(s.ListOAuth2PermissionGrantsOf(c, b.ID, client.ID))(t), []store.OAuth2PermissionGrant{inB})

	want := g
	want.Scope = "openid offline_access"
	got, err := s.UpdateOAuth2PermissionGrant(c, a.ID, g.ID, func(old store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error) {
		same(t, old, g)
		old.Scope = want.Scope
		return old, nil
	})
	ok(t, err)
	same(t, got, want)
	_, err = s.UpdateOAuth2PermissionGrant(c, a.ID, g.ID, func(old store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error) {
		old.PrincipalID = v.ID // would duplicate forV
		return old, nil
	})
	isErr(t, err, store.ErrAlreadyExists)
	_, err = s.UpdateOAuth2PermissionGrant(c, a.ID, g.ID, func(old store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error) {
		old.Scope = "x"
		return old, errBoom
	})
	isErr(t, err, errBoom)
	same(t, must(s.GetOAuth2PermissionGrant(c, a.ID, g.ID))(t), want)
	_, err = s.UpdateOAuth2PermissionGrant(c, b.ID, g.ID, func(old store.OAuth2PermissionGrant) (store.OAuth2PermissionGrant, error) { return old, nil })
	isErr(t, err, store.ErrNotFound)

	isErr(t, s.DeleteOAuth2PermissionGrant(c, b.ID, g.ID), store.ErrNotFound)
	ok(t, s.DeleteOAuth2PermissionGrant(c, a.ID, g.ID))
	_, err = s.GetOAuth2PermissionGrant(c, a.ID, g.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteOAuth2PermissionGrant(c, a.ID, g.ID), store.ErrNotFound)
}
