package scopes

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// world is a directory on a real store: Contoso with a web app, a Tasks API
// and users; Fabrikam, home of a guest and of two APIs.
type world struct {
	st                      store.Store
	contoso, fabrikam       store.Tenant
	web, tasks, legacy      store.Application // Contoso's
	fabShared, fabLocal     store.Application // Fabrikam's: multi-tenant, single-tenant
	fabPublic               store.Application // Fabrikam's multi-tenant API with a service principal in Contoso
	alice, bob, guest, home store.User
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// onStores runs f on SQLite, and on PostgreSQL when ENTRANCE_TEST_POSTGRES is set.
func onStores(t *testing.T, f func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { f(t, storetest.NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, storetest.NewPostgres(t)) })
}

func newWorld(t *testing.T, stores ...store.Store) *world {
	ctx := context.Background()
	now := time.Now()
	w := &world{}
	if len(stores) > 0 {
		w.st = stores[0]
	} else {
		w.st = storetest.NewSQLite(t)
	}
	w.contoso = directory.NewTenant("Contoso", []string{"contoso.onmicrosoft.com", "contoso.com"}, now)
	w.fabrikam = directory.NewTenant("Fabrikam", []string{"fabrikam.onmicrosoft.com", "fabrikam.com"}, now)
	mustDo(t, w.st.CreateTenant(ctx, w.contoso))
	mustDo(t, w.st.CreateTenant(ctx, w.fabrikam))

	w.tasks = directory.NewApplication(w.contoso.ID, "Tasks API", now)
	w.tasks.IdentifierURIs = []string{"api://tasks"}
	disabled := directory.NewPermissionScope("Tasks.Old")
	disabled.IsEnabled = false
	admin := directory.NewPermissionScope("Tasks.Admin")
	admin.Type = directory.ScopeTypeAdmin
	w.tasks.API.OAuth2PermissionScopes = []store.PermissionScope{directory.NewPermissionScope("access_as_user"), directory.NewPermissionScope("Tasks.Write"), admin, disabled}
	w.tasks.AppRoles = []store.AppRole{
		directory.NewAppRole("Tasks.Read.All", directory.AllowedMemberApplication),
		directory.NewAppRole("Tasks.Writer", directory.AllowedMemberUser),
		directory.NewAppRole("Tasks.Auditor", directory.AllowedMemberUser, directory.AllowedMemberApplication),
	}
	w.tasks.GroupMembershipClaims = "SecurityGroup, DirectoryRole"

	w.web = directory.NewApplication(w.contoso.ID, "Web", now)
	w.web.IdentifierURIs = []string{"api://web"}
	w.web.API.OAuth2PermissionScopes = []store.PermissionScope{directory.NewPermissionScope("access_as_user")}
	w.web.RequiredResourceAccess = []store.RequiredResourceAccess{
		{ResourceAppID: directory.GraphAppID, ResourceAccess: []store.ResourceAccess{{ID: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", Type: directory.AccessTypeScope}}},
		{ResourceAppID: w.tasks.AppID, ResourceAccess: []store.ResourceAccess{
			{ID: w.tasks.API.OAuth2PermissionScopes[0].ID, Type: directory.AccessTypeScope},
			{ID: w.tasks.AppRoles[0].ID, Type: directory.AccessTypeRole}}},
	}
	w.web.GroupMembershipClaims = "All"

	w.legacy = directory.NewApplication(w.contoso.ID, "Legacy", now)
	w.legacy.IdentifierURIs = []string{"https://legacy.contoso.com/"}
	w.legacy.API.OAuth2PermissionScopes = []store.PermissionScope{directory.NewPermissionScope("user_impersonation")}

	w.fabShared = directory.NewApplication(w.fabrikam.ID, "Fabrikam shared", now)
	w.fabShared.SignInAudience, w.fabShared.IdentifierURIs = store.AudienceMultipleOrgs, []string{"api://fabrikam.com/shared"}
	w.fabShared.API.OAuth2PermissionScopes = []store.PermissionScope{directory.NewPermissionScope("read")}
	w.fabLocal = directory.NewApplication(w.fabrikam.ID, "Fabrikam local", now)
	w.fabLocal.IdentifierURIs = []string{"api://fabrikam.com/local"}
	w.fabPublic = directory.NewApplication(w.fabrikam.ID, "Fabrikam public", now)
	w.fabPublic.SignInAudience, w.fabPublic.IdentifierURIs = store.AudienceMultipleOrgs, []string{"api://fabrikam.com/public"}
	w.fabPublic.API.OAuth2PermissionScopes = []store.PermissionScope{directory.NewPermissionScope("read")}
	for _, a := range []store.Application{w.tasks, w.web, w.legacy, w.fabShared, w.fabLocal, w.fabPublic} {
		mustDo(t, w.st.CreateApplication(ctx, a))
	}
	for _, a := range []store.Application{w.tasks, w.web, w.legacy} {
		mustDo(t, w.st.CreateServicePrincipal(ctx, directory.NewServicePrincipal(w.contoso.ID, a, now)))
	}
	mustDo(t, w.st.CreateServicePrincipal(ctx, directory.NewServicePrincipal(w.contoso.ID, w.fabPublic, now)))

	w.alice = directory.NewUser(w.contoso.ID, "alice@contoso.com", "Alice", now)
	w.bob = directory.NewUser(w.contoso.ID, "bob@contoso.com", "Bob", now)
	w.home = directory.NewUser(w.fabrikam.ID, "gary@fabrikam.com", "Gary", now)
	w.guest = directory.NewGuest(w.contoso, w.home, now)
	for _, u := range []store.User{w.alice, w.bob, w.home, w.guest} {
		mustDo(t, w.st.CreateUser(ctx, u))
	}
	return w
}

func (w *world) resolve(t *testing.T, client store.Application, scope, resource string) (Resolution, error) {
	t.Helper()
	return Resolve(context.Background(), w.st, w.contoso.ID, client, scope, resource)
}

func code(err error) int {
	var e *aadsts.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestResolve(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name       string
		client     *store.Application
		scope, res string
		resource   string // want: appId
		ident      string
		scopes     string
		dflt       bool
		oidc       string
		selfByURI  bool
	}{
		{name: "Auth.js defaults", scope: "openid profile email User.Read", resource: directory.GraphAppID, scopes: "User.Read", oidc: "openid profile email"},
		{name: "OIDC only is a Graph token", scope: "offline_access openid", resource: directory.GraphAppID, oidc: "openid offline_access"},
		{name: "bare Graph scope, any case", scope: "user.read", resource: directory.GraphAppID, scopes: "User.Read"},
		{name: "Graph URI", scope: "https://graph.microsoft.com/User.Read openid", resource: directory.GraphAppID, ident: "https://graph.microsoft.com", scopes: "User.Read", oidc: "openid"},
		{name: "Graph .default", scope: "https://graph.microsoft.com/.default", resource: directory.GraphAppID, ident: "https://graph.microsoft.com", dflt: true},
		{name: "App ID URI", scope: "api://tasks/access_as_user openid profile offline_access", resource: "tasks", ident: "api://tasks", scopes: "access_as_user", oidc: "openid profile offline_access"},
		{name: "two scopes, duplicates", scope: "api://tasks/access_as_user API://TASKS/tasks.write api://tasks/access_as_user", resource: "tasks", ident: "api://tasks", scopes: "access_as_user Tasks.Write"},
		{name: "appId form", scope: "{tasks}/access_as_user", resource: "tasks", ident: "{tasks}", scopes: "access_as_user"},
		{name: "resource .default", scope: "api://tasks/.default", resource: "tasks", ident: "api://tasks", dflt: true},
		{name: "trailing slash URI and double slash .default", scope: "https://legacy.contoso.com//.default", resource: "legacy", ident: "https://legacy.contoso.com/", dflt: true},
		{name: "v1 resource", scope: "openid", res: "https://legacy.contoso.com", resource: "legacy", ident: "https://legacy.contoso.com", dflt: true, oidc: "openid"},
		{name: "v1 resource ignores other scopes", scope: "api://tasks/access_as_user", res: "{tasks}", resource: "tasks", ident: "{tasks}", dflt: true},
		{name: "multi-tenant API with a service principal here", scope: "api://fabrikam.com/public/read", resource: "fabPublic", ident: "api://fabrikam.com/public", scopes: "read"},
		{name: "self by appId", client: &w.tasks, scope: "{tasks}/.default", resource: "tasks", ident: "{tasks}", dflt: true},
		{name: "self by URI", client: &w.tasks, scope: "api://tasks/access_as_user", resource: "tasks", ident: "api://tasks", scopes: "access_as_user", selfByURI: true},
	}
	names := map[string]string{"tasks": w.tasks.AppID, "legacy": w.legacy.AppID, "fabPublic": w.fabPublic.AppID}
	sub := strings.NewReplacer("{tasks}", w.tasks.AppID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := w.web
			if tt.client != nil {
				client = *tt.client
			}
			r, err := w.resolve(t, client, sub.Replace(tt.scope), sub.Replace(tt.res))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.resource
			if id, ok := names[want]; ok {
				want = id
			}
			if r.Resource.AppID != want || r.Identifier != sub.Replace(tt.ident) || strings.Join(r.Scopes, " ") != tt.scopes ||
				r.Default != tt.dflt || strings.Join(r.OIDC, " ") != tt.oidc || r.SelfByURI != tt.selfByURI {
				t.Errorf("got resource %s ident %q scopes %q default %v oidc %q self %v", r.Resource.AppID, r.Identifier, r.Scopes, r.Default, r.OIDC, r.SelfByURI)
			}
			if (code(r.CheckSelf()) == aadsts.TokenForItselfNeedsGUID) != tt.selfByURI {
				t.Errorf("CheckSelf: %v", r.CheckSelf())
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name, scope, resource string
		code                  int
	}{
		{"two resources", "api://tasks/access_as_user User.Read", "", aadsts.MultipleResourcesInScope},
		{"two custom resources", "api://tasks/access_as_user https://legacy.contoso.com/user_impersonation", "", aadsts.MultipleResourcesInScope},
		{"unknown scope", "api://tasks/nope", "", aadsts.InvalidScope},
		{"unknown Graph scope", "Mail.Read", "", aadsts.InvalidScope},
		{"disabled scope", "api://tasks/Tasks.Old", "", aadsts.InvalidScope},
		{"an app role is not a scope", "api://tasks/Tasks.Writer", "", aadsts.InvalidScope},
		{".default mixed with a scope", "api://tasks/.default api://tasks/access_as_user", "", aadsts.InvalidScope},
		{"empty value", "api://tasks/", "", aadsts.InvalidScope},
		{"unknown resource", "api://nowhere/read", "", aadsts.ResourceNotFound},
		{"unknown appId", ids.NewGUID() + "/.default", "", aadsts.ResourceNotFound},
		{"unknown v1 resource", "openid", "https://nowhere.contoso.com", aadsts.ResourceNotFound},
		{"multi-tenant API not installed here", "api://fabrikam.com/shared/read", "", aadsts.ResourceNotFound},
		{"single-tenant API of another tenant", "api://fabrikam.com/local/.default", "", aadsts.ResourceNotFound},
		{"no scope", "  ", "", aadsts.MissingParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.resolve(t, w.web, tt.scope, tt.resource)
			if code(err) != tt.code {
				t.Errorf("err %v, want AADSTS%d", err, tt.code)
			}
		})
	}
	// The error names what was wrong, as Entra's messages do.
	_, err := w.resolve(t, w.web, "openid api://tasks/nope", "")
	if e := (*aadsts.Error)(nil); !errors.As(err, &e) || !strings.Contains(e.Message(), "api://tasks/nope") {
		t.Errorf("message %v does not name the scope", err)
	}
}

func TestResponseScope(t *testing.T) {
	w := newWorld(t)
	tests := []struct{ scope, granted, want string }{
		// Bare Graph scopes come back bare (MSAL fails on a requested scope
		// missing from the response); full URIs come back as full URIs.
		{"openid profile email User.Read offline_access", "User.Read openid profile email offline_access",
			"email openid profile User.Read"},
		{"openid profile https://graph.microsoft.com/User.Read", "User.Read openid profile",
			"openid profile https://graph.microsoft.com/User.Read"},
		{"https://graph.microsoft.com/.default offline_access", "User.Read Mail.Send openid",
			"openid https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/User.Read https://graph.microsoft.com/.default"},
		{"openid profile", "", "openid profile"},
		{"api://tasks/access_as_user openid", "access_as_user Tasks.Write", "api://tasks/Tasks.Write api://tasks/access_as_user"},
		{"api://tasks/.default", "access_as_user", "api://tasks/access_as_user api://tasks/.default"},
	}
	for _, tt := range tests {
		r, err := w.resolve(t, w.web, tt.scope, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := r.ResponseScope(strings.Fields(tt.granted)); got != tt.want {
			t.Errorf("%q: ResponseScope = %q, want %q", tt.scope, got, tt.want)
		}
	}
	if got := ResponseScopeV1([]string{"user_impersonation", "x"}); got != "user_impersonation x" {
		t.Errorf("ResponseScopeV1 %q", got)
	}
}

func values(perms []Permission) string {
	var out []string
	for _, p := range perms {
		out = append(out, p.Scope.Value)
	}
	return strings.Join(out, " ")
}

func TestConsent(t *testing.T) {
	onStores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w := newWorld(t, st)
		st, tid := w.st, w.contoso.ID
		missing := func(t *testing.T, user store.User, scope string) string {
			t.Helper()
			r, err := w.resolve(t, w.web, scope, "")
			if err != nil {
				t.Fatal(err)
			}
			perms, err := Missing(ctx, st, tid, w.web, r, user.ID)
			if err != nil {
				t.Fatal(err)
			}
			return values(perms)
		}
		grant := func(t *testing.T, user store.User, scope string, admin bool) {
			t.Helper()
			r, err := w.resolve(t, w.web, scope, "")
			if err != nil {
				t.Fatal(err)
			}
			perms, err := Requested(ctx, st, tid, w.web, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := Grant(ctx, st, tid, w.web, perms, user.ID, admin); err != nil {
				t.Fatal(err)
			}
		}
		consented := func(t *testing.T, user store.User, resource string) string {
			t.Helper()
			got, err := Consented(ctx, st, tid, w.web.AppID, resource, user.ID)
			if err != nil {
				t.Fatal(err)
			}
			return strings.Join(got, " ")
		}

		// Nothing granted: everything is asked, OIDC scopes included.
		if got := missing(t, w.alice, "openid profile offline_access api://tasks/access_as_user"); got != "access_as_user openid profile offline_access" {
			t.Errorf("first consent asks %q", got)
		}
		// .default with nothing granted asks for the requiredResourceAccess of all APIs.
		if got := missing(t, w.alice, "api://tasks/.default openid"); got != "User.Read access_as_user openid" {
			t.Errorf(".default asks %q", got)
		}
		if got := consented(t, w.alice, w.tasks.AppID); got != "" {
			t.Errorf("consented before any grant: %q", got)
		}

		// The user consents; the Graph service principal appears in the tenant.
		grant(t, w.alice, "openid profile offline_access api://tasks/access_as_user", false)
		if _, err := st.GetServicePrincipalByAppID(ctx, tid, directory.GraphAppID); err != nil {
			t.Errorf("no Graph service principal after consent: %v", err)
		}
		if got := missing(t, w.alice, "openid profile offline_access api://tasks/access_as_user"); got != "" {
			t.Errorf("after consent asks %q", got)
		}
		// Incremental consent: only the new scope is missing; email counts as
		// granted once anything is.
		if got := missing(t, w.alice, "openid email api://tasks/access_as_user api://tasks/Tasks.Write"); got != "Tasks.Write" {
			t.Errorf("incremental asks %q", got)
		}
		grant(t, w.alice, "api://tasks/Tasks.Write", false)
		if got := consented(t, w.alice, w.tasks.AppID); got != "access_as_user Tasks.Write" {
			t.Errorf("consented %q", got)
		}
		if got := consented(t, w.alice, directory.GraphAppID); got != "openid profile offline_access" {
			t.Errorf("Graph consented %q", got)
		}
		// .default with consent in place: no prompt.
		if got := missing(t, w.alice, "api://tasks/.default"); got != "" {
			t.Errorf(".default after consent asks %q", got)
		}
		// Bob is another user: Alice's consent is hers alone.
		if got := missing(t, w.bob, "api://tasks/access_as_user"); got != "access_as_user" {
			t.Errorf("bob asks %q", got)
		}
		if got := consented(t, w.bob, w.tasks.AppID); got != "" {
			t.Errorf("bob consented %q", got)
		}

		// Admin-type scopes: a user cannot consent; an admin can, for everyone.
		r, _ := w.resolve(t, w.web, "api://tasks/Tasks.Admin", "")
		perms, _ := Missing(ctx, st, tid, w.web, r, w.bob.ID)
		if !NeedsAdmin(perms) {
			t.Error("Tasks.Admin does not need admin")
		}
		if err := Grant(ctx, st, tid, w.web, perms, w.bob.ID, false); code(err) != aadsts.AdminConsentRequired {
			t.Errorf("user consent to an admin scope: %v", err)
		}
		grant(t, w.bob, "api://tasks/Tasks.Admin api://tasks/access_as_user", true)
		for _, u := range []store.User{w.bob, w.guest} {
			if got := missing(t, u, "openid api://tasks/access_as_user api://tasks/Tasks.Admin"); got != "" {
				t.Errorf("after admin consent %s asks %q", u.UserPrincipalName, got)
			}
		}
		// Alice's token: the admin's grant first, then hers, each value once.
		if got := consented(t, w.alice, w.tasks.AppID); got != "Tasks.Admin access_as_user Tasks.Write" {
			t.Errorf("alice consented %q", got)
		}
		// Granting again changes nothing.
		grant(t, w.alice, "api://tasks/access_as_user", false)
		gs, _ := st.ListOAuth2PermissionGrants(ctx, tid)
		if len(gs) != 3 { // alice→Graph, alice→Tasks, everyone→Tasks
			t.Errorf("%d grants, want 3: %+v", len(gs), gs)
		}
		if !CanGrantAdminConsent([]string{"62E90394-69F5-4237-9190-012177145E10"}) || CanGrantAdminConsent([]string{"88d8e3e3-8f55-4a1e-953a-9b9898b8876b"}) {
			t.Error("CanGrantAdminConsent")
		}
	})
}

func TestConsentConcurrentGrants(t *testing.T) {
	onStores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w := newWorld(t, st)
		scopes := []string{"access_as_user", "Tasks.Write"}
		errs := make(chan error, len(scopes))
		for _, s := range scopes {
			go func() {
				r, err := Resolve(ctx, w.st, w.contoso.ID, w.web, "api://tasks/"+s, "")
				if err == nil {
					var perms []Permission
					if perms, err = Requested(ctx, w.st, w.contoso.ID, w.web, r); err == nil {
						err = Grant(ctx, w.st, w.contoso.ID, w.web, perms, w.alice.ID, false)
					}
				}
				errs <- err
			}()
		}
		for range scopes {
			mustDo(t, <-errs)
		}
		got, err := Consented(ctx, w.st, w.contoso.ID, w.web.AppID, w.tasks.AppID, w.alice.ID)
		mustDo(t, err)
		slices.Sort(got)
		if strings.Join(got, " ") != "Tasks.Write access_as_user" {
			t.Errorf("concurrent grants kept %q", got)
		}
	})
}

func TestConsentMultiTenantResource(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	// A Fabrikam client used in Contoso: its service principal is made on
	// first consent, like Entra's.
	client := directory.NewApplication(w.fabrikam.ID, "Fabrikam client", time.Now())
	client.SignInAudience = store.AudienceMultipleOrgs
	mustDo(t, w.st.CreateApplication(ctx, client))
	r, err := Resolve(ctx, w.st, w.contoso.ID, client, "openid api://fabrikam.com/public/read", "")
	mustDo(t, err)
	perms, err := Missing(ctx, w.st, w.contoso.ID, client, r, w.alice.ID)
	mustDo(t, err)
	if values(perms) != "read openid" {
		t.Fatalf("missing %q", values(perms))
	}
	mustDo(t, Grant(ctx, w.st, w.contoso.ID, client, perms, w.alice.ID, false))
	if _, err := w.st.GetServicePrincipalByAppID(ctx, w.contoso.ID, client.AppID); err != nil {
		t.Errorf("client has no service principal in Contoso: %v", err)
	}
	if got, _ := Consented(ctx, w.st, w.contoso.ID, client.AppID, w.fabPublic.AppID, w.alice.ID); strings.Join(got, " ") != "read" {
		t.Errorf("consented %q", got)
	}
}

// groupsWorld adds nested groups with a cycle, directory roles and app role
// assignments to w.
func groupsWorld(t *testing.T, w *world) (eng, platform, all, m365 store.Group) {
	ctx := context.Background()
	now := time.Now()
	user := func(u store.User) store.DirectoryObjectRef {
		return store.DirectoryObjectRef{ID: u.ID, Type: store.MemberTypeUser}
	}
	group := func(g store.Group) store.DirectoryObjectRef {
		return store.DirectoryObjectRef{ID: g.ID, Type: store.MemberTypeGroup}
	}
	eng = directory.NewGroup(w.contoso.ID, "Engineering", now)
	platform = directory.NewGroup(w.contoso.ID, "Platform", now)
	all = directory.NewGroup(w.contoso.ID, "Everyone", now)
	m365 = directory.NewGroup(w.contoso.ID, "Team site", now)
	m365.SecurityEnabled, m365.MailEnabled = false, true
	// alice ∈ platform ∈ eng ∈ all ∈ platform (a cycle); guest ∈ all; bob ∈ m365.
	platform.Members = []store.DirectoryObjectRef{user(w.alice), group(all)}
	eng.Members = []store.DirectoryObjectRef{group(platform)}
	all.Members = []store.DirectoryObjectRef{group(eng), user(w.guest)}
	m365.Members = []store.DirectoryObjectRef{user(w.bob)}
	for _, g := range []store.Group{eng, platform, all, m365} {
		mustDo(t, w.st.CreateGroup(ctx, g))
	}
	globalAdmin, _ := directory.RoleTemplateID("Global Administrator")
	reader, _ := directory.RoleTemplateID("Directory Readers")
	mustDo(t, w.st.CreateDirectoryRoleAssignment(ctx, store.DirectoryRoleAssignment{ID: ids.NewGUID(), TenantID: w.contoso.ID, PrincipalID: w.alice.ID, RoleDefinitionID: globalAdmin, DirectoryScopeID: "/"}))
	mustDo(t, w.st.CreateDirectoryRoleAssignment(ctx, store.DirectoryRoleAssignment{ID: ids.NewGUID(), TenantID: w.contoso.ID, PrincipalID: all.ID, RoleDefinitionID: reader, DirectoryScopeID: "/"}))
	return eng, platform, all, m365
}

func sorted(ids ...string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return strings.Join(s, " ")
}

func TestGroups(t *testing.T) {
	onStores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w := newWorld(t, st)
		eng, platform, all, m365 := groupsWorld(t, w)
		globalAdmin, _ := directory.RoleTemplateID("Global Administrator")
		reader, _ := directory.RoleTemplateID("Directory Readers")

		member, err := MemberOf(ctx, w.st, w.contoso.ID, w.alice.ID)
		mustDo(t, err)
		var got []string
		for _, g := range member {
			got = append(got, g.ID)
		}
		if strings.Join(got, " ") != sorted(eng.ID, platform.ID, all.ID) {
			t.Errorf("alice is in %v", got)
		}

		// Tasks asks for security groups and directory roles; Web for All.
		sp, err := w.st.GetServicePrincipalByAppID(ctx, w.contoso.ID, w.tasks.AppID)
		mustDo(t, err)
		mustDo(t, w.st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: ids.NewGUID(), TenantID: w.contoso.ID,
			PrincipalID: m365.ID, PrincipalType: store.PrincipalTypeGroup, ResourceID: sp.ID, AppRoleID: directory.DefaultAccessRole}))
		appGroups := w.tasks
		appGroups.GroupMembershipClaims = "ApplicationGroup"
		none := w.tasks
		none.GroupMembershipClaims = "None"
		tests := []struct {
			name        string
			user        store.User
			app         store.Application
			groups, wid string
		}{
			{"security groups and roles", w.alice, w.tasks, sorted(eng.ID, platform.ID, all.ID), sorted(globalAdmin, reader)},
			{"all", w.bob, w.web, m365.ID, ""},
			{"security only leaves M365 groups out", w.bob, w.tasks, "", ""},
			{"application groups", w.bob, appGroups, m365.ID, ""},
			{"application groups, not assigned", w.alice, appGroups, "", ""},
			{"none", w.alice, none, "", ""},
			{"guest through a group", w.guest, w.web, sorted(eng.ID, platform.ID, all.ID), reader},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				groups, wids, err := Groups(ctx, w.st, w.contoso.ID, tt.user.ID, tt.app)
				mustDo(t, err)
				if strings.Join(groups, " ") != tt.groups || strings.Join(wids, " ") != tt.wid {
					t.Errorf("groups %v wids %v, want %q %q", groups, wids, tt.groups, tt.wid)
				}
			})
		}
	})
}

func TestRoles(t *testing.T) {
	onStores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		w := newWorld(t, st)
		_, platform, all, _ := groupsWorld(t, w)
		tasksSP, err := w.st.GetServicePrincipalByAppID(ctx, w.contoso.ID, w.tasks.AppID)
		mustDo(t, err)
		webSP, err := w.st.GetServicePrincipalByAppID(ctx, w.contoso.ID, w.web.AppID)
		mustDo(t, err)
		assign := func(principal, typ string, role string) {
			mustDo(t, w.st.CreateAppRoleAssignment(ctx, store.AppRoleAssignment{ID: ids.NewGUID(), TenantID: w.contoso.ID,
				PrincipalID: principal, PrincipalType: typ, ResourceID: tasksSP.ID, AppRoleID: role}))
		}
		readAll, writer, auditor := w.tasks.AppRoles[0].ID, w.tasks.AppRoles[1].ID, w.tasks.AppRoles[2].ID
		assign(all.ID, store.PrincipalTypeGroup, writer)       // alice through platform ∈ eng ∈ all; the guest directly in all
		assign(platform.ID, store.PrincipalTypeGroup, auditor) // alice
		assign(w.alice.ID, store.PrincipalTypeUser, readAll)   // an Application-only role: not for users
		assign(w.bob.ID, store.PrincipalTypeUser, directory.DefaultAccessRole)
		assign(webSP.ID, store.PrincipalTypeServicePrincipal, readAll)
		assign(webSP.ID, store.PrincipalTypeServicePrincipal, auditor)

		for _, tt := range []struct {
			user     store.User
			roles    string
			assigned bool
		}{
			{w.alice, "Tasks.Writer Tasks.Auditor", true},
			{w.guest, "Tasks.Writer Tasks.Auditor", true}, // all ∈ platform: the cycle makes the guest a member of platform too
			{w.bob, "", true}, // Default Access: assigned, no role value
			{w.home, "", false},
		} {
			roles, err := UserRoles(ctx, w.st, w.contoso.ID, w.tasks, tt.user.ID)
			mustDo(t, err)
			ok, err := IsAssigned(ctx, w.st, w.contoso.ID, w.tasks, tt.user.ID)
			mustDo(t, err)
			if strings.Join(roles, " ") != tt.roles || ok != tt.assigned {
				t.Errorf("%s: roles %v assigned %v, want %q %v", tt.user.UserPrincipalName, roles, ok, tt.roles, tt.assigned)
			}
		}
		roles, err := AppRoles(ctx, w.st, w.contoso.ID, w.tasks, w.web.AppID)
		mustDo(t, err)
		if strings.Join(roles, " ") != "Tasks.Read.All Tasks.Auditor" {
			t.Errorf("app roles %v", roles)
		}
		// No service principal, no roles.
		if roles, err := AppRoles(ctx, w.st, w.contoso.ID, w.tasks, w.fabShared.AppID); err != nil || roles != nil {
			t.Errorf("client without service principal: %v %v", roles, err)
		}
		if roles, err := UserRoles(ctx, w.st, w.contoso.ID, w.fabShared, w.alice.ID); err != nil || roles != nil {
			t.Errorf("resource without service principal: %v %v", roles, err)
		}
		// Many groups: the tenant-wide query gives the same answer.
		for i := range 10 {
			g := directory.NewGroup(w.contoso.ID, "Extra "+string(rune('A'+i)), time.Now())
			g.Members = []store.DirectoryObjectRef{{ID: w.alice.ID, Type: store.MemberTypeUser}}
			mustDo(t, w.st.CreateGroup(ctx, g))
		}
		roles, err = UserRoles(ctx, w.st, w.contoso.ID, w.tasks, w.alice.ID)
		mustDo(t, err)
		if strings.Join(roles, " ") != "Tasks.Writer Tasks.Auditor" {
			t.Errorf("with 13 groups: %v", roles)
		}
	})
}

func TestForUser(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	forUser := func(client store.Application, scope string, user store.User) (Delegated, error) {
		r, err := Resolve(ctx, w.st, w.contoso.ID, client, scope, "")
		mustDo(t, err)
		return ForUser(ctx, w.st, w.contoso.ID, client, r, user.ID)
	}
	if _, err := forUser(w.web, "openid api://tasks/access_as_user", w.alice); code(err) != aadsts.ConsentRequired {
		t.Errorf("no consent: %v, want 65001", err)
	}
	r, err := Resolve(ctx, w.st, w.contoso.ID, w.web, "openid profile api://tasks/access_as_user api://tasks/Tasks.Write", "")
	mustDo(t, err)
	perms, err := Requested(ctx, w.st, w.contoso.ID, w.web, r)
	mustDo(t, err)
	mustDo(t, Grant(ctx, w.st, w.contoso.ID, w.web, perms, w.alice.ID, false))
	// A request for one scope gets a token with every consented one.
	d, err := forUser(w.web, "openid api://tasks/access_as_user", w.alice)
	mustDo(t, err)
	if strings.Join(d.Scopes, " ") != "access_as_user Tasks.Write" || d.Scope != "api://tasks/Tasks.Write api://tasks/access_as_user" || d.Roles != nil {
		t.Errorf("delegated %+v", d)
	}
	// Sign-in only: a Graph token with the OpenID Connect scopes.
	d, err = forUser(w.web, "openid profile", w.alice)
	mustDo(t, err)
	if strings.Join(d.Scopes, " ") != "openid profile" || d.Scope != "openid profile" {
		t.Errorf("Graph token %+v", d)
	}
	// .default with consent: everything granted, no prompt.
	d, err = forUser(w.web, "api://tasks/.default", w.alice)
	mustDo(t, err)
	if d.Scope != "api://tasks/Tasks.Write api://tasks/access_as_user api://tasks/.default" {
		t.Errorf(".default %+v", d)
	}
	// A client's token for itself needs no grant.
	if _, err := forUser(w.tasks, w.tasks.AppID+"/.default", w.bob); err != nil {
		t.Errorf("token for itself: %v", err)
	}
	// Bob has consented to nothing.
	if _, err := forUser(w.web, "api://tasks/.default", w.bob); code(err) != aadsts.ConsentRequired {
		t.Errorf("bob: %v, want 65001", err)
	}
}
