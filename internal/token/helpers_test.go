package token_test

// A real Entrance server over HTTPS (its development CA), a directory made
// for these tests, and helpers that talk to it like clients do: raw form
// posts, golang.org/x/oauth2 and go-oidc.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
	"github.com/entranceidp/entrance/internal/token"
	"github.com/entranceidp/entrance/internal/tokens"
)

const (
	tenantID    = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	domain      = "contoso.onmicrosoft.com"
	otherTenant = "2f1c5b0e-7d3a-4e8b-9c6f-1a2b3c4d5e6f"
	otherDomain = "fabrikam.onmicrosoft.com"

	webAppID    = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	nativeAppID = "4a7b2c1d-0e9f-4d8c-b7a6-5f4e3d2c1b0a"
	apiAppID    = "2d4d11a2-f814-46a7-890a-274a72a7309e"

	aliceID    = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b"
	disabledID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"

	webRedirect    = "https://app.contoso.com/api/auth/callback/microsoft-entra-id"
	spaRedirect    = "https://spa.contoso.com/"
	nativeRedirect = "http://localhost"

	// webSecret needs url-encoding in client_secret_basic: '+', '/', '%',
	// ':', '&', '=', ' ' and '~' all appear.
	webSecret = "s3cr3t+with/special%chars:&=more ~ 0123456789"
)

// certs: one RSA key per test binary each for a registered certificate and
// an unregistered one (key generation is slow).
var certs = sync.OnceValue(func() (c struct {
	key, otherKey  *rsa.PrivateKey
	der, otherDER  []byte
	pem            string
	sha1, sha256   []byte
	osha1, osha256 []byte
}) {
	mk := func() (*rsa.PrivateKey, []byte) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "daemon"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		return k, der
	}
	c.key, c.der = mk()
	c.otherKey, c.otherDER = mk()
	c.pem = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.der}))
	s1, s2 := sha1.Sum(c.der), sha256.Sum256(c.der)
	c.sha1, c.sha256 = s1[:], s2[:]
	o1, o2 := sha1.Sum(c.otherDER), sha256.Sum256(c.otherDER)
	c.osha1, c.osha256 = o1[:], o2[:]
	return c
})

func directoryYAML() string {
	indent := func(s string, n int) string {
		pad := strings.Repeat(" ", n)
		return pad + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+pad)
	}
	return `tenants:
  - id: ` + tenantID + `
    displayName: Contoso
    domains: [` + domain + `]
    users:
      - userPrincipalName: alice@` + domain + `
        id: ` + aliceID + `
        displayName: Alice Smith
        givenName: Alice
        surname: Smith
        mail: alice@` + domain + `
        password: "Correct-Horse-9"
      - userPrincipalName: dave@` + domain + `
        id: ` + disabledID + `
        displayName: Dave Disabled
        accountEnabled: false
        password: "Correct-Horse-9"
    applications:
      - appId: ` + webAppID + `
        displayName: Web app
        web: {redirectUris: [` + webRedirect + `]}
        spa: {redirectUris: [` + spaRedirect + `]}
        publicClient: {redirectUris: [` + nativeRedirect + `]}
        passwordCredentials:
          - {displayName: current, secretText: "` + webSecret + `"}
        keyCredentials:
          - displayName: daemon
            certificate: |
` + indent(certs().pem, 14) + `
      - appId: ` + nativeAppID + `
        displayName: Native app
        publicClient: {redirectUris: [` + nativeRedirect + `]}
      - appId: ` + apiAppID + `
        displayName: Tasks API
        identifierUris: [api://tasks]
        api:
          requestedAccessTokenVersion: 2
          oauth2PermissionScopes:
            - {id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5b, value: access_as_user, adminConsentDisplayName: Access Tasks}
    oauth2PermissionGrants:
      - {client: ` + webAppID + `, resource: 00000003-0000-0000-c000-000000000000, scope: openid profile email offline_access User.Read}
      - {client: ` + webAppID + `, resource: ` + apiAppID + `, scope: access_as_user}
      - {client: ` + nativeAppID + `, resource: 00000003-0000-0000-c000-000000000000, scope: openid profile offline_access User.Read}
  - id: ` + otherTenant + `
    displayName: Fabrikam
    domains: [` + otherDomain + `]
`
}

type testServer struct {
	srv    *server.Server
	base   string
	client *http.Client
	st     store.Store
}

// start runs a real server on a loopback port over HTTPS and returns a
// client that trusts only its development CA.
func start(t testing.TB) *testServer {
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
		// CI's second pass: the same tests on PostgreSQL, a schema each.
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
	ca, _ := srv.DevCA()
	caPEM, err := os.ReadFile(ca.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ts := &testServer{srv: srv, base: cfg.PublicURL, st: srv.Store(), client: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		// Token endpoints never redirect; a redirect would be a bug.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

// withHandler serves a token endpoint built with opts (Store, Issuer, hasher
// and URL filled in from ts) on a TLS server of its own, sharing ts's store
// and keys: for options the server's wiring does not set.
func (ts *testServer) withHandler(t testing.TB, opts token.Options) *testServer {
	t.Helper()
	mux := http.NewServeMux()
	hs := httptest.NewUnstartedServer(mux)
	hs.StartTLS()
	t.Cleanup(hs.Close)
	opts.Store = ts.st
	opts.Issuer = tokens.New(ts.st, ts.srv.Keys(), ts.srv.URLs(), ts.srv.Secrets().PairwiseSubjectKey, tokens.Options{})
	opts.SecretHasher = ts.srv.Secrets().ClientSecretHasher()
	opts.PublicURL = hs.URL
	token.New(opts).Register(mux)
	return &testServer{srv: ts.srv, base: hs.URL, st: ts.st, client: hs.Client()}
}

// codeOpts describe an authorization code as the authorize endpoint makes it.
type codeOpts struct {
	tenant, client, user, redirect, platform string
	scope, resource, nonce                   string
	challenge, method                        string
	version                                  string
	authTime                                 time.Time
	expired                                  bool
}

// newCode stores an authorization code — the record internal/authorize
// creates — and returns the code value.
func (ts *testServer) newCode(t testing.TB, o codeOpts) string {
	t.Helper()
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&o.tenant, tenantID)
	def(&o.client, webAppID)
	def(&o.user, aliceID)
	def(&o.redirect, webRedirect)
	def(&o.platform, store.PlatformWeb)
	def(&o.version, "2.0")
	if o.scope == "" && o.resource == "" {
		o.scope = "openid profile email offline_access User.Read"
	}
	now := time.Now().UTC()
	if o.authTime.IsZero() {
		o.authTime = now // after the directory was applied (and the passwords set)
	}
	exp := now.Add(10 * time.Minute)
	if o.expired {
		exp = now.Add(-time.Second)
	}
	code := ids.RandomToken(32)
	err := ts.st.CreateAuthorizationCode(context.Background(), store.AuthorizationCode{
		ID: store.HashToken(code), TenantID: o.tenant, ClientID: o.client, RedirectURI: o.redirect,
		Platform: o.platform, UserID: o.user, SessionID: ids.RandomToken(16), Scope: o.scope, Resource: o.resource,
		EndpointVersion: o.version, Nonce: o.nonce, CodeChallenge: o.challenge, CodeChallengeMethod: o.method,
		AuthTime: o.authTime, AuthMethods: []string{store.AuthMethodPassword}, IssuedAt: now, ExpiresAt: exp,
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// response is a token endpoint answer.
type response struct {
	status int
	header http.Header
	body   []byte
	m      map[string]any
}

func (r response) str(k string) string { s, _ := r.m[k].(string); return s }

// errorCode is the one AADSTS code of an error body (0 if none).
func (r response) errorCode() int {
	codes, _ := r.m["error_codes"].([]any)
	if len(codes) != 1 {
		return 0
	}
	f, _ := codes[0].(float64)
	return int(f)
}

// post sends a form to path with optional headers (name, value pairs).
func (ts *testServer) post(t testing.TB, path string, form url.Values, hdr ...string) response {
	t.Helper()
	r, err := ts.tryPost(path, form, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryPost is post for other goroutines than the test's (which must not
// call t.Fatal).
func (ts *testServer) tryPost(path string, form url.Values, hdr ...string) (response, error) {
	req, err := http.NewRequest("POST", ts.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	if err := json.Unmarshal(b, &r.m); err != nil {
		return r, fmt.Errorf("POST %s: %d, body not JSON: %s", path, resp.StatusCode, b)
	}
	return r, nil
}

func tokenPath(tenant string) string   { return "/" + tenant + "/oauth2/v2.0/token" }
func tokenPathV1(tenant string) string { return "/" + tenant + "/oauth2/token" }

// codeForm is a v2 code redemption by the web app with client_secret_post.
func codeForm(code string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect},
		"client_id": {webAppID}, "client_secret": {webSecret},
	}
}

// wantError checks an AADSTS error answer: the code, the HTTP status, the
// OAuth error, and that no token came with it.
func wantError(t testing.TB, r response, code, status int, oauthErr string) {
	t.Helper()
	if r.status != status || r.errorCode() != code || (oauthErr != "" && r.str("error") != oauthErr) {
		t.Errorf("got %d %s, want %d AADSTS%d %s", r.status, short(r.body), status, code, oauthErr)
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

// short is the start of a body, for messages.
func short(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// wantTokens checks a success answer.
func wantTokens(t testing.TB, r response) {
	t.Helper()
	if r.status != 200 || r.str("access_token") == "" {
		t.Fatalf("got %d %s, want tokens", r.status, short(r.body))
	}
}

// keysInOrder checks that the JSON object b has exactly keys, in order.
func keysInOrder(t testing.TB, b []byte, keys ...string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
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
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Errorf("keys %v, want %v", got, keys)
	}
}

// jwtParts decodes a JWT's header and payload without verifying it.
func jwtParts(t testing.TB, jwt string) (hdr, payload map[string]any) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", jwt)
	}
	for i, v := range []*map[string]any{&hdr, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return hdr, payload
}

// assertion builds a client assertion. hdr and claims override the
// defaults (a nil value deletes the key); sign signs the signing input.
type assertionOpts struct {
	alg    string
	hdr    map[string]any
	claims map[string]any
	key    *rsa.PrivateKey
	sign   func(input []byte) []byte // overrides the RSA signature
}

func (ts *testServer) assertion(t testing.TB, o assertionOpts) string {
	t.Helper()
	c := certs()
	if o.alg == "" {
		o.alg = "PS256"
	}
	if o.key == nil {
		o.key = c.key
	}
	now := time.Now()
	hdr := map[string]any{"alg": o.alg, "typ": "JWT"}
	if o.alg == "PS256" {
		hdr["x5t#S256"] = base64.StdEncoding.EncodeToString(c.sha256) // as MSAL Go sends it
	} else {
		hdr["x5t"] = base64.RawURLEncoding.EncodeToString(c.sha1)
	}
	for k, v := range o.hdr {
		if v == nil {
			delete(hdr, k)
		} else {
			hdr[k] = v
		}
	}
	claims := map[string]any{
		"aud": ts.base + "/" + tenantID + "/oauth2/v2.0/token", "iss": webAppID, "sub": webAppID,
		"jti": ids.NewGUID(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	for k, v := range o.claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	hb, _ := json.Marshal(hdr)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	var sig []byte
	switch {
	case o.sign != nil:
		sig = o.sign([]byte(input))
	case o.alg == "RS256":
		d := sha256.Sum256([]byte(input))
		sig, _ = rsa.SignPKCS1v15(rand.Reader, o.key, crypto.SHA256, d[:])
	case o.alg == "PS256":
		d := sha256.Sum256([]byte(input))
		sig, _ = rsa.SignPSS(rand.Reader, o.key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
