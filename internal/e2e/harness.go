// Package e2e holds Entrance's end-to-end tests: a real server over HTTPS on
// loopback, driven by the clients the issue names — Chromium through
// chromedp, golang.org/x/oauth2 with go-oidc in a relying party, MSAL Go —
// and the helpers they share (Start, the relying party, the browser
// launcher). Nothing here is imported by the server.
package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// The directory every end-to-end test runs against.
const (
	TenantID      = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	Domain        = "contoso.onmicrosoft.com"
	OtherTenantID = "2f1c5b0e-7d3a-4e8b-9c6f-1a2b3c4d5e6f"
	OtherDomain   = "fabrikam.onmicrosoft.com"

	Password   = "Correct-Horse-9"
	AliceUPN   = "alice@" + Domain
	AliceID    = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	BobUPN     = "bob@" + Domain // for benchmarks: signs in over and over
	MalloryUPN = "mallory@" + Domain

	// WebAppID is the relying party's app: single tenant, a secret, a
	// front-channel logout URL, no consent granted yet.
	WebAppID = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	// MSALAppID is the app MSAL Go signs in with.
	MSALAppID = "3c9d7e61-5a4b-4f2e-9d8c-7b6a5f4e3d2c"
	// MultiAppID is multi-tenant (AzureADMultipleOrgs).
	MultiAppID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	// ExpiredAppID's only secret has expired (Start moves its end date
	// into the past: the directory file refuses past dates).
	ExpiredAppID = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	// ConsentedAppID has admin consent for Graph's scopes in the directory:
	// sign-ins never stop at a consent page (the benchmarks use it).
	ConsentedAppID = "7b6a5f4e-3d2c-4b1a-9f0e-8d7c6b5a4f3e"
	// APIAppID is a web API exposing one delegated scope.
	APIAppID = "2d4d11a2-f814-46a7-890a-274a72a7309e"

	// Secrets, one per app; each at least 32 characters. WebSecret needs
	// URL-encoding in client_secret_basic.
	WebSecret       = "rp-secret+with/special%chars:&= ~0123456789"
	MSALSecret      = "msal-secret-0123456789abcdefghijklmn"
	MultiSecret     = "multi-secret-0123456789abcdefghijklm"
	ExpiredSecret   = "expired-secret-0123456789abcdefghijk"
	ConsentedSecret = "consented-secret-0123456789abcdefghi"
)

// Paths of the relying party's apps (see RP); each app's redirect URI is
// the RP's URL followed by its callback path.
const (
	webPath       = "/web"
	msalPath      = "/msal"
	multiPath     = "/multi"
	expiredPath   = "/expired"
	consentedPath = "/consented"
)

// directoryYAML is the test directory with the relying party at rp, and
// moreApps (see Options.Applications) among Contoso's applications.
func directoryYAML(rp string, moreApps ...string) string {
	return `tenants:
  - id: ` + TenantID + `
    displayName: Contoso
    domains: [` + Domain + `]
    users:
      - userPrincipalName: ` + AliceUPN + `
        id: ` + AliceID + `
        displayName: Alice Smith
        givenName: Alice
        surname: Smith
        mail: ` + AliceUPN + `
        password: "` + Password + `"
      - {userPrincipalName: ` + BobUPN + `, displayName: Bob Jones, password: "` + Password + `"}
      - {userPrincipalName: ` + MalloryUPN + `, displayName: Mallory, password: "` + Password + `"}
    applications:
      - appId: ` + WebAppID + `
        displayName: Relying party
        web:
          redirectUris: [` + rp + webPath + `/callback, ` + rp + webPath + `/signedout]
          logoutUrl: ` + rp + webPath + `/frontchannel-logout
        passwordCredentials: [{displayName: current, secretText: "` + WebSecret + `"}]
      - appId: ` + MSALAppID + `
        displayName: MSAL Go web app
        web: {redirectUris: [` + rp + msalPath + `/callback]}
        passwordCredentials: [{displayName: current, secretText: "` + MSALSecret + `"}]
      - appId: ` + MultiAppID + `
        displayName: Partner portal
        signInAudience: AzureADMultipleOrgs
        web: {redirectUris: [` + rp + multiPath + `/callback]}
        passwordCredentials: [{displayName: current, secretText: "` + MultiSecret + `"}]
      - appId: ` + ExpiredAppID + `
        displayName: App with an expired secret
        web: {redirectUris: [` + rp + expiredPath + `/callback]}
        passwordCredentials: [{displayName: old, secretText: "` + ExpiredSecret + `"}]
      - appId: ` + ConsentedAppID + `
        displayName: Pre-consented app
        web: {redirectUris: [` + rp + consentedPath + `/callback]}
        passwordCredentials: [{displayName: current, secretText: "` + ConsentedSecret + `"}]
      - appId: ` + APIAppID + `
        displayName: Tasks API
        identifierUris: [api://tasks]
        api:
          requestedAccessTokenVersion: 2
          oauth2PermissionScopes:
            - {id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5b, value: access_as_user, adminConsentDisplayName: Access Tasks}
` + strings.Join(moreApps, "") + `    oauth2PermissionGrants:
      - {client: ` + ConsentedAppID + `, resource: 00000003-0000-0000-c000-000000000000, scope: "openid profile email offline_access User.Read", consentType: AllPrincipals}
  - id: ` + OtherTenantID + `
    displayName: Fabrikam
    domains: [` + OtherDomain + `]
    users:
      - {userPrincipalName: carol@` + OtherDomain + `, password: "` + Password + `"}
`
}

// Env is a running Entrance server with the test directory, and the
// relying party registered in it.
type Env struct {
	Srv   *server.Server
	Store store.Store
	// Base is https://127.0.0.1:port.
	Base string
	// CAPool trusts the server's development CA, and nothing else.
	CAPool *x509.CertPool
	CAFile string
	// TLS is a client configuration trusting CAPool.
	TLS *tls.Config
	// Client trusts CAPool and does not follow redirects.
	Client *http.Client
	// SPKIHash is the base64 SHA-256 of the server certificate's public
	// key: what Chromium's --ignore-certificate-errors-spki-list pins.
	SPKIHash string
	RP       *RP
}

// Options change what Start starts.
type Options struct {
	// Configure edits the server's configuration before it starts.
	Configure func(*config.Config)
	// Applications are more of Contoso's applications: YAML list entries
	// indented as the directory's ("      - appId: ..."), for tests whose
	// redirect URIs name servers they started before Start.
	Applications string
}

// Start runs a real server on a loopback port over HTTPS (its development
// CA) with the test directory, and the relying party on http://localhost.
// It uses PostgreSQL (a schema of its own) when ENTRANCE_TEST_POSTGRES is
// set, as CI's second pass does, and the embedded SQLite otherwise.
// Everything stops when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	rp := newRP(t)
	dir := t.TempDir()
	dirFile := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(dirFile, []byte(directoryYAML(rp.URL, opts.Applications)), 0o600); err != nil {
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
	if opts.Configure != nil {
		opts.Configure(&cfg)
	}

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
	env := &Env{
		Srv: srv, Store: srv.Store(), Base: cfg.PublicURL, CAPool: pool, CAFile: ca.CACert, TLS: tlsCfg, RP: rp,
		Client: &http.Client{
			Timeout:       30 * time.Second,
			Transport:     &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
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

	if env.SPKIHash, err = spkiHash(ln.Addr().String(), tlsCfg); err != nil {
		t.Fatal(err)
	}
	// The directory file cannot hold a secret that has already expired.
	if _, err := env.Store.UpdateApplication(ctx, ExpiredAppID, func(a store.Application) (store.Application, error) {
		for i := range a.PasswordCredentials {
			a.PasswordCredentials[i].StartDateTime = time.Now().Add(-48 * time.Hour).UTC()
			a.PasswordCredentials[i].EndDateTime = time.Now().Add(-time.Hour).UTC()
		}
		return a, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := rp.configure(env); err != nil {
		t.Fatal(err)
	}
	return env
}

// spkiHash connects to addr (trusting only the CA) and returns the base64
// SHA-256 of the certificate's SubjectPublicKeyInfo.
func spkiHash(addr string, cfg *tls.Config) (string, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	sum := sha256.Sum256(c.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// App is one of the directory's web apps as loadgen drives it, at tenant
// (a path segment).
func (e *Env) App(appID, tenant string) loadgen.App {
	a := loadgen.App{BaseURL: e.Base, Tenant: tenant, ClientID: appID}
	switch appID {
	case WebAppID:
		a.ClientSecret, a.RedirectURI = WebSecret, e.RP.URL+webPath+"/callback"
	case MSALAppID:
		a.ClientSecret, a.RedirectURI = MSALSecret, e.RP.URL+msalPath+"/callback"
	case MultiAppID:
		a.ClientSecret, a.RedirectURI = MultiSecret, e.RP.URL+multiPath+"/callback"
	case ExpiredAppID:
		a.ClientSecret, a.RedirectURI = ExpiredSecret, e.RP.URL+expiredPath+"/callback"
	case ConsentedAppID:
		a.ClientSecret, a.RedirectURI = ConsentedSecret, e.RP.URL+consentedPath+"/callback"
	}
	return a
}

// Browser returns a Go client with an empty cookie jar that signs in through
// Entrance's pages (no JavaScript).
func (e *Env) Browser() *loadgen.Browser { return loadgen.NewBrowser(e.TLS) }
