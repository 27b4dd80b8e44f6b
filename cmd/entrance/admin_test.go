package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/serversecrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// The admin commands run in-process through the real root command, on a
// real database: SQLite in a temporary data directory, and PostgreSQL in a
// schema of its own when ENTRANCE_TEST_POSTGRES is set.

func TestAdminSQLite(t *testing.T) {
	testAdmin(t, newAdminHarness(t, "", t.TempDir()))
}

func TestAdminPostgres(t *testing.T) {
	testAdmin(t, newAdminHarness(t, storetest.NewPostgresDSN(t), t.TempDir()))
}

// adminHarness runs commands against one database and keeps everything they
// printed, so the test can check at the end that no hash ever leaked.
type adminHarness struct {
	t         *testing.T
	dbURL     string
	dataDir   string
	masterKey string
	printed   []string
}

func newAdminHarness(t *testing.T, dbURL, dataDir string) *adminHarness {
	return &adminHarness{t: t, dbURL: dbURL, dataDir: dataDir, masterKey: sealbox.GenerateMasterKey()}
}

// run runs `entrance args...` with stdin and returns what it printed and its error.
func (h *adminHarness) run(stdin string, args ...string) (string, string, error) {
	getenv := func(k string) (string, bool) {
		if k == "ENTRANCE_MASTER_KEY" {
			return h.masterKey, true
		}
		return "", false
	}
	var stdout, stderr bytes.Buffer
	root := newRootCommand(&stdout, &stderr, getenv)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"--data", h.dataDir, "--db", h.dbURL}, args...))
	err := root.ExecuteContext(context.Background())
	h.printed = append(h.printed, stdout.String(), stderr.String())
	if err != nil {
		h.printed = append(h.printed, err.Error())
	}
	return stdout.String(), stderr.String(), err
}

// ok runs a command that must succeed and returns its standard output.
func (h *adminHarness) ok(args ...string) string {
	h.t.Helper()
	out, stderr, err := h.run("", args...)
	if err != nil {
		h.t.Fatalf("entrance %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// okJSON runs a command with -o json and decodes its output into v.
func (h *adminHarness) okJSON(v any, args ...string) {
	h.t.Helper()
	out := h.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("entrance %s -o json printed %q: %v", strings.Join(args, " "), out, err)
	}
}

// withStore opens the database the commands use.
func (h *adminHarness) withStore(fn func(st store.Store)) {
	h.t.Helper()
	st, err := storeopen.Open(context.Background(), h.dbURL, h.dataDir)
	if err != nil {
		h.t.Fatal(err)
	}
	defer st.Close()
	fn(st)
}

// hasher returns the client-secret hasher the commands use.
func (h *adminHarness) hasher(st store.Store) *secrets.ClientSecretHasher {
	h.t.Helper()
	keys, err := sealbox.ParseMasterKeys(h.masterKey)
	if err != nil {
		h.t.Fatal(err)
	}
	box, err := sealbox.New(keys...)
	if err != nil {
		h.t.Fatal(err)
	}
	sec, err := serversecrets.Load(context.Background(), st, box)
	if err != nil {
		h.t.Fatal(err)
	}
	return sec.ClientSecretHasher()
}

// dump is everything in the database, to check that a failed command
// changed nothing.
func (h *adminHarness) dump() string {
	h.t.Helper()
	var b strings.Builder
	h.withStore(func(st store.Store) {
		ctx := context.Background()
		add := func(v any, err error) {
			if err != nil {
				h.t.Fatal(err)
			}
			j, _ := json.Marshal(v)
			b.Write(j)
			b.WriteByte('\n')
		}
		ts, err := st.ListTenants(ctx)
		add(ts, err)
		for _, t := range ts {
			add(st.ListUsers(ctx, t.ID))
			add(st.ListGroups(ctx, t.ID))
			add(st.ListApplications(ctx, t.ID))
			add(st.ListServicePrincipals(ctx, t.ID))
		}
		add(st.ListServerSecrets(ctx))
		add(st.ChangeVersion(ctx))
	})
	return b.String()
}

const (
	contosoID     = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	contoso       = "contoso.onmicrosoft.com"
	fabrikam      = "fabrikam.onmicrosoft.com"
	abeli         = "abeli@contoso.onmicrosoft.com"
	goodPassword  = "Correct-Horse-9"
	singleAppID   = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	unknownAppID  = "11111111-2222-4333-8444-555555555555"
	sharedAppName = "Shared API"
)

func testAdmin(t *testing.T, h *adminHarness) {
	// The directory the cases below build on.
	h.ok("tenant", "create", "--id", contosoID, "--name", "Contoso", "--domain", contoso)
	h.ok("tenant", "create", "--name", "Fabrikam", "--domain", fabrikam, "--domain", "fabrikam.example.com")
	h.ok("user", "create", "--tenant", contoso, "--upn", abeli, "--name", "Abe Lincoln", "--password", goodPassword)
	h.ok("app", "create", "--tenant", contoso, "--name", "Web", "--app-id", singleAppID,
		"--web-redirect-uri", "http://localhost:3000/api/auth/callback/microsoft-entra-id")
	var shared [2]string // multi-tenant apps, for service principals in Fabrikam
	for i := range shared {
		var a map[string]any
		h.okJSON(&a, "app", "create", "--tenant", contosoID, "--name", fmt.Sprintf("%s %d", sharedAppName, i), "--audience", "AzureADMultipleOrgs")
		shared[i] = a["appId"].(string)
	}

	t.Run("crud", func(t *testing.T) { testAdminCRUD(t, h, shared) })
	t.Run("errors leave the store unchanged", func(t *testing.T) { testAdminErrors(t, h) })
	t.Run("users", func(t *testing.T) { testAdminUsers(t, h) })
	t.Run("groups", func(t *testing.T) { testAdminGroups(t, h) })
	t.Run("apps", func(t *testing.T) { testAdminApps(t, h) })
	t.Run("secrets", func(t *testing.T) { testAdminSecrets(t, h) })
	t.Run("certificates", func(t *testing.T) { testAdminCerts(t, h) })
	t.Run("no hash is ever printed", func(t *testing.T) { testAdminNoHashes(t, h) })
}

// testAdminCRUD runs create, list, show and delete for every kind of object,
// in text and in JSON: it creates two objects (one printed as JSON, one as
// text), finds both in both list formats, shows one both ways, deletes it
// and checks it is gone.
func testAdminCRUD(t *testing.T, h *adminHarness, shared [2]string) {
	for _, k := range []struct {
		kind   string
		create func(i int) []string // args creating object i
		key    string               // the JSON property that names an object in show/delete
		text   func(i int) string   // what the text output of object i shows
		scope  []string             // flags every list/show/delete needs
	}{
		{
			kind: "tenant",
			create: func(i int) []string {
				return []string{"--name", fmt.Sprint("Tenant ", i), "--domain", fmt.Sprintf("t%d.example.com", i)}
			},
			key:  "id",
			text: func(i int) string { return fmt.Sprintf("t%d.example.com", i) },
		},
		{
			kind: "user",
			create: func(i int) []string {
				return []string{"--upn", fmt.Sprintf("u%d@%s", i, contoso), "--name", fmt.Sprint("User ", i), "--password", goodPassword}
			},
			key:   "userPrincipalName",
			text:  func(i int) string { return fmt.Sprintf("u%d@%s", i, contoso) },
			scope: []string{"--tenant", contoso},
		},
		{
			kind:   "group",
			create: func(i int) []string { return []string{"--name", fmt.Sprint("Group ", i), "--member", abeli} },
			key:    "displayName",
			text:   func(i int) string { return fmt.Sprint("Group ", i) },
			scope:  []string{"--tenant", contosoID},
		},
		{
			kind: "app",
			create: func(i int) []string {
				return []string{"--tenant", contoso, "--name", fmt.Sprint("App ", i), "--spa-redirect-uri", fmt.Sprintf("https://app%d.example.com/", i)}
			},
			key:  "appId",
			text: func(i int) string { return fmt.Sprint("App ", i) },
		},
		{
			kind:   "sp",
			create: func(i int) []string { return []string{"--app-id", shared[i]} },
			key:    "id",
			text:   func(i int) string { return fmt.Sprint(sharedAppName, " ", i) },
			scope:  []string{"--tenant", fabrikam},
		},
	} {
		t.Run(k.kind, func(t *testing.T) {
			cmd := func(verb string, args ...string) []string {
				return append(append([]string{k.kind, verb}, k.scope...), args...)
			}
			var created map[string]any
			h.okJSON(&created, cmd("create", k.create(0)...)...)
			key0, _ := created[k.key].(string)
			if key0 == "" {
				t.Fatalf("create -o json printed no %s: %v", k.key, created)
			}
			if out := h.ok(cmd("create", k.create(1)...)...); !strings.Contains(out, "Created") || !strings.Contains(out, k.text(1)) {
				t.Errorf("create printed %q, want a Created line and %q", out, k.text(1))
			}

			out := h.ok(cmd("list")...)
			for i := range 2 {
				if !strings.Contains(out, k.text(i)) {
					t.Errorf("list printed\n%s\nwithout %q", out, k.text(i))
				}
			}
			if keys := listKeys(t, h, k.key, cmd("list")...); !slices.Contains(keys, key0) || len(keys) < 2 {
				t.Errorf("list -o json has %s %v, want %s and another", k.key, keys, key0)
			}

			if out := h.ok(cmd("show", key0)...); !strings.Contains(out, k.text(0)) {
				t.Errorf("show printed %q, want %q", out, k.text(0))
			}
			var shown map[string]any
			h.okJSON(&shown, cmd("show", key0)...)
			if shown[k.key] != key0 || shown["id"] != created["id"] {
				t.Errorf("show -o json = %v, want the created object %v", shown, created)
			}

			if out := h.ok(cmd("delete", key0)...); !strings.Contains(out, "Deleted") {
				t.Errorf("delete printed %q", out)
			}
			_, _, err := h.run("", cmd("show", key0)...)
			if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), key0+": not found") {
				t.Errorf("show after delete: %v (exit %d), want %q", err, exitCode(err), key0+": not found")
			}
			if keys := listKeys(t, h, k.key, cmd("list")...); slices.Contains(keys, key0) {
				t.Errorf("list -o json after delete still has %s", key0)
			}
		})
	}
}

// listKeys runs a list command with -o json and returns property key of every element.
func listKeys(t *testing.T, h *adminHarness, key string, args ...string) []string {
	t.Helper()
	var items []map[string]any
	h.okJSON(&items, args...)
	if items == nil {
		t.Fatalf("%v -o json printed null, want an array", args)
	}
	var keys []string
	for _, it := range items {
		s, _ := it[key].(string)
		keys = append(keys, s)
	}
	return keys
}

func testAdminErrors(t *testing.T, h *adminHarness) {
	dir := t.TempDir()
	notACert := filepath.Join(dir, "not-a-cert.pem")
	if err := os.WriteFile(notACert, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"unknown tenant", []string{"user", "create", "--tenant", "nope.example.com", "--upn", "x@nope.example.com"}, "", 1, "tenant nope.example.com: not found"},
		{"unknown tenant GUID", []string{"group", "list", "--tenant", unknownAppID}, "", 1, "tenant " + unknownAppID + ": not found"},
		{"tenant alias", []string{"user", "list", "--tenant", "common"}, "", 2, "alias"},
		{"missing tenant", []string{"user", "create", "--upn", "x@" + contoso}, "", 2, "--tenant is required"},
		{"duplicate appId", []string{"app", "create", "--tenant", contoso, "--name", "Again", "--app-id", singleAppID}, "", 1, "app " + singleAppID + ": already exists"},
		{"duplicate domain", []string{"tenant", "create", "--name", "Other", "--domain", "FABRIKAM.example.com"}, "", 1, "already exists"},
		{"duplicate user", []string{"user", "create", "--tenant", contoso, "--upn", strings.ToUpper(abeli)}, "", 1, "already exists"},
		{"non-https redirect URI", []string{"app", "create", "--tenant", contoso, "--name", "Bad", "--web-redirect-uri", "http://app.example.com/cb"}, "", 2, "application: web.redirectUris[0]"},
		{"redirect URI with fragment", []string{"app", "create", "--tenant", contoso, "--name", "Bad", "--spa-redirect-uri", "https://app.example.com/#x"}, "", 2, "spa.redirectUris[0]"},
		{"bad appId", []string{"app", "create", "--tenant", contoso, "--name", "Bad", "--app-id", "not-a-guid"}, "", 2, "application: appId"},
		{"bad audience", []string{"app", "create", "--tenant", contoso, "--name", "Bad", "--audience", "Everyone"}, "", 2, "signInAudience"},
		{"bad token version", []string{"app", "create", "--tenant", contoso, "--name", "Bad", "--access-token-version", "3"}, "", 2, "api.requestedAccessTokenVersion"},
		{"too-short password", []string{"user", "create", "--tenant", contoso, "--upn", "short@" + contoso, "--password", "Ab1!"}, "", 2, "password: must be at least 8 characters"},
		{"too-short password on stdin", []string{"user", "create", "--tenant", contoso, "--upn", "short@" + contoso, "--password-stdin"}, "Ab1!\n", 2, "password"},
		{"UPN off the tenant's domains", []string{"user", "create", "--tenant", contoso, "--upn", "x@" + fabrikam}, "", 2, "user: userPrincipalName"},
		{"guest of a missing user", []string{"user", "create", "--tenant", fabrikam, "--guest-of", "nobody@" + contoso}, "", 1, "home user nobody@" + contoso + ": not found"},
		{"guest in its own tenant", []string{"user", "create", "--tenant", contoso, "--guest-of", abeli}, "", 2, "homeUser"},
		{"bad domain", []string{"tenant", "create", "--name", "Bad", "--domain", "not_a_domain"}, "", 2, "tenant: domains[0]"},
		{"bad tenant type", []string{"tenant", "create", "--name", "Bad", "--domain", "bad.example.com", "--type", "msa"}, "", 2, "tenant: type"},
		{"unknown output format on create", []string{"tenant", "create", "--name", "Y", "--domain", "y.example.com", "-o", "yaml"}, "", 2, `--output "yaml"`},
		{"unknown output format on list", []string{"tenant", "list", "-o", "yaml"}, "", 2, `--output "yaml"`},
		{"unknown member", []string{"group", "create", "--tenant", contoso, "--name", "G", "--member", "nobody@" + contoso}, "", 1, "member nobody@" + contoso},
		{"single-tenant app in another tenant", []string{"sp", "create", "--tenant", fabrikam, "--app-id", singleAppID}, "", 2, "single-tenant"},
		{"service principal of a missing app", []string{"sp", "create", "--tenant", fabrikam, "--app-id", unknownAppID}, "", 1, "app " + unknownAppID + ": not found"},
		{"secret for a missing app", []string{"app", "secret", "add", unknownAppID}, "", 1, "app " + unknownAppID + ": not found"},
		{"secret ending in the past", []string{"app", "secret", "add", singleAppID, "--end", "2001-01-01"}, "", 2, "not in the future"},
		{"secret with a bad end", []string{"app", "secret", "add", singleAppID, "--end", "soon"}, "", 2, `--end "soon"`},
		{"secret with end and years", []string{"app", "secret", "add", singleAppID, "--end", "2030-01-01", "--years", "1"}, "", 2, "not both"},
		{"delete a missing secret", []string{"app", "secret", "delete", singleAppID, unknownAppID}, "", 1, "secret " + unknownAppID + " of app " + singleAppID + ": not found"},
		{"not a certificate", []string{"app", "cert", "add", singleAppID, "--file", notACert}, "", 2, "not an X.509 certificate"},
		{"missing certificate file", []string{"app", "cert", "add", singleAppID, "--file", filepath.Join(dir, "missing.pem")}, "", 1, "--file"},
		{"missing app", []string{"app", "show", unknownAppID}, "", 1, "app " + unknownAppID + ": not found"},
		{"missing user", []string{"user", "delete", "--tenant", contoso, "nobody@" + contoso}, "", 1, "user nobody@" + contoso + ": not found"},
		{"missing required flag", []string{"group", "create", "--tenant", contoso}, "", 2, "--name is required"},
		{"missing certificate flag", []string{"app", "cert", "add", singleAppID}, "", 2, "app cert add: --file is required"},
		{"unknown flag", []string{"tenant", "list", "--frobnicate"}, "", 2, "unknown flag"},
		{"extra argument", []string{"app", "show", singleAppID, "extra"}, "", 2, "want <appId>"},
		{"unknown subcommand", []string{"tenant", "frobnicate"}, "", 2, `unknown subcommand "frobnicate"`},
		{"missing subcommand", []string{"app", "secret"}, "", 2, "missing subcommand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.dump()
			out, _, err := h.run(tc.stdin, tc.args...)
			if err == nil {
				t.Fatalf("entrance %s succeeded, printing %q", strings.Join(tc.args, " "), out)
			}
			if code := exitCode(err); code != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("entrance %s: %v (exit %d), want exit %d and %q", strings.Join(tc.args, " "), err, code, tc.code, tc.want)
			}
			if after := h.dump(); after != before {
				t.Errorf("entrance %s changed the store:\nbefore %s\nafter  %s", strings.Join(tc.args, " "), before, after)
			}
		})
	}
}

func testAdminUsers(t *testing.T, h *adminHarness) {
	var u map[string]any
	h.okJSON(&u, "user", "create", "--tenant", contoso, "--upn", "grace@"+contoso, "--name", "Grace Hopper",
		"--given-name", "Grace", "--surname", "Hopper", "--mail", "grace@example.com")
	if u["givenName"] != "Grace" || u["surname"] != "Hopper" || u["mail"] != "grace@example.com" || u["lastPasswordChangeDateTime"] != nil {
		t.Errorf("user create -o json = %v", u)
	}
	if out := h.ok("user", "show", "--tenant", contoso, "GRACE@"+contoso); !strings.Contains(out, "Grace Hopper") || !regexpMatch(`password:\s+none`, out) {
		t.Errorf("user show printed %q", out)
	}

	out, stderr, err := h.run(goodPassword+"\n", "user", "create", "--tenant", contoso, "--upn", "ada@"+contoso, "--password-stdin", "-o", "json")
	if err != nil {
		t.Fatalf("user create --password-stdin: %v %s", err, stderr)
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatal(err)
	}
	if u["userType"] != "Member" || u["accountEnabled"] != true || u["lastPasswordChangeDateTime"] == nil {
		t.Errorf("user create -o json = %v", u)
	}
	h.withStore(func(st store.Store) {
		su, err := st.GetUserByUPN(context.Background(), contosoID, "ada@"+contoso)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := secrets.VerifyPassword(su.PasswordHash, goodPassword); !ok || err != nil {
			t.Errorf("the password read from stdin does not verify: %v", err)
		}
	})

	var guest map[string]any
	h.okJSON(&guest, "user", "create", "--tenant", fabrikam, "--guest-of", abeli)
	var home map[string]any
	h.okJSON(&home, "user", "show", "--tenant", contoso, abeli)
	want := map[string]any{
		"userType":          "Guest",
		"userPrincipalName": "abeli_contoso.onmicrosoft.com#EXT#@fabrikam.onmicrosoft.com",
		"homeTenantId":      contosoID,
		"homeUserId":        home["id"],
		"displayName":       "Abe Lincoln",
	}
	for k, v := range want {
		if guest[k] != v {
			t.Errorf("guest %s = %v, want %v", k, guest[k], v)
		}
	}
	if out := h.ok("user", "show", "--tenant", fabrikam, guest["id"].(string)); !strings.Contains(out, "homeUserId:") || !strings.Contains(out, "password:") {
		t.Errorf("user show of a guest printed %q", out)
	}
	if out := h.ok("user", "--tenant", fabrikam, "list"); !strings.Contains(out, "#EXT#") {
		t.Errorf("user --tenant T list printed %q", out)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

func testAdminGroups(t *testing.T, h *adminHarness) {
	h.ok("user", "create", "--tenant", contoso, "--upn", "bob@"+contoso)
	h.ok("group", "create", "--tenant", contoso, "--name", "Engineering", "--member", abeli)
	var g map[string]any
	h.okJSON(&g, "group", "create", "--tenant", contoso, "--name", "Everyone", "--security-enabled=false", "--member", "Engineering", "--member", "bob@"+contoso)
	if g["securityEnabled"] != false || len(g["members"].([]any)) != 2 {
		t.Errorf("group create -o json = %v", g)
	}
	if out := h.ok("group", "show", "--tenant", contoso, "Everyone"); !strings.Contains(out, "Engineering") || !strings.Contains(out, "bob@"+contoso) {
		t.Errorf("group show does not name the members:\n%s", out)
	}

	h.ok("group", "member", "add", "--tenant", contoso, "Everyone", abeli)
	h.okJSON(&g, "group", "member", "remove", "--tenant", contoso, "Everyone", "Engineering", "bob@"+contoso)
	members := g["members"].([]any)
	if len(members) != 1 || members[0].(map[string]any)["type"] != "user" {
		t.Errorf("after member add and remove, members = %v", members)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "Everyone", abeli}, "already a member"},
		{[]string{"remove", "Everyone", "bob@" + contoso}, "not a member"},
		{[]string{"add", "Everyone", "Everyone"}, "members[1]: a group cannot be a member of itself"},
		{[]string{"add", "Everyone"}, "at least one <member>"},
	} {
		before := h.dump()
		_, _, err := h.run("", append([]string{"group", "member", "--tenant", contoso}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("group member %v: %v, want %q", tc.args, err, tc.want)
		}
		if h.dump() != before {
			t.Errorf("group member %v changed the store", tc.args)
		}
	}
}

func testAdminApps(t *testing.T, h *adminHarness) {
	var a map[string]any
	h.okJSON(&a, "app", "create", "--tenant", contoso, "--name", "Everything", "--audience", "AzureADMultipleOrgs",
		"--web-redirect-uri", "https://web.example.com/cb", "--web-redirect-uri", "http://localhost:3000/cb",
		"--spa-redirect-uri", "https://spa.example.com/", "--public-client-redirect-uri", "msal7f9e2c1a://auth",
		"--logout-url", "https://web.example.com/logout", "--identifier-uri", "api://everything",
		"--access-token-version", "2", "--enable-id-token-issuance", "--fallback-public-client")
	appID := a["appId"].(string)
	want := `{"signInAudience":"AzureADMultipleOrgs",` +
		`"web":{"redirectUris":["https://web.example.com/cb","http://localhost:3000/cb"],"logoutUrl":"https://web.example.com/logout","implicitGrantSettings":{"enableIdTokenIssuance":true,"enableAccessTokenIssuance":false}},` +
		`"spa":{"redirectUris":["https://spa.example.com/"]},"publicClient":{"redirectUris":["msal7f9e2c1a://auth"]},` +
		`"isFallbackPublicClient":true,"identifierUris":["api://everything"],"requestedAccessTokenVersion":2,"tenantId":"` + contosoID + `"}`
	got, _ := json.Marshal(map[string]any{
		"signInAudience": a["signInAudience"], "web": a["web"], "spa": a["spa"], "publicClient": a["publicClient"],
		"isFallbackPublicClient": a["isFallbackPublicClient"], "identifierUris": a["identifierUris"],
		"requestedAccessTokenVersion": a["api"].(map[string]any)["requestedAccessTokenVersion"], "tenantId": a["tenantId"],
	})
	if !jsonEqual(t, string(got), want) {
		t.Errorf("app create -o json:\n got %s\nwant %s", got, want)
	}

	// The home tenant got the service principal, as in Entra.
	var sp map[string]any
	h.okJSON(&sp, "sp", "show", "--tenant", contoso, appID)
	if sp["appId"] != appID || sp["appOwnerOrganizationId"] != contosoID || sp["appDisplayName"] != "Everything" {
		t.Errorf("service principal of the new app = %v", sp)
	}
	if keys := listKeys(t, h, "appId", "app", "list"); !slices.Contains(keys, appID) || !slices.Contains(keys, singleAppID) {
		t.Errorf("app list (all tenants) = %v", keys)
	}
	if keys := listKeys(t, h, "appId", "app", "list", "--tenant", fabrikam); len(keys) != 0 {
		t.Errorf("app list --tenant %s = %v, want none", fabrikam, keys)
	}

	// Deleting the app deletes its service principals in every tenant.
	h.ok("sp", "create", "--tenant", fabrikam, "--app-id", appID)
	h.ok("app", "delete", appID)
	for _, tenant := range []string{contoso, fabrikam} {
		if _, _, err := h.run("", "sp", "show", "--tenant", tenant, appID); err == nil {
			t.Errorf("the service principal in %s outlived its app", tenant)
		}
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

func testAdminSecrets(t *testing.T, h *adminHarness) {
	var added struct {
		KeyID, DisplayName, Hint, SecretText string
		StartDateTime, EndDateTime           time.Time
	}
	h.okJSON(&added, "app", "secret", "add", singleAppID, "--name", "ci", "--end", "2030-01-01")
	if len(added.SecretText) < secrets.MinClientSecretLength || added.Hint != added.SecretText[:3] || added.DisplayName != "ci" ||
		!added.EndDateTime.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) || added.KeyID == "" {
		t.Fatalf("app secret add -o json = %+v", added)
	}
	text := h.ok("app", "secret", "add", singleAppID, "--years", "1")
	if !strings.Contains(text, "shown only this once") {
		t.Errorf("app secret add does not say the secret is shown once:\n%s", text)
	}
	m := regexp.MustCompile(`Secret:\s+(\S+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("app secret add printed no secret:\n%s", text)
	}
	textSecret := m[1]

	// Both secrets verify against what was stored, under the server's pepper.
	h.withStore(func(st store.Store) {
		a, err := st.GetApplicationByAppID(context.Background(), singleAppID)
		if err != nil {
			t.Fatal(err)
		}
		hasher := h.hasher(st)
		for _, secret := range []string{added.SecretText, textSecret} {
			if !slices.ContainsFunc(a.PasswordCredentials, func(c store.PasswordCredential) bool { return hasher.Verify(c.SecretHash, secret) }) {
				t.Errorf("secret %s... does not verify against any stored hash", secret[:3])
			}
		}
		for _, c := range a.PasswordCredentials {
			if c.KeyID != added.KeyID {
				if d := c.EndDateTime.Sub(time.Now().AddDate(1, 0, 0)); d > time.Minute || d < -time.Minute {
					t.Errorf("--years 1 gave endDateTime %s", c.EndDateTime)
				}
			}
		}
	})

	var listed []map[string]any
	h.okJSON(&listed, "app", "secret", "list", singleAppID)
	if len(listed) != 2 || listed[0]["hint"] != added.Hint || listed[0]["secretText"] != nil {
		t.Errorf("app secret list -o json = %v", listed)
	}
	if out := h.ok("app", "secret", "list", singleAppID); !strings.Contains(out, added.Hint+"...") || strings.Contains(out, added.SecretText) {
		t.Errorf("app secret list printed %q", out)
	}
	if out := h.ok("app", "show", singleAppID); strings.Contains(out, added.SecretText) || strings.Contains(out, textSecret) {
		t.Errorf("app show printed a secret")
	}
	h.ok("app", "secret", "delete", singleAppID, added.KeyID)
	if keys := listKeys(t, h, "keyId", "app", "secret", "list", singleAppID); len(keys) != 1 || keys[0] == added.KeyID {
		t.Errorf("after delete, secrets = %v", keys)
	}
}

func testAdminCerts(t *testing.T, h *adminHarness) {
	der := selfSignedCert(t, "daemon")
	file := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	h.okJSON(&c, "app", "cert", "add", singleAppID, "--file", file)
	thumb := sha1.Sum(der)
	if c["customKeyIdentifier"] != base64.StdEncoding.EncodeToString(thumb[:]) || c["displayName"] != "CN=daemon" ||
		c["type"] != "AsymmetricX509Cert" || c["usage"] != "Verify" {
		t.Errorf("app cert add -o json = %v", c)
	}
	if out := h.ok("app", "cert", "list", singleAppID); !strings.Contains(out, hex.EncodeToString(thumb[:])) {
		t.Errorf("app cert list does not show the thumbprint:\n%s", out)
	}
	before := h.dump()
	if _, _, err := h.run("", "app", "cert", "add", singleAppID, "--file", file); err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "already has this credential") {
		t.Errorf("adding the certificate twice: %v", err)
	}
	if h.dump() != before {
		t.Errorf("adding the certificate twice changed the store")
	}

	// A second certificate from standard input, then delete the first.
	second := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: selfSignedCert(t, "second")})
	out, stderr, err := h.run(string(second), "app", "cert", "add", singleAppID, "--file", "-", "--name", "second")
	if err != nil || !strings.Contains(out, "second") {
		t.Fatalf("app cert add --file -: %v %s\n%s", err, stderr, out)
	}
	h.ok("app", "cert", "delete", singleAppID, c["keyId"].(string))
	var listed []map[string]any
	h.okJSON(&listed, "app", "cert", "list", singleAppID)
	if len(listed) != 1 || listed[0]["displayName"] != "second" || listed[0]["key"] != nil {
		t.Errorf("after delete, certificates = %v", listed)
	}
}

// selfSignedCert returns the DER of a new self-signed RSA certificate.
func selfSignedCert(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// testAdminNoHashes checks that nothing any command printed, in any format,
// holds a stored password hash or client secret hash.
func testAdminNoHashes(t *testing.T, h *adminHarness) {
	// Print every object once more as JSON and text.
	h.okJSON(new(any), "user", "list", "--tenant", contoso)
	h.okJSON(new(any), "user", "show", "--tenant", contoso, abeli)
	h.ok("user", "show", "--tenant", contoso, abeli)
	h.okJSON(new(any), "app", "list")
	h.okJSON(new(any), "app", "show", singleAppID)

	var hashes []string
	h.withStore(func(st store.Store) {
		ctx := context.Background()
		ts, _ := st.ListTenants(ctx)
		for _, tn := range ts {
			us, _ := st.ListUsers(ctx, tn.ID)
			for _, u := range us {
				if u.PasswordHash != "" {
					hashes = append(hashes, u.PasswordHash)
				}
			}
			as, _ := st.ListApplications(ctx, tn.ID)
			for _, a := range as {
				for _, c := range a.PasswordCredentials {
					hashes = append(hashes, base64.StdEncoding.EncodeToString(c.SecretHash), hex.EncodeToString(c.SecretHash), base64.RawURLEncoding.EncodeToString(c.SecretHash))
				}
			}
		}
	})
	if len(hashes) < 4 {
		t.Fatalf("found %d hashes in the store; the test lost its data", len(hashes))
	}
	all := strings.Join(h.printed, "\n")
	for _, s := range append(hashes, "$argon2id", "passwordHash", "secretHash") {
		if strings.Contains(all, s) {
			t.Errorf("a command printed %q", s)
		}
	}
}
