package dirfile

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func certPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}

const fabrikamID = "3f2c8a4e-1d5b-4c6a-9e7f-0a1b2c3d4e5f"

// extendedYAML uses every extension: a second tenant with a guest, nested
// groups, directory roles, certificates, explicit service principals of a
// multi-tenant app, user assignments, per-user consent, and a B2C tenant.
func extendedYAML(t *testing.T, dir string) string {
	inline := certPEM(t, "inline")
	if err := os.WriteFile(filepath.Join(dir, "daemon.pem"), certPEM(t, "daemon"), 0o600); err != nil {
		t.Fatal(err)
	}
	return issueYAML(t) + `
  - id: ` + fabrikamID + `
    displayName: Fabrikam
    domains: [fabrikam.onmicrosoft.com, fabrikam.com]
    users:
      - userPrincipalName: ben@fabrikam.com
        id: 7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6
        password: "Correct-Horse-9"
        accountEnabled: false
      - userType: Guest
        homeUser: abeli@contoso.onmicrosoft.com
        displayName: Abe (Contoso)
    groups:
      - displayName: All staff
        members: [Managers, ben@fabrikam.com]
      - displayName: Managers
        members: [abeli@contoso.onmicrosoft.com]
    applications:
      - appId: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d
        displayName: Portal
        signInAudience: AzureADMultipleOrgs
        spa: {redirectUris: ["https://portal.fabrikam.com/"]}
        publicClient: {redirectUris: ["msal9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d://auth", "http://localhost"]}
        identifierUris: ["https://portal.fabrikam.com"]
        api:
          oauth2PermissionScopes:
            - {id: 1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d, value: Portal.Use, type: User}
        appRoles:
          - {id: 2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e, value: Portal.Admin, allowedMemberTypes: [User], displayName: Admins}
        keyCredentials:
          - {displayName: daemon, certificateFile: daemon.pem}
          - displayName: inline
            certificate: |
` + indent(string(inline), "              ") + `
    directoryRoles:
      - {principal: ben@fabrikam.com, role: Global Administrator}
      - {principal: Managers, roleTemplateId: 88d8e3e3-8f55-4a1e-953a-9b9898b8876b}
    appRoleAssignments:
      - {principal: Managers, resource: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, appRole: Portal.Admin}
      - {principal: ben@fabrikam.com, resource: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d}
  - displayName: Woodgrove customers
    type: b2c
    domains: [woodgroveb2c.onmicrosoft.com]
    servicePrincipals:
      - {appId: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, appRoleAssignmentRequired: true}
    users:
      - {userPrincipalName: carol@woodgroveb2c.onmicrosoft.com, password: "Correct-Horse-9"}
    applications:
      - appId: 4c5d6e7f-8a9b-4c0d-8e1f-2a3b4c5d6e7f
        displayName: Shop
        signInAudience: AzureADandPersonalMicrosoftAccount
        spa: {redirectUris: ["https://shop.woodgrove.com/"]}
    oauth2PermissionGrants:
      - {client: 4c5d6e7f-8a9b-4c0d-8e1f-2a3b4c5d6e7f, resource: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, scope: Portal.Use, principal: carol@woodgroveb2c.onmicrosoft.com}
`
}

func TestApplyExtended(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(path, []byte(extendedYAML(t, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := ApplyOptions{SecretHasher: hasher, Now: func() time.Time { return fixedT0 }}
	sum, err := Apply(ctx, st, doc, opts)
	if err != nil {
		t.Fatal(err)
	}

	ben, err := st.GetUser(ctx, fabrikamID, "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6")
	if err != nil || ben.AccountEnabled || ben.UserPrincipalName != "ben@fabrikam.com" {
		t.Errorf("ben %+v %v", ben, err)
	}
	abe, _ := st.GetUserByUPN(ctx, contosoID, "abeli@contoso.onmicrosoft.com")
	guest, err := st.GetUserByUPN(ctx, fabrikamID, "abeli_contoso.onmicrosoft.com#EXT#@fabrikam.onmicrosoft.com")
	if err != nil || guest.UserType != store.UserTypeGuest || guest.HomeUserID != abe.ID || guest.HomeTenantID != contosoID ||
		guest.DisplayName != "Abe (Contoso)" || guest.PasswordHash != "" || guest.Mail != "abeli@contoso.onmicrosoft.com" {
		t.Errorf("guest %+v %v", guest, err)
	}
	managers, _ := st.GetGroupByName(ctx, fabrikamID, "Managers")
	staff, _ := st.GetGroupByName(ctx, fabrikamID, "All staff")
	if len(managers.Members) != 1 || managers.Members[0].ID != guest.ID || !managers.SecurityEnabled {
		t.Errorf("managers %+v", managers)
	}
	if len(staff.Members) != 2 || staff.Members[0] != (store.DirectoryObjectRef{ID: managers.ID, Type: store.MemberTypeGroup}) || staff.Members[1].ID != ben.ID {
		t.Errorf("staff %+v", staff)
	}
	roles, _ := st.ListDirectoryRoleAssignments(ctx, fabrikamID)
	if len(roles) != 2 {
		t.Errorf("directory roles %+v", roles)
	}
	for _, r := range roles {
		if r.PrincipalID == ben.ID && r.RoleDefinitionID != "62e90394-69f5-4237-9190-012177145e10" ||
			r.PrincipalID == managers.ID && r.RoleDefinitionID != "88d8e3e3-8f55-4a1e-953a-9b9898b8876b" {
			t.Errorf("role %+v", r)
		}
	}

	portal, err := st.GetApplicationByAppID(ctx, "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
	if err != nil || len(portal.KeyCredentials) != 2 {
		t.Fatalf("portal %+v %v", portal, err)
	}
	kc := portal.KeyCredentials[0]
	sum1 := sha1.Sum(kc.Key)
	if kc.DisplayName != "daemon" || !bytes.Equal(kc.CustomKeyIdentifier, sum1[:]) || kc.Type != "AsymmetricX509Cert" || kc.Usage != "Verify" ||
		kc.EndDateTime.Year() != 2028 || portal.KeyCredentials[1].DisplayName != "inline" {
		t.Errorf("key credential %+v", kc)
	}
	portalSP, _ := st.GetServicePrincipalByAppID(ctx, fabrikamID, portal.AppID)
	ara, _ := st.ListAppRoleAssignments(ctx, fabrikamID)
	if len(ara) != 2 {
		t.Fatalf("assignments %+v", ara)
	}
	for _, a := range ara {
		if a.ResourceID != portalSP.ID || a.PrincipalID == managers.ID && (a.AppRoleID != "2b3c4d5e-6f7a-4b2c-9d3e-4f5a6b7c8d9e" || a.PrincipalType != "Group") ||
			a.PrincipalID == ben.ID && a.AppRoleID != directory.DefaultAccessRole {
			t.Errorf("assignment %+v", a)
		}
	}

	b2c, err := st.GetTenantByDomain(ctx, "woodgroveb2c.onmicrosoft.com")
	if err != nil || b2c.Type != store.TenantTypeB2C {
		t.Fatalf("b2c %+v %v", b2c, err)
	}
	shop, _ := st.GetApplicationByAppID(ctx, "4c5d6e7f-8a9b-4c0d-8e1f-2a3b4c5d6e7f")
	if v := shop.API.RequestedAccessTokenVersion; v == nil || *v != 2 {
		t.Errorf("shop token version %v", v)
	}
	// The multi-tenant portal is instantiated in the B2C tenant as declared.
	portalInB2C, err := st.GetServicePrincipalByAppID(ctx, b2c.ID, portal.AppID)
	if err != nil || !portalInB2C.AppRoleAssignmentRequired || portalInB2C.AppOwnerOrganizationID != fabrikamID {
		t.Errorf("portal SP in b2c %+v %v", portalInB2C, err)
	}
	carol, _ := st.GetUserByUPN(ctx, b2c.ID, "carol@woodgroveb2c.onmicrosoft.com")
	shopSP, _ := st.GetServicePrincipalByAppID(ctx, b2c.ID, shop.AppID)
	grants, _ := st.ListOAuth2PermissionGrants(ctx, b2c.ID)
	if len(grants) != 1 || grants[0].ConsentType != store.ConsentPrincipal || grants[0].PrincipalID != carol.ID ||
		grants[0].ClientID != shopSP.ID || grants[0].ResourceID != portalInB2C.ID || grants[0].Scope != "Portal.Use" {
		t.Errorf("grants %+v", grants)
	}

	// Idempotent: ids (generated or given), keyIds and hashes stay.
	before := dump(t, st)
	opts.Now = func() time.Time { return fixedT0.Add(time.Hour) }
	doc, _ = Load(path)
	sum2, err := Apply(ctx, st, doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Created != 0 || sum2.Updated != 0 || sum2.Unchanged != sum.Created {
		t.Errorf("second apply: %s (first: %s) %+v", sum2, sum, sum2.Changes)
	}
	if dump(t, st) != before {
		t.Error("second apply changed the store")
	}
}

func TestApplyExtendedErrors(t *testing.T) {
	dir := t.TempDir()
	base := extendedYAML(t, dir)
	tests := []struct {
		name, old, new, want string
	}{
		{"guest of nobody", "homeUser: abeli@contoso.onmicrosoft.com", "homeUser: nobody@contoso.onmicrosoft.com",
			`tenants[1].users[1].homeUser: no user "nobody@contoso.onmicrosoft.com" in this file or the store`},
		{"guest with password", "        displayName: Abe (Contoso)\n", "        displayName: Abe (Contoso)\n        password: Correct-Horse-9\n",
			"tenants[1].users[1].password: a Guest signs in at its home tenant"},
		{"group cycle", "members: [abeli@contoso.onmicrosoft.com]\n    applications:\n      - appId: 9a8b", "members: [All staff]\n    applications:\n      - appId: 9a8b",
			"contains itself through nested groups"},
		{"unknown role name", "role: Global Administrator", "role: Supreme Leader", `tenants[1].directoryRoles[0].role: unknown role "Supreme Leader"`},
		{"role assignable to users only", "{principal: Managers, resource: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, appRole: Portal.Admin}",
			"{principal: " + jobAppID + ", resource: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, appRole: Portal.Admin}",
			`appRole: app role "Portal.Admin" of 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d cannot be assigned to a application`},
		{"missing certificate file", "certificateFile: daemon.pem", "certificateFile: nope.pem", "tenants[1].applications[0].keyCredentials[0].certificateFile: open "},
		{"private key instead of certificate", "certificateFile: daemon.pem", "certificate: \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n\"",
			"keyCredentials[0].certificate: the PEM holds a private key"},
		{"identifier URI on a foreign domain", `identifierUris: ["https://portal.fabrikam.com"]`, `identifierUris: ["https://portal.contoso.com"]`,
			"tenants[1].applications[0].identifierUris[0]: \"https://portal.contoso.com\": an http(s) identifier URI must use a verified domain"},
		{"single-tenant app in another tenant", "{appId: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d, appRoleAssignmentRequired: true}", "{appId: " + webAppID + "}",
			`tenants[2].servicePrincipals[0].appId: application "` + webAppID + `" is single-tenant (AzureADMyOrg)`},
		{"query string with personal accounts", `["https://shop.woodgrove.com/"]`, `["https://shop.woodgrove.com/?x=1"]`,
			"tenants[2].applications[0].spa.redirectUris[0]: \"https://shop.woodgrove.com/?x=1\" must not contain a query string"},
		{"explicit token version 1 with personal accounts", "        spa: {redirectUris: [\"https://shop.woodgrove.com/\"]}\n",
			"        spa: {redirectUris: [\"https://shop.woodgrove.com/\"]}\n        api: {requestedAccessTokenVersion: 1}\n",
			"tenants[2].applications[0].api.requestedAccessTokenVersion: must be 2"},
		{"grant principal missing", "principal: carol@woodgroveb2c.onmicrosoft.com}", "principal: dave@woodgroveb2c.onmicrosoft.com}",
			`tenants[2].oauth2PermissionGrants[0].principal: "dave@woodgroveb2c.onmicrosoft.com" is not a user`},
		{"duplicate UPN", "      - userPrincipalName: ben@fabrikam.com\n", "      - userPrincipalName: abeli@contoso.onmicrosoft.com\n",
			`tenants[1].users[0].userPrincipalName: "abeli@contoso.onmicrosoft.com" is already declared at tenants[0].users[0]`},
		{"same domain twice", "domains: [woodgroveb2c.onmicrosoft.com]", "domains: [fabrikam.com]",
			`tenants[2].domains[0]: "fabrikam.com" is already a domain of the tenant at tenants[1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.old) {
				t.Fatalf("%q is not in the file", tt.old)
			}
			path := filepath.Join(dir, "directory.yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(base, tt.old, tt.new, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			st := storetest.NewSQLite(t)
			before := dump(t, st)
			doc, err := Load(path)
			if err == nil {
				_, err = Apply(context.Background(), st, doc, ApplyOptions{SecretHasher: hasher})
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path+":") {
				t.Fatalf("got:\n%v\nwant it to contain:\n%s", err, tt.want)
			}
			if dump(t, st) != before {
				t.Error("the store changed")
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "directory.yaml: the file is empty"},
		{"no tenants", "tenants: []\n", "directory.yaml:1: tenants: at least one tenant is required"},
		{"two documents", "tenants: []\n---\ntenants: []\n", "directory.yaml:2: only one YAML document is allowed"},
		{"top-level unknown", "tenant:\n  - id: x\n", `directory.yaml:1: tenant: unknown property; did you mean "tenants"?`},
		{"not a mapping", "- a\n- b\n", "directory.yaml:1: must be a mapping of properties (got a list)"},
		{"string expected", "tenants:\n  - displayName: [a]\n", "directory.yaml:2: tenants[0].displayName: must be a string (got a list)"},
		{"bool as string", "tenants:\n  - displayName: true\n", `directory.yaml:2: tenants[0].displayName: must be a string (got boolean "true")`},
		{"integer expected", "tenants:\n  - applications:\n      - api: {requestedAccessTokenVersion: two}\n",
			`directory.yaml:3: tenants[0].applications[0].api.requestedAccessTokenVersion: must be an integer (got string "two")`},
		{"far-off name", "tenants:\n  - colour: blue\n", "directory.yaml:2: tenants[0].colour: unknown property\n"},
		// Aliases that contain themselves would be decoded forever (fuzzing
		// found the first).
		{"merge of itself", "tenants:\n  - &t {<<: *t, domains: []}\n", "directory.yaml:2: tenants[0]: an alias must not refer to a value that contains it"},
		{"list containing itself", "tenants: &t\n  - *t\n", "directory.yaml:1: tenants[0]: an alias must not refer to a value that contains it"},
		{"merge of an ancestor", "tenants:\n - &t {displayName: A, applications: [{displayName: x, web: {<<: *t}}]}\n",
			"directory.yaml:2: tenants[0].applications[0].web: an alias must not refer to a value that contains it"},
		{"alias explosion", aliasBomb(), "the file's aliases expand to more than 1000000 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("directory.yaml", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error()+"\n", tt.want) {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}

// aliasBomb is a short file whose aliases stand for a billion redirect
// URIs (1,000 tenants × 1,000 applications × 1,000 URIs).
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("tenants:\n  - &tenant\n    displayName: A\n    applications: &apps\n      - &app\n        displayName: x\n        web: {redirectUris: [")
	b.WriteString(strings.TrimSuffix(strings.Repeat("https://a.example/cb, ", 1000), ", "))
	b.WriteString("]}\n")
	for range 999 {
		b.WriteString("      - *app\n")
	}
	for range 999 {
		b.WriteString("  - *tenant\n")
	}
	return b.String()
}

func TestParseMergeKeysAndNumbers(t *testing.T) {
	text := `tenants:
  - id: ` + contosoID + `
    displayName: 2024
    domains: [contoso.com]
    applications:
      - appId: ` + webAppID + `
        displayName: A
        web: &web
          redirectUris: ["https://app.contoso.com/cb"]
          logoutUrl: https://app.contoso.com/logout
      - appId: ` + jobAppID + `
        displayName: B
        web:
          <<: *web
          logoutUrl: https://app.contoso.com/bye
`
	doc, err := Parse("directory.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tn := doc.Tenants[0]
	a, b := tn.Applications[0].Web, tn.Applications[1].Web
	if tn.DisplayName != "2024" || b.RedirectURIs[0] != "https://app.contoso.com/cb" || b.LogoutURL != "https://app.contoso.com/bye" ||
		a.LogoutURL != "https://app.contoso.com/logout" {
		t.Errorf("%+v", tn)
	}
}
