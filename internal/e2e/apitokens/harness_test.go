// Package apitokens tests issue 4's access tokens for APIs end to end: a
// real Entrance server over HTTPS on loopback, driven by the clients the
// issue names (azidentity, MSAL Go) and by raw token requests, with every
// token's signature checked against the published JWKS and its claims
// compared, field by field, with the table of its version.
package apitokens

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// The test directory: Contoso with APIs of both token versions, a daemon,
// a middle-tier API, public and confidential password-grant clients, users in
// 3 and in 201 groups; Fabrikam, where Alice of Contoso is a guest.
const (
	contosoID   = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	contoso     = "contoso.onmicrosoft.com"
	fabrikamID  = "2f1c5b0e-7d3a-4e8b-9c6f-1a2b3c4d5e6f"
	fabrikam    = "fabrikam.onmicrosoft.com"
	graphAppID  = "00000003-0000-0000-c000-000000000000"
	password    = "Correct-Horse-9"
	globalAdmin = "62e90394-69f5-4237-9190-012177145e10"

	aliceID  = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	aliceUPN = "alice@" + contoso
	bobID    = "1b2c3d4e-5f60-4718-89a0-b1c2d3e4f506"
	bobUPN   = "bob@" + contoso                       // in 201 groups
	eveUPN   = "eve@" + contoso                       // for wrong passwords (lockout is per account)
	guestID  = "5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c" // Alice as a guest in Fabrikam

	// Alice's groups: Engineering (security) inside Staff (security), and
	// Social (a Microsoft 365 group, not security-enabled).
	engineeringID = "a1000000-0000-4000-8000-000000000001"
	staffID       = "a1000000-0000-4000-8000-000000000002"
	socialID      = "a1000000-0000-4000-8000-000000000003"
	partnersID    = "a1000000-0000-4000-8000-000000000004" // Fabrikam's

	daemonAppID   = "d0000000-0000-4000-8000-00000000d001" // client credentials: secret and certificate
	expiredAppID  = "d0000000-0000-4000-8000-00000000d002" // its only secret has expired
	middleAppID   = "d0000000-0000-4000-8000-00000000d003" // middle-tier API (v2), on-behalf-of
	v1APIAppID    = "d0000000-0000-4000-8000-00000000d004" // API with v1.0 tokens
	v2APIAppID    = "d0000000-0000-4000-8000-00000000d005" // API with v2.0 tokens
	nativeAppID   = "d0000000-0000-4000-8000-00000000d006" // public client, isFallbackPublicClient
	ropcWebAppID  = "d0000000-0000-4000-8000-00000000d007" // confidential client using the password grant
	noPublicAppID = "d0000000-0000-4000-8000-00000000d008" // public redirect URI but no public client flows
	fabWebAppID   = "d0000000-0000-4000-8000-00000000f001" // Fabrikam's web app
	fabAPIAppID   = "d0000000-0000-4000-8000-00000000f002" // Fabrikam's API (v1)
	fabAPI2AppID  = "d0000000-0000-4000-8000-00000000f003" // Fabrikam's API (v2)

	daemonSecret  = "daemon-secret-0123456789abcdefghijkl"
	expiredSecret = "expired-secret-0123456789abcdefghijk"
	middleSecret  = "middle-secret-0123456789abcdefghijkl"
	ropcSecret    = "ropc-secret-0123456789abcdefghijklmn"
	nativeSecret  = "native-secret-0123456789abcdefghijkl" // registered, yet a public client must not send it
	fabWebSecret  = "fabweb-secret-0123456789abcdefghijkl"
	fabWebReply   = "https://fabweb.example.com/callback"

	// Role ids.
	dataReadAllID = "e0000000-0000-4000-8000-0000000000e1"
	dataAdminID   = "e0000000-0000-4000-8000-0000000000e2"
	tasksReadID   = "e0000000-0000-4000-8000-0000000000e3"
)

// bulkGroups is how many groups Bob is in: one more than a JWT carries.
const bulkGroups = 201

// certs: a certificate registered for the daemon and the middle tier, and
// one that is registered nowhere.
var certs = sync.OnceValue(func() (c struct {
	key, otherKey   *rsa.PrivateKey
	cert, otherCert *x509.Certificate
	pem             string
}) {
	mk := func(cn string) (*rsa.PrivateKey, *x509.Certificate) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		return k, cert
	}
	c.key, c.cert = mk("daemon")
	c.otherKey, c.otherCert = mk("not registered")
	c.pem = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
	return c
})

func directoryYAML() string {
	certPEM := "              " + strings.ReplaceAll(strings.TrimSpace(certs().pem), "\n", "\n              ")
	var bulk strings.Builder
	for i := 1; i <= bulkGroups; i++ {
		fmt.Fprintf(&bulk, "      - {displayName: Bulk %03d, members: [%s]}\n", i, bobUPN)
	}
	return `tenants:
  - id: ` + contosoID + `
    displayName: Contoso
    domains: [` + contoso + `]
    users:
      - {userPrincipalName: ` + aliceUPN + `, id: ` + aliceID + `, displayName: Alice Smith, givenName: Alice, surname: Smith, mail: ` + aliceUPN + `, password: "` + password + `"}
      - {userPrincipalName: ` + bobUPN + `, id: ` + bobID + `, displayName: Bob Jones, givenName: Bob, surname: Jones, password: "` + password + `"}
      - {userPrincipalName: ` + eveUPN + `, displayName: Eve, password: "` + password + `"}
    groups:
      - {displayName: Engineering, id: ` + engineeringID + `, members: [` + aliceUPN + `]}
      - {displayName: Staff, id: ` + staffID + `, members: [Engineering]}
      - {displayName: Social, id: ` + socialID + `, securityEnabled: false, mailEnabled: true, members: [` + aliceUPN + `]}
` + bulk.String() + `    directoryRoles:
      - {principal: ` + aliceUPN + `, role: Global Administrator}
    applications:
      - appId: ` + daemonAppID + `
        displayName: Nightly job
        passwordCredentials: [{displayName: job, secretText: "` + daemonSecret + `"}]
        keyCredentials:
          - displayName: job certificate
            certificate: |
` + certPEM + `
      - appId: ` + expiredAppID + `
        displayName: Old job
        passwordCredentials: [{displayName: old, secretText: "` + expiredSecret + `"}]
      - appId: ` + middleAppID + `
        displayName: Middle tier
        identifierUris: [api://middle]
        passwordCredentials: [{displayName: api, secretText: "` + middleSecret + `"}]
        keyCredentials:
          - displayName: api certificate
            certificate: |
` + certPEM + `
        api:
          requestedAccessTokenVersion: 2
          oauth2PermissionScopes:
            - {id: c0000000-0000-4000-8000-0000000000c1, value: access_as_user, adminConsentDisplayName: Use the middle tier}
      - appId: ` + v1APIAppID + `
        displayName: Legacy API
        identifierUris: [api://v1api]
        groupMembershipClaims: All
        optionalClaims:
          accessToken: [{name: idtyp}]
        api:
          oauth2PermissionScopes:
            - {id: c0000000-0000-4000-8000-0000000000c2, value: user_impersonation, adminConsentDisplayName: Use the legacy API}
        appRoles:
          - {id: ` + dataReadAllID + `, value: Data.Read.All, displayName: Read all data, allowedMemberTypes: [Application]}
          - {id: ` + dataAdminID + `, value: Data.Admin, displayName: Administer data, allowedMemberTypes: [User]}
      - appId: ` + v2APIAppID + `
        displayName: Tasks API
        identifierUris: [api://v2api]
        groupMembershipClaims: SecurityGroup
        optionalClaims:
          accessToken: [{name: idtyp}]
        api:
          requestedAccessTokenVersion: 2
          oauth2PermissionScopes:
            - {id: c0000000-0000-4000-8000-0000000000c3, value: access_as_user, adminConsentDisplayName: Access tasks}
        appRoles:
          - {id: ` + tasksReadID + `, value: Tasks.Read.All, displayName: Read all tasks, allowedMemberTypes: [Application]}
      - appId: ` + nativeAppID + `
        displayName: Desktop app
        isFallbackPublicClient: true
        publicClient: {redirectUris: [http://localhost]}
        passwordCredentials: [{displayName: unused, secretText: "` + nativeSecret + `"}]
      - appId: ` + ropcWebAppID + `
        displayName: Legacy web app
        web: {redirectUris: [https://legacy.contoso.com/signin]}
        passwordCredentials: [{displayName: web, secretText: "` + ropcSecret + `"}]
      - appId: ` + noPublicAppID + `
        displayName: Mobile app without public client flows
        publicClient: {redirectUris: [http://localhost]}
    appRoleAssignments:
      - {principal: ` + daemonAppID + `, resource: ` + v1APIAppID + `, appRole: Data.Read.All}
      - {principal: ` + daemonAppID + `, resource: ` + v2APIAppID + `, appRole: Tasks.Read.All}
      - {principal: ` + daemonAppID + `, resource: ` + graphAppID + `, appRole: User.Read.All}
      - {principal: ` + aliceUPN + `, resource: ` + v1APIAppID + `, appRole: Data.Admin}
    oauth2PermissionGrants:
      - {client: ` + nativeAppID + `, resource: ` + graphAppID + `, scope: openid profile email offline_access User.Read}
      - {client: ` + nativeAppID + `, resource: ` + middleAppID + `, scope: access_as_user}
      - {client: ` + nativeAppID + `, resource: ` + v1APIAppID + `, scope: user_impersonation}
      - {client: ` + nativeAppID + `, resource: ` + v2APIAppID + `, scope: access_as_user}
      - {client: ` + ropcWebAppID + `, resource: ` + graphAppID + `, scope: openid profile offline_access User.Read}
      - {client: ` + ropcWebAppID + `, resource: ` + v2APIAppID + `, scope: access_as_user}
      - {client: ` + noPublicAppID + `, resource: ` + graphAppID + `, scope: openid profile offline_access User.Read}
      - {client: ` + middleAppID + `, resource: ` + graphAppID + `, scope: openid profile offline_access User.Read}
      - {client: ` + middleAppID + `, resource: ` + v1APIAppID + `, scope: user_impersonation}
  - id: ` + fabrikamID + `
    displayName: Fabrikam
    domains: [` + fabrikam + `]
    users:
      - {userType: Guest, homeUser: ` + aliceUPN + `, id: ` + guestID + `, displayName: Alice Smith (Contoso), mail: ` + aliceUPN + `}
    groups:
      - {displayName: Partners, id: ` + partnersID + `, members: [` + aliceUPN + `]}
    applications:
      - appId: ` + fabWebAppID + `
        displayName: Partner portal
        web: {redirectUris: [` + fabWebReply + `]}
        passwordCredentials: [{displayName: web, secretText: "` + fabWebSecret + `"}]
      - appId: ` + fabAPIAppID + `
        displayName: Partner API
        identifierUris: [api://fabapi]
        groupMembershipClaims: SecurityGroup
        api:
          oauth2PermissionScopes:
            - {id: c0000000-0000-4000-8000-0000000000f1, value: user_impersonation, adminConsentDisplayName: Use the partner API}
      - appId: ` + fabAPI2AppID + `
        displayName: Partner tasks
        identifierUris: [api://fabapi2]
        groupMembershipClaims: SecurityGroup
        api:
          requestedAccessTokenVersion: 2
          oauth2PermissionScopes:
            - {id: c0000000-0000-4000-8000-0000000000f2, value: access_as_user, adminConsentDisplayName: Use partner tasks}
    oauth2PermissionGrants:
      - {client: ` + fabWebAppID + `, resource: ` + fabAPI2AppID + `, scope: access_as_user}
      - {client: ` + fabWebAppID + `, resource: ` + graphAppID + `, scope: openid profile offline_access User.Read}
      - {client: ` + fabWebAppID + `, resource: ` + fabAPIAppID + `, scope: user_impersonation}
`
}

// env is a running server with the test directory.
type env struct {
	srv    *server.Server
	st     store.Store
	base   string // https://127.0.0.1:port
	tls    *tls.Config
	client *http.Client // trusts only the development CA; never follows redirects
}

// start runs a real server on a loopback port over HTTPS (its development
// CA), on PostgreSQL when ENTRANCE_TEST_POSTGRES is set (CI's second pass)
// and SQLite otherwise; it stops when the test ends.
func start(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	dirFile := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(dirFile, []byte(directoryYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	if os.Getenv(storetest.PostgresEnv) != "" {
		cfg.DatabaseURL = storetest.NewPostgresDSN(t)
	}
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = "https://" + ln.Addr().String()
	cfg.MasterKey = sealbox.GenerateMasterKey()
	cfg.DirectoryFile = dirFile

	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, server.NewLogger(io.Discard, "json", slog.LevelError))
	if err != nil {
		ln.Close()
		cancel()
		t.Fatal(err)
	}
	ca, ok := srv.DevCA()
	if !ok {
		cancel()
		t.Fatal("no development CA")
	}
	caPEM, err := os.ReadFile(ca.CACert)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	e := &env{srv: srv, st: srv.Store(), base: cfg.PublicURL, tls: tlsCfg, client: &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("server did not shut down")
		}
	})
	// The directory file cannot hold a secret that has already expired.
	if _, err := e.st.UpdateApplication(ctx, expiredAppID, func(a store.Application) (store.Application, error) {
		for i := range a.PasswordCredentials {
			a.PasswordCredentials[i].StartDateTime = time.Now().Add(-48 * time.Hour).UTC()
			a.PasswordCredentials[i].EndDateTime = time.Now().Add(-time.Hour).UTC()
		}
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// response is a token endpoint answer.
type response struct {
	status int
	body   []byte
	m      map[string]any
}

func (r response) str(k string) string { s, _ := r.m[k].(string); return s }

// code is the one AADSTS code of an error answer (0 if none).
func (r response) code() int {
	codes, _ := r.m["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	f, _ := codes[0].(float64)
	return int(f)
}

// post sends a form to path, with optional headers (name, value pairs).
func (e *env) post(t testing.TB, path string, form url.Values, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest("POST", e.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, body: b}
	if err := json.Unmarshal(b, &r.m); err != nil {
		t.Fatalf("POST %s: %d, not JSON: %s", path, resp.StatusCode, b)
	}
	return r
}

// graph calls Entrance's Graph stand-in with a bearer token.
func (e *env) graph(t testing.TB, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func tokenV2(tenant string) string { return "/" + tenant + "/oauth2/v2.0/token" }
func tokenV1(tenant string) string { return "/" + tenant + "/oauth2/token" }

// wantError checks an error answer: AADSTS code, HTTP status, and no token.
func wantError(t testing.TB, r response, code, status int) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Errorf("got %d %.400s, want %d AADSTS%d", r.status, r.body, status, code)
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if _, ok := r.m[k]; ok {
			t.Errorf("an error answer carried %s", k)
		}
	}
	if !strings.HasPrefix(r.str("error_description"), fmt.Sprintf("AADSTS%d: ", code)) {
		t.Errorf("error_description %q", r.str("error_description"))
	}
}

// wantOK checks a success answer and returns it.
func wantOK(t testing.TB, r response) response {
	t.Helper()
	if r.status != 200 || r.str("access_token") == "" {
		t.Fatalf("got %d %.500s, want tokens", r.status, r.body)
	}
	return r
}
