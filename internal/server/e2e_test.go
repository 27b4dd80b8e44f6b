package server_test

// The "Must show": a real server over HTTPS, and real clients
// (coreos/go-oidc, net/http) discovering it, fetching its keys and verifying
// tokens across a key rotation.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

const (
	tenantID = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	domain   = "contoso.onmicrosoft.com"
	webAppID = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	ownKeyID = "2d4d11a2-f814-46a7-890a-274a72a7309e"
)

const directoryYAML = `tenants:
  - id: ` + tenantID + `
    displayName: Contoso
    type: aad
    domains: [` + domain + `]
    applications:
      - appId: ` + webAppID + `
        displayName: Next.js web app
        signInAudience: AzureADMyOrg
        web:
          redirectUris: [http://localhost:3000/api/auth/callback/microsoft-entra-id]
      - appId: ` + ownKeyID + `
        displayName: App with its own signing key
        useOwnSigningKey: true
`

type testServer struct {
	srv    *server.Server
	base   string // https://127.0.0.1:port
	client *http.Client
	done   chan error
	stop   context.CancelFunc

	stopped sync.Once
	serve   error // what Serve returned, once stopped
}

// start runs a real server on a loopback port over HTTPS with its development
// CA, and returns a client that trusts only that CA. databaseURL "" is the
// embedded SQLite database.
func start(t *testing.T, databaseURL string) *testServer {
	t.Helper()
	return startWith(t, databaseURL, nil)
}

// startWith is start with configure applied to the configuration last.
func startWith(t *testing.T, databaseURL string, configure func(*config.Config)) *testServer {
	t.Helper()
	dir := t.TempDir()
	dirFile := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(dirFile, []byte(directoryYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.DatabaseURL = databaseURL
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = "https://" + ln.Addr().String()
	cfg.MasterKey = sealbox.GenerateMasterKey()
	cfg.DirectoryFile = dirFile
	cfg.LogLevel = slog.LevelWarn
	if configure != nil {
		configure(&cfg)
	}

	ctx, cancel := context.WithCancel(context.Background())
	logger := server.NewLogger(io.Discard, "json", slog.LevelDebug)
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		cancel()
		t.Fatal(err)
	}
	ca, ok := srv.DevCA()
	if !ok {
		t.Fatal("no development CA without --tls-cert")
	}
	caPEM, err := os.ReadFile(ca.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}

	ts := &testServer{srv: srv, base: cfg.PublicURL, client: client, done: make(chan error, 1), stop: cancel}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if err := ts.shutdown(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// shutdown stops the server and returns what Serve returned.
func (ts *testServer) shutdown() error {
	ts.stopped.Do(func() {
		ts.stop()
		select {
		case ts.serve = <-ts.done:
		case <-time.After(20 * time.Second):
			ts.serve = errors.New("server did not shut down")
		}
	})
	return ts.serve
}

func (ts *testServer) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return ts.do(t, req)
}

// do sends req and returns the response with its body read.
func (ts *testServer) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func (ts *testServer) sign(t *testing.T, issuer, audience string) string {
	t.Helper()
	sk, err := ts.srv.Keys().SigningKey(context.Background(), tenantID, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	jwt, err := sk.SignJWT(map[string]any{
		"iss": issuer, "aud": audience, "sub": "user-1", "tid": tenantID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// backends are the stores the end-to-end tests run on; PostgreSQL only when
// ENTRANCE_TEST_POSTGRES is set (a schema of its own per test).
var backends = []struct {
	name        string
	databaseURL func(t *testing.T) string
}{
	{"sqlite", func(*testing.T) string { return "" }},
	{"postgres", func(t *testing.T) string { return storetest.NewPostgresDSN(t) }},
}

func TestGoOIDCDiscoveryKeysAndRotation(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testGoOIDC(t, start(t, b.databaseURL(t))) })
	}
}

func testGoOIDC(t *testing.T, ts *testServer) {
	ctx := oidc.ClientContext(context.Background(), ts.client)
	guidIssuer := ts.base + "/" + tenantID + "/v2.0"

	// The GUID form: issuer equals the discovery base exactly.
	provider, err := oidc.NewProvider(ctx, guidIssuer)
	if err != nil {
		t.Fatalf("NewProvider(GUID): %v", err)
	}
	if got := providerIssuer(t, provider); got != guidIssuer {
		t.Fatalf("issuer %q, want %q", got, guidIssuer)
	}
	if ep := provider.Endpoint(); ep.TokenURL != guidIssuer[:len(guidIssuer)-len("/v2.0")]+"/oauth2/v2.0/token" {
		t.Errorf("token endpoint %q", ep.TokenURL)
	}

	// The domain form: Entra's document carries the GUID issuer, so clients
	// discover with InsecureIssuerURLContext, as go-oidc documents for Azure.
	byDomain, err := oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, guidIssuer), ts.base+"/"+domain+"/v2.0")
	if err != nil {
		t.Fatalf("NewProvider(domain): %v", err)
	}
	if got := providerIssuer(t, byDomain); got != guidIssuer {
		t.Fatalf("domain document issuer %q, want %q", got, guidIssuer)
	}
	// Without it, the domain form is (correctly) an issuer mismatch.
	var mismatch *oidc.IssuerMismatchError
	if _, err := oidc.NewProvider(ctx, ts.base+"/"+domain+"/v2.0"); !errors.As(err, &mismatch) {
		t.Errorf("domain form without InsecureIssuerURLContext: %v, want an issuer mismatch", err)
	}

	verifier := provider.Verifier(&oidc.Config{ClientID: webAppID})
	domainVerifier := byDomain.Verifier(&oidc.Config{ClientID: webAppID})
	beforeRotation := ts.sign(t, guidIssuer, webAppID)
	for name, v := range map[string]*oidc.IDTokenVerifier{"guid": verifier, "domain": domainVerifier} {
		if _, err := v.Verify(ctx, beforeRotation); err != nil {
			t.Fatalf("%s verifier, current key: %v", name, err)
		}
	}
	if _, err := verifier.Verify(ctx, ts.sign(t, guidIssuer, "someone-else")); err == nil {
		t.Fatal("a token for another audience verified")
	}

	oldKID := kidOf(t, ts)
	if err := ts.srv.Keys().Rotate(context.Background(), tenantID, ""); err != nil {
		t.Fatal(err)
	}
	if kidOf(t, ts) == oldKID {
		t.Fatal("rotation did not change the signing key")
	}
	if _, body := ts.get(t, "/metrics"); !strings.Contains(string(body), `entrance_signing_key_events_total{event="rotated"} 1`) {
		t.Error("/metrics does not count the rotation")
	}
	afterRotation := ts.sign(t, guidIssuer, webAppID)

	// The same verifier (cached key set) and a fresh client (JWKS fetched
	// after the rotation) accept both tokens: the new key was published before
	// it signed, and the previous one stays published.
	fresh, err := oidc.NewProvider(ctx, guidIssuer)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*oidc.IDTokenVerifier{
		"cached": verifier, "fresh": fresh.Verifier(&oidc.Config{ClientID: webAppID}),
	} {
		for tok, jwt := range map[string]string{"new key": afterRotation, "previous key": beforeRotation} {
			if _, err := v.Verify(ctx, jwt); err != nil {
				t.Errorf("%s verifier, token signed with the %s: %v", name, tok, err)
			}
		}
	}
	_, body := ts.get(t, "/"+tenantID+"/discovery/v2.0/keys")
	if !strings.Contains(string(body), oldKID) {
		t.Error("the previous key left the JWKS right after rotation")
	}
}

func providerIssuer(t *testing.T, p *oidc.Provider) string {
	t.Helper()
	var c struct {
		Issuer string `json:"issuer"`
	}
	if err := p.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c.Issuer
}

func kidOf(t *testing.T, ts *testServer) string {
	t.Helper()
	sk, err := ts.srv.Keys().SigningKey(context.Background(), tenantID, "")
	if err != nil {
		t.Fatal(err)
	}
	return sk.KID()
}

func TestDocumentsOverHTTPS(t *testing.T) {
	ts := start(t, "")
	base := ts.base
	for _, tc := range []struct {
		name, path string
		want       map[string]any
	}{
		{"v2 by GUID", "/" + tenantID + "/v2.0/.well-known/openid-configuration", map[string]any{
			"issuer":                 base + "/" + tenantID + "/v2.0",
			"jwks_uri":               base + "/" + tenantID + "/discovery/v2.0/keys",
			"authorization_endpoint": base + "/" + tenantID + "/oauth2/v2.0/authorize",
			"tenant_region_scope":    "WW",
		}},
		{"v2 by domain, upper case", "/CONTOSO.OnMicrosoft.com/V2.0/.well-known/OpenID-Configuration", map[string]any{
			"issuer":         base + "/" + tenantID + "/v2.0",
			"token_endpoint": base + "/" + tenantID + "/oauth2/v2.0/token",
		}},
		{"v1 by GUID", "/" + strings.ToUpper(tenantID) + "/.well-known/openid-configuration", map[string]any{
			"issuer":                        base + "/" + tenantID + "/",
			"token_endpoint":                base + "/" + tenantID + "/oauth2/token",
			"jwks_uri":                      base + "/" + tenantID + "/discovery/keys",
			"microsoft_multi_refresh_token": true,
		}},
		{"common", "/common/v2.0/.well-known/openid-configuration", map[string]any{
			"issuer":                 base + "/{tenantid}/v2.0",
			"authorization_endpoint": base + "/common/oauth2/v2.0/authorize",
			"tenant_region_scope":    nil,
		}},
		{"organizations v1", "/Organizations/.well-known/openid-configuration", map[string]any{
			"issuer":   base + "/{tenantid}/",
			"jwks_uri": base + "/organizations/discovery/keys",
		}},
		{"consumers", "/consumers/v2.0/.well-known/openid-configuration", map[string]any{
			"issuer": base + "/{tenantid}/v2.0",
		}},
		{"appid", "/" + domain + "/v2.0/.well-known/openid-configuration?appid=" + ownKeyID, map[string]any{
			"jwks_uri": base + "/" + tenantID + "/discovery/v2.0/keys?appid=" + ownKeyID,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.get(t, tc.path)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}
			for k, v := range map[string]string{
				"Cache-Control":               "max-age=86400, private",
				"Access-Control-Allow-Origin": "*",
				"Content-Type":                "application/json; charset=utf-8",
				"X-Content-Type-Options":      "nosniff",
			} {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if resp.Header.Get("X-Ms-Request-Id") == "" || resp.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("headers %v", resp.Header)
			}
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got, ok := doc[k]; !ok || got != v {
					t.Errorf("%s = %#v, want %#v", k, got, v)
				}
			}
		})
	}

	// ?appid= of an app with its own key serves that key set.
	_, tenantKeys := ts.get(t, "/"+tenantID+"/discovery/v2.0/keys")
	_, appKeys := ts.get(t, "/"+tenantID+"/discovery/v2.0/keys?appid="+ownKeyID)
	sk, err := ts.srv.Keys().SigningKey(context.Background(), tenantID, ownKeyID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(appKeys), sk.KID()) || strings.Contains(string(tenantKeys), sk.KID()) {
		t.Error("?appid= did not serve the app's own key set")
	}
}

func TestErrorsInstanceDiscoveryHealthAndMetrics(t *testing.T) {
	ts := start(t, "")

	// Unknown tenant: 400 with AADSTS90002 in Entra's JSON shape and key order.
	corr := "aaaa0000-bb11-2222-33cc-444444dddddd"
	resp, body := ts.get(t, "/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration", "client-request-id", corr)
	if resp.StatusCode != 400 {
		t.Fatalf("unknown tenant: %d %s", resp.StatusCode, body)
	}
	keysInOrder(t, body, "error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri")
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
		ErrorURI         string `json:"error_uri"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if e.Error != "invalid_tenant" || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != 90002 ||
		!strings.HasPrefix(e.ErrorDescription, "AADSTS90002: Tenant 'nope.onmicrosoft.com' not found.") ||
		!strings.Contains(e.ErrorDescription, "\r\nTrace ID: "+e.TraceID+"\r\nCorrelation ID: "+corr+"\r\nTimestamp: ") ||
		e.CorrelationID != corr || e.TraceID != resp.Header.Get("X-Ms-Request-Id") || e.ErrorURI != ts.base+"/error?code=90002" {
		t.Errorf("error body %s", body)
	}
	if resp.Header.Get("Cache-Control") != "no-store, no-cache" || resp.Header.Get("Pragma") != "no-cache" {
		t.Errorf("error headers %v", resp.Header)
	}

	// Instance discovery answers for our host, not for others.
	host := strings.TrimPrefix(ts.base, "https://")
	resp, body = ts.get(t, "/common/discovery/instance?api-version=1.1&authorization_endpoint="+ts.base+"/"+tenantID+"/oauth2/v2.0/authorize")
	want := `{"tenant_discovery_endpoint":"` + ts.base + `/` + tenantID + `/v2.0/.well-known/openid-configuration","api-version":"1.1","metadata":[{"preferred_network":"` + host + `","preferred_cache":"` + host + `","aliases":["` + host + `"]}]}`
	if resp.StatusCode != 200 || string(body) != want {
		t.Errorf("instance discovery: %d\n got %s\nwant %s", resp.StatusCode, body, want)
	}
	resp, body = ts.get(t, "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/v2.0/authorize")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"error":"invalid_instance"`) || !strings.Contains(string(body), `"error_codes":[50049]`) {
		t.Errorf("unknown instance: %d %s", resp.StatusCode, body)
	}

	if resp, _ := ts.get(t, "/healthz"); resp.StatusCode != 200 {
		t.Errorf("/healthz %d", resp.StatusCode)
	}
	if resp, _ := ts.get(t, "/readyz"); resp.StatusCode != 200 {
		t.Errorf("/readyz %d", resp.StatusCode)
	}

	_, metrics := ts.get(t, "/metrics")
	for _, want := range []string{
		`entrance_http_requests_total{route="GET /{tenant}/v2.0/.well-known/openid-configuration",status="400"} 1`,
		`entrance_http_requests_total{route="GET /{tenant}/discovery/instance",status="200"} 1`,
		`entrance_http_request_duration_seconds_bucket{route="GET /healthz",status="200",le=`,
		`go_goroutines `,
		`process_resident_memory_bytes `,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The database goes away: not ready any more. Documents already built
	// are still served from memory; others fail with temporarily_unavailable.
	cached := "/" + tenantID + "/v2.0/.well-known/openid-configuration"
	if resp, _ := ts.get(t, cached); resp.StatusCode != 200 {
		t.Fatalf("%s: %d", cached, resp.StatusCode)
	}
	if err := ts.srv.Store().Close(); err != nil {
		t.Fatal(err)
	}
	if resp, body := ts.get(t, "/readyz"); resp.StatusCode != 503 {
		t.Errorf("/readyz after the store closed: %d %s", resp.StatusCode, body)
	}
	if resp, body := ts.get(t, cached); resp.StatusCode != 200 {
		t.Errorf("cached document after the store closed: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.get(t, "/organizations/discovery/v2.0/keys")
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"error":"temporarily_unavailable"`) ||
		!strings.Contains(string(body), `"error_codes":[90033]`) {
		t.Errorf("uncached document after the store closed: %d %s", resp.StatusCode, body)
	}
	if resp, _ := ts.get(t, "/healthz"); resp.StatusCode != 200 {
		t.Errorf("/healthz %d", resp.StatusCode)
	}
}

// keysInOrder checks the top-level keys of a JSON object, in order.
func keysInOrder(t *testing.T, body []byte, want ...string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var got []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("keys %v, want %v", got, want)
	}
}
