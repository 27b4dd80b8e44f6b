package dirfile

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

const (
	contosoID = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	webAppID  = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	apiAppID  = "2d4d11a2-f814-46a7-890a-274a72a7309e"
	jobAppID  = "0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
)

var (
	hasher  = secrets.NewClientSecretHasher([]byte("0123456789abcdef0123456789abcdef"))
	fixedT0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

func issueYAML(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/issue.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// apply parses text as directory.yaml and applies it at time now.
func apply(t *testing.T, st store.Store, text string, now time.Time) (Summary, error) {
	t.Helper()
	doc, err := Parse("directory.yaml", []byte(text))
	if err != nil {
		return Summary{}, err
	}
	return Apply(context.Background(), st, doc, ApplyOptions{SecretHasher: hasher, Now: func() time.Time { return now }})
}

// dump is the whole directory as JSON, to prove that nothing changed.
func dump(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	all := map[string]any{}
	tenants, err := st.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all["tenants"] = tenants
	for _, tn := range tenants {
		var parts []any
		for _, f := range []func() (any, error){
			func() (any, error) { return st.ListUsers(ctx, tn.ID) },
			func() (any, error) { return st.ListGroups(ctx, tn.ID) },
			func() (any, error) { return st.ListApplications(ctx, tn.ID) },
			func() (any, error) { return st.ListServicePrincipals(ctx, tn.ID) },
			func() (any, error) { return st.ListDirectoryRoleAssignments(ctx, tn.ID) },
			func() (any, error) { return st.ListAppRoleAssignments(ctx, tn.ID) },
			func() (any, error) { return st.ListOAuth2PermissionGrants(ctx, tn.ID) },
		} {
			v, err := f()
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, v)
		}
		all[tn.ID] = parts
	}
	v, err := st.ChangeVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all["changeVersion"] = v
	b, err := json.MarshalIndent(all, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyIssueExample(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testApplyIssueExample(t, storetest.NewSQLite(t)) })
	// Skipped unless ENTRANCE_TEST_POSTGRES names a server.
	t.Run("postgres", func(t *testing.T) { testApplyIssueExample(t, storetest.NewPostgres(t)) })
}

func testApplyIssueExample(t *testing.T, st store.Store) {
	ctx := context.Background()
	sum, err := apply(t, st, issueYAML(t), fixedT0)
	if err != nil {
		t.Fatal(err)
	}
	// tenant, user, 3 apps, group, 3 service principals, assignment, grant
	if sum.Created != 11 || sum.Updated != 0 || sum.Unchanged != 0 {
		t.Errorf("first apply: %s: %+v", sum, sum.Changes)
	}

	tn, err := st.GetTenantByDomain(ctx, "CONTOSO.onmicrosoft.com")
	if err != nil || tn.ID != contosoID || tn.Type != store.TenantTypeAAD {
		t.Fatalf("tenant %+v %v", tn, err)
	}
	u, err := st.GetUserByUPN(ctx, contosoID, "abeli@contoso.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := secrets.VerifyPassword(u.PasswordHash, "Correct-Horse-9"); !ok || !u.AccountEnabled || u.UserType != store.UserTypeMember ||
		u.GivenName != "Abe" || !u.LastPasswordChangeDateTime.Equal(fixedT0) {
		t.Errorf("user %+v", u)
	}
	g, err := st.GetGroupByName(ctx, contosoID, "engineering")
	if err != nil || !g.SecurityEnabled || len(g.Members) != 1 || g.Members[0] != (store.DirectoryObjectRef{ID: u.ID, Type: store.MemberTypeUser}) {
		t.Errorf("group %+v %v", g, err)
	}

	web, err := st.GetApplicationByAppID(ctx, webAppID)
	if err != nil {
		t.Fatal(err)
	}
	if len(web.PasswordCredentials) != 1 {
		t.Fatalf("web secrets %+v", web.PasswordCredentials)
	}
	pc := web.PasswordCredentials[0]
	if !hasher.Verify(pc.SecretHash, "dev-web-secret-0123456789abcdefghij") || pc.Hint != "dev" || pc.DisplayName != "dev" ||
		!pc.EndDateTime.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("web secret %+v", pc)
	}
	if web.SignInAudience != store.AudienceMyOrg || web.GroupMembershipClaims != "SecurityGroup" || len(web.OptionalClaims.IDToken) != 2 ||
		web.Web.LogoutURL != "http://localhost:3000/api/auth/frontchannel-logout" || web.RequiredResourceAccess[0].ResourceAccess[0].Type != "Scope" {
		t.Errorf("web app %+v", web)
	}
	api, _ := st.GetApplicationByAppID(ctx, apiAppID)
	if api.API.RequestedAccessTokenVersion == nil || *api.API.RequestedAccessTokenVersion != 2 || !api.API.OAuth2PermissionScopes[0].IsEnabled ||
		!api.AppRoles[0].IsEnabled || api.IdentifierURIs[0] != "api://tasks" || api.SignInAudience != store.AudienceMyOrg {
		t.Errorf("api app %+v", api)
	}
	job, _ := st.GetApplicationByAppID(ctx, jobAppID)
	if len(job.PasswordCredentials) != 1 || !job.PasswordCredentials[0].EndDateTime.Equal(fixedT0.AddDate(0, 0, 730)) {
		t.Errorf("job secret %+v", job.PasswordCredentials)
	}

	sps := map[string]store.ServicePrincipal{}
	for _, appID := range []string{webAppID, apiAppID, jobAppID} {
		sp, err := st.GetServicePrincipalByAppID(ctx, contosoID, appID)
		if err != nil || sp.AppOwnerOrganizationID != contosoID || !sp.AccountEnabled {
			t.Errorf("service principal of %s: %+v %v", appID, sp, err)
		}
		sps[appID] = sp
	}
	ara, err := st.ListAppRoleAssignments(ctx, contosoID)
	if err != nil || len(ara) != 1 {
		t.Fatalf("assignments %+v %v", ara, err)
	}
	if a := ara[0]; a.PrincipalID != sps[jobAppID].ID || a.PrincipalType != store.PrincipalTypeServicePrincipal ||
		a.ResourceID != sps[apiAppID].ID || a.AppRoleID != "5b7e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4" {
		t.Errorf("assignment %+v", a)
	}
	grants, err := st.ListOAuth2PermissionGrants(ctx, contosoID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants %+v %v", grants, err)
	}
	if gr := grants[0]; gr.ClientID != sps[webAppID].ID || gr.ResourceID != sps[apiAppID].ID || gr.ConsentType != store.ConsentAllPrincipals ||
		gr.PrincipalID != "" || gr.Scope != "access_as_user" {
		t.Errorf("grant %+v", gr)
	}

	// Applying the same file again, later, changes nothing at all.
	before := dump(t, st)
	sum, err = apply(t, st, issueYAML(t), fixedT0.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 0 || sum.Updated != 0 || sum.Unchanged != 11 {
		t.Errorf("second apply: %s: %+v", sum, sum.Changes)
	}
	if after := dump(t, st); after != before {
		t.Errorf("second apply changed the store:\n%s\n---\n%s", before, after)
	}

	// A changed property updates just that object; keyIds and hashes stay.
	changed := strings.Replace(issueYAML(t), "displayName: Nightly job", "displayName: Nightly batch", 1)
	sum, err = apply(t, st, changed, fixedT0.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// the app, and its service principal (appDisplayName follows the app)
	if sum.Updated != 2 || sum.Created != 0 {
		t.Errorf("rename: %s: %+v", sum, sum.Changes)
	}
	job2, _ := st.GetApplicationByAppID(ctx, jobAppID)
	if job2.DisplayName != "Nightly batch" || job2.PasswordCredentials[0].KeyID != job.PasswordCredentials[0].KeyID {
		t.Errorf("renamed job %+v", job2)
	}
	u2, _ := st.GetUserByUPN(ctx, contosoID, "abeli@contoso.onmicrosoft.com")
	if u2.PasswordHash != u.PasswordHash || !u2.LastPasswordChangeDateTime.Equal(u.LastPasswordChangeDateTime) {
		t.Errorf("password was re-hashed")
	}

	// A new password is hashed anew, with a new change time.
	later := fixedT0.Add(96 * time.Hour)
	if _, err := apply(t, st, strings.Replace(changed, "Correct-Horse-9", "Battery-Staple-7", 1), later); err != nil {
		t.Fatal(err)
	}
	u3, _ := st.GetUserByUPN(ctx, contosoID, "abeli@contoso.onmicrosoft.com")
	if ok, _ := secrets.VerifyPassword(u3.PasswordHash, "Battery-Staple-7"); !ok || !u3.LastPasswordChangeDateTime.Equal(later) {
		t.Errorf("new password: %+v", u3)
	}
}

func TestApplyDryRun(t *testing.T) {
	st := storetest.NewSQLite(t)
	before := dump(t, st)
	doc, err := Parse("directory.yaml", []byte(issueYAML(t)))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Apply(context.Background(), st, doc, ApplyOptions{SecretHasher: hasher, DryRun: true})
	if err != nil || sum.Created != 11 {
		t.Fatalf("dry run: %s %v", sum, err)
	}
	if after := dump(t, st); after != before {
		t.Error("a dry run wrote to the store")
	}
}

func TestApplyWithoutHasher(t *testing.T) {
	st := storetest.NewSQLite(t)
	doc, err := Parse("directory.yaml", []byte(issueYAML(t)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), st, doc, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "SecretHasher") {
		t.Errorf("got %v", err)
	}
}

// TestApplyBadInput checks the issue's "Must show" list and more: each bad
// file gets an error naming file, line and property, and the store is left
// exactly as it was.
func TestApplyBadInput(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // replaced in the issue's file
		want     string
	}{
		{"malformed YAML", "    groups:\n", "    groups: [\n", "directory.yaml:13: malformed YAML: did not find expected node content"},
		// YAML syntax errors carry the YAML parser's own position, which may be
		// the start of the construct it was reading.
		{"tab indentation", "        surname: Lincoln\n", "\tsurname: Lincoln\n", "directory.yaml:9: malformed YAML: found a tab character"},
		{"stray colon", "        surname: Lincoln\n", "        surname: Lincoln: Jr\n", "directory.yaml:10: malformed YAML: mapping values are not allowed"},
		{"unknown property", "        surname: Lincoln", "        surename: Lincoln",
			`directory.yaml:10: tenants[0].users[0].surename: unknown property; did you mean "surname"?`},
		{"unknown nested property", "          logoutUrl:", "          logoutURL:",
			`directory.yaml:23: tenants[0].applications[0].web.logoutURL: unknown property; did you mean "logoutUrl"?`},
		{"duplicate property", "        givenName: Abe\n", "        givenName: Abe\n        givenName: Abraham\n",
			"directory.yaml:10: tenants[0].users[0].givenName: duplicate property (first at line 9)"},
		{"wrong type", "securityEnabled: true", "securityEnabled: maybe",
			`directory.yaml:15: tenants[0].groups[0].securityEnabled: must be true or false (got string "maybe")`},
		{"list expected", "domains: [contoso.onmicrosoft.com]", "domains: contoso.onmicrosoft.com",
			"directory.yaml:5: tenants[0].domains: must be a list"},
		{"duplicate appId", "appId: " + jobAppID, "appId: " + apiAppID,
			"directory.yaml:41: tenants[0].applications[2].appId: " + apiAppID + " is already declared at tenants[0].applications[1]"},
		{"redirect URI with fragment", "[http://localhost:3000/api/auth/callback/microsoft-entra-id]", "[https://app.contoso.com/cb#done]",
			`directory.yaml:22: tenants[0].applications[0].web.redirectUris[0]: "https://app.contoso.com/cb#done" must not contain a fragment`},
		{"redirect URI over http", "[http://localhost:3000/api/auth/callback/microsoft-entra-id]", "[http://x.com/cb]",
			`directory.yaml:22: tenants[0].applications[0].web.redirectUris[0]: "http://x.com/cb" must use https (http is allowed only for localhost)`},
		{"missing app", "client: " + webAppID, "client: 11111111-1111-4111-8111-111111111111",
			"directory.yaml:48: tenants[0].oauth2PermissionGrants[0].client: no application with appId 11111111-1111-4111-8111-111111111111 in this file or the store"},
		{"missing app in assignment", "resource: " + apiAppID + ", appRole", "resource: 11111111-1111-4111-8111-111111111111, appRole",
			"directory.yaml:46: tenants[0].appRoleAssignments[0].resource: no application with appId 11111111-1111-4111-8111-111111111111"},
		{"too-short secret", "dev-job-secret-0123456789abcdefghij", "short-secret",
			"directory.yaml:44: tenants[0].applications[2].passwordCredentials[0].secretText: is 12 characters long; at least 32 are required"},
		{"missing member", "members: [abeli@contoso.onmicrosoft.com]", "members: [nobody@contoso.onmicrosoft.com]",
			`directory.yaml:16: tenants[0].groups[0].members[0]: "nobody@contoso.onmicrosoft.com" is neither a user (UPN) nor a group (name) of tenant "Contoso"`},
		{"unknown app role", "appRole: Tasks.Read.All", "appRole: Tasks.Write",
			`directory.yaml:46: tenants[0].appRoleAssignments[0].appRole: "Tasks.Write" is not an app role of ` + apiAppID},
		{"unknown scope in grant", "scope: access_as_user", "scope: access_as_admin",
			`directory.yaml:48: tenants[0].oauth2PermissionGrants[0].scope: "access_as_admin" is not a delegated permission of ` + apiAppID},
		{"unknown requested permission", "resourceAccess: [{id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5b", "resourceAccess: [{id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5c",
			"directory.yaml:31: tenants[0].applications[0].requiredResourceAccess[0].resourceAccess[0].id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5c is not a delegated permission"},
		{"UPN outside the tenant's domains", "userPrincipalName: abeli@contoso.onmicrosoft.com", "userPrincipalName: abeli@fabrikam.com",
			`directory.yaml:7: tenants[0].users[0].userPrincipalName: "abeli@fabrikam.com": domain "fabrikam.com" is not a domain of tenant "Contoso"`},
		{"weak password", `password: "Correct-Horse-9"`, `password: "password"`,
			"directory.yaml:12: tenants[0].users[0].password: must contain three of"},
		{"bad tenant type", "type: aad", "type: adfs", `directory.yaml:4: tenants[0].type: "adfs" is not a tenant type`},
		{"bad audience", "signInAudience: AzureADMyOrg", "signInAudience: Everyone", `directory.yaml:20: tenants[0].applications[0].signInAudience: "Everyone" is not one of`},
		{"bad group claims", "groupMembershipClaims: SecurityGroup", "groupMembershipClaims: Groups", "directory.yaml:27: tenants[0].applications[0].groupMembershipClaims: "},
		{"bad token version", "requestedAccessTokenVersion: 2", "requestedAccessTokenVersion: 3", "directory.yaml:36: tenants[0].applications[1].api.requestedAccessTokenVersion: 3 is not 1 or 2"},
		{"bad date", `endDateTime: "2030-01-01T00:00:00Z"`, `endDateTime: "next year"`,
			`directory.yaml:26: tenants[0].applications[0].passwordCredentials[0].endDateTime: must be a date-time`},
		{"missing appId", "      - appId: " + jobAppID + "\n", "      - id: 3c9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d\n",
			"directory.yaml:41: tenants[0].applications[2].appId: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := storetest.NewSQLite(t)
			// Start from a stored directory so "unchanged" means something.
			if _, err := apply(t, st, strings.Replace(issueYAML(t), "Contoso", "Contoso Ltd", 1), fixedT0); err != nil {
				t.Fatal(err)
			}
			before := dump(t, st)
			text := issueYAML(t)
			if !strings.Contains(text, tt.old) {
				t.Fatalf("the test's text %q is not in the file", tt.old)
			}
			_, err := apply(t, st, strings.Replace(text, tt.old, tt.new, 1), fixedT0.Add(time.Hour))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if after := dump(t, st); after != before {
				t.Errorf("the store changed")
			}
		})
	}
}

func TestApplyAppIDOwnedByAnotherTenant(t *testing.T) {
	st := storetest.NewSQLite(t)
	other := `tenants:
  - displayName: Fabrikam
    domains: [fabrikam.onmicrosoft.com]
    applications:
      - appId: ` + jobAppID + `
        displayName: Someone else's job
`
	if _, err := apply(t, st, other, fixedT0); err != nil {
		t.Fatal(err)
	}
	before := dump(t, st)
	_, err := apply(t, st, issueYAML(t), fixedT0)
	want := "directory.yaml:41: tenants[0].applications[2].appId: " + jobAppID + " is already registered in another tenant"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if dump(t, st) != before {
		t.Error("the store changed")
	}
	// A domain that another tenant already has is refused too.
	_, err = apply(t, st, strings.Replace(issueYAML(t), "[contoso.onmicrosoft.com]", "[contoso.onmicrosoft.com, fabrikam.onmicrosoft.com]", 1), fixedT0)
	if err == nil || !strings.Contains(err.Error(), `directory.yaml:5: tenants[0].domains[1]: "fabrikam.onmicrosoft.com" is already a domain of tenant "Fabrikam"`) {
		t.Errorf("got %v", err)
	}
}

// Identifier URIs are unique across tenants, like the store keeps them: an
// API's App ID URI must name one application.
func TestApplyIdentifierURIOwnedByAnotherTenant(t *testing.T) {
	st := storetest.NewSQLite(t)
	other := `tenants:
  - displayName: Fabrikam
    domains: [fabrikam.onmicrosoft.com]
    applications:
      - appId: 7f3e0c1a-2b4d-4e5f-8a6b-9c0d1e2f3a4b
        displayName: Fabrikam tasks
        identifierUris: [api://tasks]
`
	if _, err := apply(t, st, other, fixedT0); err != nil {
		t.Fatal(err)
	}
	before := dump(t, st)
	_, err := apply(t, st, issueYAML(t), fixedT0)
	want := `tenants[0].applications[1].identifierUris[0]: "api://tasks" is already used by application 7f3e0c1a-2b4d-4e5f-8a6b-9c0d1e2f3a4b (stored)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if dump(t, st) != before {
		t.Error("the store changed")
	}
}

func TestApplyReportsAllErrors(t *testing.T) {
	st := storetest.NewSQLite(t)
	text := strings.Replace(issueYAML(t), "[http://localhost:3000/api/auth/callback/microsoft-entra-id]", "[http://x.com/cb]", 1)
	text = strings.Replace(text, "dev-job-secret-0123456789abcdefghij", "short", 1)
	_, err := apply(t, st, text, fixedT0)
	es, ok := err.(Errors)
	if !ok || len(es) != 2 || es[0].Line != 22 || es[1].Line != 44 {
		t.Fatalf("got %#v", err)
	}
}
