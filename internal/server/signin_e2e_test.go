package server_test

// Sign-in end to end: a real server over HTTPS, driven like a browser (a
// cookie jar, forms posted back) by a relying party that stops at its own
// redirect URI.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
	"github.com/entranceidp/entrance/internal/store"
)

const (
	siTenant     = "11111111-2222-4333-8444-555555555555"
	siDomain     = "contoso.onmicrosoft.com"
	siOther      = "66666666-7777-4888-8999-aaaaaaaaaaaa"
	siOtherDom   = "fabrikam.onmicrosoft.com"
	siWeb        = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	siWebRedir   = "http://localhost:3000/api/auth/callback/microsoft-entra-id"
	siWebLogout  = "http://localhost:3000/api/auth/frontchannel-logout"
	siMulti      = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	siMultiRedir = "https://portal.example.com/signin-oidc"
	siNoRedir    = "0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
	siIDTok      = "4c5d6e7f-8a9b-4c0d-8e1f-2a3b4c5d6e7f"
	siPublic     = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	siAPI        = "2d4d11a2-f814-46a7-890a-274a72a7309e"
	siOtherApp   = "8b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"
	siPassword   = "Correct-Horse-9"
	siSecret     = "dev-web-secret-0123456789abcdefghij"
	siAssigned   = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
)

const signInDirectory = `tenants:
  - id: ` + siTenant + `
    displayName: Contoso
    domains: [` + siDomain + `]
    users:
      - {userPrincipalName: alice@` + siDomain + `, displayName: Alice, password: "` + siPassword + `"}
      - {userPrincipalName: bob@` + siDomain + `, displayName: Bob, password: "` + siPassword + `"}
      - {userPrincipalName: carol@` + siDomain + `, displayName: Carol, password: "` + siPassword + `", accountEnabled: false}
      - {userPrincipalName: admin@` + siDomain + `, displayName: Admin, password: "` + siPassword + `"}
    directoryRoles:
      - {principal: admin@` + siDomain + `, role: Global Administrator}
    servicePrincipals:
      - {appId: ` + siAssigned + `, appRoleAssignmentRequired: true}
    appRoleAssignments:
      - {principal: alice@` + siDomain + `, resource: ` + siAssigned + `}
    applications:
      - appId: ` + siWeb + `
        displayName: Next.js web app
        web:
          redirectUris: [` + siWebRedir + `]
          logoutUrl: ` + siWebLogout + `
        passwordCredentials: [{displayName: dev, secretText: "` + siSecret + `"}]
      - appId: ` + siMulti + `
        displayName: Partner portal
        signInAudience: AzureADMultipleOrgs
        web: {redirectUris: [` + siMultiRedir + `]}
      - appId: ` + siNoRedir + `
        displayName: Nightly job
      - appId: ` + siIDTok + `
        displayName: Implicit app
        web:
          redirectUris: [https://implicit.example.com/cb]
          implicitGrantSettings: {enableIdTokenIssuance: true, enableAccessTokenIssuance: false}
      - appId: ` + siPublic + `
        displayName: Desktop tool
        publicClient: {redirectUris: ["http://localhost"]}
      - appId: ` + siAssigned + `
        displayName: Assigned app
        web: {redirectUris: ["https://assigned.example.com/cb"]}
      - appId: ` + siAPI + `
        displayName: Tasks API
        identifierUris: [api://tasks]
        api:
          oauth2PermissionScopes:
            - {id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5b, value: Tasks.Read, userConsentDisplayName: Read your tasks, adminConsentDisplayName: Read tasks}
            - {id: 1d4f6a8e-2b3d-4e5f-9a0b-1c2d3e4f5a6b, value: Tasks.Admin, type: Admin, adminConsentDisplayName: Administer all tasks}
  - id: ` + siOther + `
    displayName: Fabrikam
    domains: [` + siOtherDom + `]
    users:
      - {userPrincipalName: ben@` + siOtherDom + `, displayName: Ben, password: "` + siPassword + `"}
    applications:
      - appId: ` + siOtherApp + `
        displayName: Fabrikam app
        web: {redirectUris: [https://fabrikam.example.com/cb]}
`

type siServer struct {
	srv  *server.Server
	base string
	pool *x509.CertPool
}

// startSignIn runs a server with the sign-in directory on the embedded
// SQLite database, or on PostgreSQL with a databaseURL.
func startSignIn(t *testing.T, databaseURL ...string) *siServer {
	t.Helper()
	dir := t.TempDir()
	dirFile := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(dirFile, []byte(signInDirectory), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	if len(databaseURL) > 0 {
		cfg.DatabaseURL = databaseURL[0]
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
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &siServer{srv: srv, base: cfg.PublicURL, pool: pool}
}

// browser is a user agent with cookies that never follows a redirect: every
// redirect Entrance sends goes to an app.
type browser struct {
	t  *testing.T
	s  *siServer
	c  *http.Client
	jr http.CookieJar
}

func (s *siServer) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, s: s, jr: jar, c: &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.pool},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// reply is a response with its body read.
type reply struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) reply {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return reply{resp, string(body)}
}

func (b *browser) get(path string, q url.Values) reply {
	b.t.Helper()
	u := b.s.base + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) reply {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	reForm   = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	reHidden = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// fields are the hidden fields of the page's form.
func (r reply) fields() url.Values {
	v := url.Values{}
	for _, m := range reHidden.FindAllStringSubmatch(r.body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

func (r reply) action() string {
	m := reForm.FindStringSubmatch(r.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// submit posts the page's form with its hidden fields and extra ones.
func (b *browser) submit(r reply, extra ...string) reply {
	b.t.Helper()
	f := r.fields()
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	if r.action() == "" {
		b.t.Fatalf("no form on the page (status %d):\n%s", r.StatusCode, r.body)
	}
	return b.post(r.action(), f)
}

// expectPage fails unless r is the named sign-in page, served with the
// pages' security headers.
func expectPage(t *testing.T, r reply, marker string) {
	t.Helper()
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, marker) {
		t.Fatalf("want the page with %q, got %d, Location %q:\n%s", marker, r.StatusCode, r.Header.Get("Location"), r.body)
	}
	checkPageHeaders(t, r)
}

func checkPageHeaders(t *testing.T, r reply) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action "} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if got := r.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q", got)
	}
}

// authz is an authorize request of the web app, v2, with PKCE.
func authz(extra ...string) url.Values {
	q := url.Values{
		"client_id":             {siWeb},
		"response_type":         {"code"},
		"redirect_uri":          {siWebRedir},
		"scope":                 {"openid profile email User.Read"},
		"state":                 {"st-123"},
		"nonce":                 {"n-456"},
		"code_challenge":        {pkceChallenge},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return q
}

const pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

var pkceChallenge = func() string {
	sum := sha256.Sum256([]byte(pkceVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

const authzPath = "/" + siTenant + "/oauth2/v2.0/authorize"

// redirected returns the parameters of a redirect to the app (query or
// fragment), failing unless r redirects to prefix.
func redirected(t *testing.T, r reply, prefix string) url.Values {
	t.Helper()
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("want a redirect to %s, got %d Location %q:\n%s", prefix, r.StatusCode, loc, r.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fragment != "" {
		v, _ := url.ParseQuery(u.Fragment)
		return v
	}
	return u.Query()
}

// signIn runs the username and password pages from the page r, and accepts
// consent if asked. It returns the response after the password (or consent).
func (b *browser) signIn(r reply, upn string) reply {
	b.t.Helper()
	expectPage(b.t, r, `name="username"`)
	r = b.submit(r, "username", upn)
	expectPage(b.t, r, "Enter password")
	r = b.submit(r, "action", "password", "password", siPassword)
	if strings.Contains(r.body, "Permissions requested") {
		r = b.submit(r, "action", "consent")
	}
	return r
}

func (s *siServer) code(t *testing.T, code string) store.AuthorizationCode {
	t.Helper()
	c, err := s.srv.Store().GetAuthorizationCode(context.Background(), store.HashToken(code))
	if err != nil {
		t.Fatalf("stored code: %v", err)
	}
	return c
}

func (s *siServer) user(t *testing.T, tenantID, upn string) store.User {
	t.Helper()
	u, err := s.srv.Store().GetUserByUPN(context.Background(), tenantID, upn)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSignInCodeFlow(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testSignInCodeFlow(t, startSignIn(t, be.databaseURL(t))) })
	}
}

func testSignInCodeFlow(t *testing.T, s *siServer) {
	b := s.browser(t)
	start := time.Now()

	r := b.get(authzPath, authz("client-request-id", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"))
	expectPage(t, r, `name="username"`)
	if !strings.Contains(r.body, "to continue to Next.js web app") || !strings.Contains(r.body, `<label for="username">`) {
		t.Errorf("username page:\n%s", r.body)
	}
	r = b.submit(r, "username", "alice@"+siDomain)
	expectPage(t, r, "Enter password")
	if !strings.Contains(r.body, "alice@"+siDomain) || !strings.Contains(r.body, `value="back"`) {
		t.Errorf("password page lacks the username and the way back:\n%s", r.body)
	}
	r = b.submit(r, "action", "password", "password", siPassword)
	expectPage(t, r, "Permissions requested")
	// The SSO cookie: per tenant, Secure, HttpOnly, SameSite=None.
	var sso *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == "entrance-sso-"+siTenant {
			sso = ck
		}
	}
	if sso == nil || !sso.Secure || !sso.HttpOnly || sso.SameSite != http.SameSiteNoneMode || sso.MaxAge != 0 {
		t.Errorf("SSO cookie %+v", sso)
	}
	for _, want := range []string{"Sign you in", "View your basic profile", "View your email address", "Sign you in and read your profile"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("consent page lacks %q:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "on behalf of your organization") {
		t.Error("a user who is not an admin is offered admin consent")
	}
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "form-action 'self' http://localhost:3000") {
		t.Errorf("consent page CSP %q: the answer redirects to the app, so form-action must allow it", csp)
	}
	r = b.submit(r, "action", "consent")
	got := redirected(t, r, siWebRedir+"?")
	if got.Get("state") != "st-123" || got.Get("session_state") == "" || got.Get("code") == "" {
		t.Fatalf("response %v", got)
	}
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, siWebRedir+"?code=") || strings.Index(loc, "state=") < strings.Index(loc, "code=") {
		t.Errorf("parameters out of Entra's order: %s", loc)
	}

	c := s.code(t, got.Get("code"))
	alice := s.user(t, siTenant, "alice@"+siDomain)
	want := store.AuthorizationCode{
		TenantID: siTenant, ClientID: siWeb, RedirectURI: siWebRedir, Platform: store.PlatformWeb,
		UserID: alice.ID, Scope: "openid profile email User.Read", EndpointVersion: "2.0", Nonce: "n-456",
		CodeChallenge: pkceChallenge, CodeChallengeMethod: "S256",
	}
	if c.TenantID != want.TenantID || c.ClientID != want.ClientID || c.RedirectURI != want.RedirectURI ||
		c.Platform != want.Platform || c.UserID != want.UserID || c.Scope != want.Scope ||
		c.EndpointVersion != want.EndpointVersion || c.Nonce != want.Nonce ||
		c.CodeChallenge != want.CodeChallenge || c.CodeChallengeMethod != want.CodeChallengeMethod {
		t.Errorf("stored code\n%+v\nwant fields of\n%+v", c, want)
	}
	if c.SessionID == "" || c.AuthTime.Before(start.Add(-time.Second)) || len(c.AuthMethods) != 1 || c.AuthMethods[0] != "pwd" {
		t.Errorf("session/auth fields: %+v", c)
	}
	if d := c.ExpiresAt.Sub(c.IssuedAt); d < 9*time.Minute || d > 11*time.Minute {
		t.Errorf("code lifetime %v, want about 10 minutes", d)
	}
	sess, err := s.srv.Store().GetSession(context.Background(), c.SessionID)
	if err != nil || len(sess.Apps) != 1 || sess.Apps[0] != siWeb {
		t.Errorf("session %+v (%v): want the app recorded", sess, err)
	}

	// Single sign-on: silently, and interactively without any page since
	// consent is in place.
	for _, prompt := range []string{"none", ""} {
		r = b.get(authzPath, authz("prompt", prompt, "state", "again"))
		got = redirected(t, r, siWebRedir+"?")
		if got.Get("code") == "" || got.Get("state") != "again" {
			t.Fatalf("prompt=%q: %v", prompt, got)
		}
		if c := s.code(t, got.Get("code")); c.UserID != alice.ID {
			t.Errorf("prompt=%q: code for %s", prompt, c.UserID)
		}
	}

	// The sign-in log has the password sign-in and the single sign-ons.
	logs, err := s.srv.Store().ListSignIns(context.Background(), store.SignInFilter{TenantID: siTenant, UserID: alice.ID})
	if err != nil || len(logs) != 3 {
		t.Fatalf("sign-in log %+v (%v), want 3 entries", logs, err)
	}
	last := logs[len(logs)-1]
	if last.ErrorCode != 0 || last.AppID != siWeb || last.IPAddress != "127.0.0.1" || last.CorrelationID != "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" {
		t.Errorf("password sign-in entry %+v", last)
	}
}

// TestSignInRedeemsWithOAuth2: the code is one the token endpoint redeems
// for golang.org/x/oauth2 (PKCE, client_secret_basic), and the ID token
// verifies with go-oidc and carries the request's nonce.
func TestSignInRedeemsWithOAuth2(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	ctx := oidc.ClientContext(context.Background(), &http.Client{Transport: b.c.Transport})
	provider, err := oidc.NewProvider(ctx, s.base+"/"+siTenant+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: siWeb, ClientSecret: siSecret, Endpoint: provider.Endpoint(), RedirectURL: siWebRedir,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "User.Read"}}
	verifier := oauth2.GenerateVerifier()
	authURL, _ := url.Parse(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")))
	if authURL.Path != "/"+siTenant+"/oauth2/v2.0/authorize" {
		t.Fatalf("authorization_endpoint %s", authURL)
	}
	got := redirected(t, b.signIn(b.get(authURL.Path, authURL.Query()), "alice@"+siDomain), siWebRedir)
	tok, err := conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: siWeb}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		Nonce string `json:"nonce"`
		Name  string `json:"name"`
		TID   string `json:"tid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Nonce != "n-1" || claims.Name != "Alice" || claims.TID != siTenant {
		t.Errorf("ID token claims %+v (%v)", claims, err)
	}
	// The code is single use.
	if _, err := conf.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Error("a code was redeemed twice")
	}
	// Both redemptions and the sign-in are counted, by result.
	metrics := string(b.get("/metrics", nil).body)
	for _, want := range []string{
		`entrance_token_requests_total{grant="authorization_code",result="issued"} 1`,
		`entrance_token_requests_total{grant="authorization_code",result="AADSTS54005"} 1`,
		`entrance_sign_ins_total{result="success"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestSignInPromptsAndAccounts(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	alice, bob := s.user(t, siTenant, "alice@"+siDomain), s.user(t, siTenant, "bob@"+siDomain)
	redirected(t, b.signIn(b.get(authzPath, authz()), alice.UserPrincipalName), siWebRedir)

	// prompt=login asks for credentials despite the session; with login_hint
	// it goes straight to the password.
	r := b.get(authzPath, authz("prompt", "login"))
	expectPage(t, r, `name="username"`)
	r = b.get(authzPath, authz("prompt", "login", "login_hint", bob.UserPrincipalName))
	expectPage(t, r, "Enter password")
	r = b.submit(r, "action", "password", "password", siPassword)
	r = b.submit(r, "action", "consent")
	if c := s.code(t, redirected(t, r, siWebRedir).Get("code")); c.UserID != bob.ID {
		t.Fatalf("code for %s, want bob", c.UserID)
	}

	// Two accounts: prompt=none needs a hint; login_hint picks one.
	got := redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir)
	if got.Get("error") != "interaction_required" || !strings.HasPrefix(got.Get("error_description"), "AADSTS16000:") || got.Get("state") != "st-123" {
		t.Errorf("two accounts, prompt=none: %v", got)
	}
	for _, u := range []store.User{alice, bob} {
		got = redirected(t, b.get(authzPath, authz("prompt", "none", "login_hint", strings.ToUpper(u.UserPrincipalName))), siWebRedir)
		if c := s.code(t, got.Get("code")); c.UserID != u.ID {
			t.Errorf("login_hint %s: code for %s", u.UserPrincipalName, c.UserID)
		}
	}
	got = redirected(t, b.get(authzPath, authz("prompt", "none", "login_hint", "carol@"+siDomain)), siWebRedir)
	if got.Get("error") != "login_required" || !strings.HasPrefix(got.Get("error_description"), "AADSTS50058:") {
		t.Errorf("login_hint not signed in: %v", got)
	}

	// Without a prompt, two accounts show the picker; so does select_account.
	for _, prompt := range []string{"", "select_account"} {
		r = b.get(authzPath, authz("prompt", prompt))
		expectPage(t, r, "Pick an account")
		if !strings.Contains(r.body, alice.UserPrincipalName) || !strings.Contains(r.body, bob.UserPrincipalName) || !strings.Contains(r.body, "Use another account") {
			t.Fatalf("picker:\n%s", r.body)
		}
	}
	r = b.submit(r, "action", "pick", "account", siTenant+"."+bob.ID)
	if c := s.code(t, redirected(t, r, siWebRedir).Get("code")); c.UserID != bob.ID {
		t.Errorf("picked bob, code for %s", c.UserID)
	}
	r = b.get(authzPath, authz("prompt", "select_account"))
	r = b.submit(r, "action", "pick", "account", "")
	expectPage(t, r, `name="username"`)
	// A forged pick of an account not signed in shows the picker again.
	r = b.get(authzPath, authz("prompt", "select_account"))
	r = b.submit(r, "action", "pick", "account", siTenant+"."+s.user(t, siTenant, "admin@"+siDomain).ID)
	expectPage(t, r, "no longer signed in")

	// max_age: a sign-in older than max_age needs the password again; with
	// prompt=none it is login_required.
	time.Sleep(1100 * time.Millisecond)
	got = redirected(t, b.get(authzPath, authz("prompt", "none", "login_hint", alice.UserPrincipalName, "max_age", "1")), siWebRedir)
	if got.Get("error") != "login_required" {
		t.Errorf("max_age with prompt=none: %v", got)
	}
	r = b.get(authzPath, authz("login_hint", alice.UserPrincipalName, "max_age", "1"))
	expectPage(t, r, "Enter password")
	r = b.submit(r, "action", "password", "password", siPassword)
	c := s.code(t, redirected(t, r, siWebRedir).Get("code"))
	if time.Since(c.AuthTime) > 2*time.Second {
		t.Errorf("max_age: auth time %v not renewed", c.AuthTime)
	}
	got = redirected(t, b.get(authzPath, authz("login_hint", alice.UserPrincipalName, "max_age", "600")), siWebRedir)
	if got.Get("code") == "" {
		t.Errorf("max_age 600 after a fresh sign-in: %v", got)
	}
}

func TestSignInResponseModes(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	redirected(t, b.signIn(b.get(authzPath, authz()), "alice@"+siDomain), siWebRedir)

	r := b.get(authzPath, authz("response_mode", "form_post"))
	expectPage(t, r, "Signing you in")
	if a := r.action(); a != siWebRedir {
		t.Errorf("form_post action %q", a)
	}
	f := r.fields()
	if f.Get("code") == "" || f.Get("state") != "st-123" || f.Get("session_state") == "" {
		t.Errorf("form_post fields %v", f)
	}
	s.code(t, f.Get("code"))
	csp := r.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'sha256-") || !strings.Contains(csp, "form-action http://localhost:3000") || strings.Contains(csp, "'unsafe-inline'") {
		t.Errorf("form_post CSP %q", csp)
	}
	if !strings.Contains(r.body, "<noscript>") || !strings.Contains(r.body, "<script>document.forms[0].submit();</script>") {
		t.Errorf("form_post page:\n%s", r.body)
	}

	got := redirected(t, b.get(authzPath, authz("response_mode", "fragment")), siWebRedir+"#code=")
	s.code(t, got.Get("code"))

	// Errors use the response mode too.
	r = b.get(authzPath, authz("response_mode", "form_post", "prompt", "bogus"))
	if f := r.fields(); f.Get("error") != "invalid_request" || !strings.HasPrefix(f.Get("error_description"), "AADSTS90023:") {
		t.Errorf("form_post error %v", f)
	}

	// v1 with resource=, and a public client on any localhost port.
	got = redirected(t, b.get("/"+siDomain+"/oauth2/authorize", url.Values{
		"client_id": {siWeb}, "response_type": {"code"}, "redirect_uri": {siWebRedir}, "resource": {"https://graph.microsoft.com"},
	}), siWebRedir)
	if c := s.code(t, got.Get("code")); c.EndpointVersion != "1.0" || c.Resource != "https://graph.microsoft.com" || c.TenantID != siTenant {
		t.Errorf("v1 code %+v", c)
	}
	r = b.get(authzPath, authz("client_id", siPublic, "redirect_uri", "http://localhost:53123/"))
	if r.StatusCode != http.StatusOK && r.StatusCode != http.StatusFound {
		t.Fatalf("public client on a loopback port: %d\n%s", r.StatusCode, r.body)
	}
	if r.StatusCode == http.StatusOK {
		r = b.submit(r, "action", "consent")
	}
	if c := s.code(t, redirected(t, r, "http://localhost:53123/").Get("code")); c.Platform != store.PlatformPublicClient {
		t.Errorf("public client code platform %q", c.Platform)
	}
}

func TestSignInConsent(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	apiScope := "openid api://tasks/Tasks.Read"

	// Cancel → access_denied at the app.
	r := b.get(authzPath, authz("scope", apiScope))
	r = b.submit(b.submit(r, "username", "bob@"+siDomain), "action", "password", "password", siPassword)
	expectPage(t, r, "Read your tasks (Tasks API)")
	got := redirected(t, b.submit(r, "action", "cancel"), siWebRedir)
	if got.Get("error") != "access_denied" || !strings.HasPrefix(got.Get("error_description"), "AADSTS65004:") || got.Get("code") != "" {
		t.Errorf("cancel: %v", got)
	}
	// prompt=none without consent → consent_required.
	got = redirected(t, b.get(authzPath, authz("scope", apiScope, "prompt", "none")), siWebRedir)
	if got.Get("error") != "consent_required" || !strings.HasPrefix(got.Get("error_description"), "AADSTS65001:") {
		t.Errorf("prompt=none without consent: %v", got)
	}
	// Accept, then the same request skips consent; prompt=consent forces it.
	r = b.get(authzPath, authz("scope", apiScope))
	expectPage(t, r, "Permissions requested")
	redirected(t, b.submit(r, "action", "consent"), siWebRedir)
	redirected(t, b.get(authzPath, authz("scope", apiScope)), siWebRedir+"?code=")
	r = b.get(authzPath, authz("scope", apiScope, "prompt", "consent"))
	expectPage(t, r, "Read your tasks")
	redirected(t, b.submit(r, "action", "consent"), siWebRedir+"?code=")
	grants, _ := s.srv.Store().ListOAuth2PermissionGrants(context.Background(), siTenant)
	found := false
	for _, g := range grants {
		found = found || g.ConsentType == store.ConsentPrincipal && strings.Contains(g.Scope, "Tasks.Read")
	}
	if !found {
		t.Errorf("no user grant of Tasks.Read: %+v", grants)
	}

	// An Admin-type scope: a user gets "Need admin approval"; going back is 90094.
	r = b.get(authzPath, authz("scope", "api://tasks/Tasks.Admin"))
	expectPage(t, r, "Need admin approval")
	got = redirected(t, b.submit(r, "action", "needs_admin"), siWebRedir)
	if got.Get("error") != "access_denied" || !strings.HasPrefix(got.Get("error_description"), "AADSTS90094:") {
		t.Errorf("admin approval: %v", got)
	}
	// A forged accept grants nothing.
	r = b.get(authzPath, authz("scope", "api://tasks/Tasks.Admin"))
	got = redirected(t, b.submit(r, "action", "consent"), siWebRedir)
	if got.Get("code") != "" || !strings.HasPrefix(got.Get("error_description"), "AADSTS90094:") {
		t.Errorf("forged consent to an Admin scope: %v", got)
	}
	// An admin consents for the organization; then bob needs no consent.
	a := s.browser(t)
	r = a.get(authzPath, authz("scope", "api://tasks/Tasks.Admin"))
	r = a.submit(a.submit(r, "username", "admin@"+siDomain), "action", "password", "password", siPassword)
	expectPage(t, r, "Consent on behalf of your organization")
	redirected(t, a.submit(r, "action", "consent", "organization", "1"), siWebRedir+"?code=")
	redirected(t, b.get(authzPath, authz("scope", "api://tasks/Tasks.Admin")), siWebRedir+"?code=")
}

func TestSignInErrors(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)

	// Errors shown on the page, never redirected.
	pages := []struct {
		name, path string
		q          url.Values
		code       string
		contains   []string
	}{
		{"redirect mismatch", authzPath, authz("redirect_uri", "https://evil.example.com/cb"), "50011",
			[]string{"https://evil.example.com/cb", siWebRedir, "How to fix it"}},
		{"no redirect registered", authzPath, authz("client_id", siNoRedir), "500113", nil},
		{"unknown app", authzPath, authz("client_id", "00000000-1111-4222-8333-444444444444"), "700016", nil},
		{"app of another tenant", authzPath, authz("client_id", siOtherApp, "redirect_uri", "https://fabrikam.example.com/cb"), "700016", nil},
		{"single-tenant app on common", "/common/oauth2/v2.0/authorize", authz(), "50194", nil},
		{"single-tenant app on organizations", "/organizations/oauth2/v2.0/authorize", authz(), "50194", nil},
		{"missing client_id", authzPath, authz("client_id", ""), "900144", []string{"client_id"}},
		{"missing redirect_uri", authzPath, authz("redirect_uri", ""), "900144", []string{"redirect_uri"}},
		{"unknown tenant", "/nosuch.example.com/oauth2/v2.0/authorize", authz(), "90002", nil},
	}
	for _, p := range pages {
		r := b.get(p.path, p.q)
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(r.body, "AADSTS"+p.code) {
			t.Errorf("%s: %d Location %q, want the AADSTS%s page:\n%s", p.name, r.StatusCode, r.Header.Get("Location"), p.code, r.body)
			continue
		}
		checkPageHeaders(t, r)
		for _, want := range append(p.contains, "Trace ID", "Correlation ID", "Timestamp") {
			if !strings.Contains(r.body, html.EscapeString(want)) {
				t.Errorf("%s: page lacks %q", p.name, want)
			}
		}
	}

	// Errors sent to the app.
	redirects := []struct {
		name   string
		q      url.Values
		prefix string
		error  string
		code   string
	}{
		{"missing response_type", authz("response_type", ""), siWebRedir + "?", "invalid_request", "900144"},
		{"missing scope", authz("scope", ""), siWebRedir + "?", "invalid_request", "900144"},
		{"id_token not enabled", authz("response_type", "id_token"), siWebRedir + "#", "unsupported_response_type", "700054"},
		{"hybrid, id_token not enabled", authz("response_type", "code id_token"), siWebRedir + "#", "unsupported_response_type", "700054"},
		{"token not enabled", authz("response_type", "token"), siWebRedir + "#", "unsupported_response_type", "700051"},
		{"id_token enabled, no nonce", authz("client_id", siIDTok, "redirect_uri", "https://implicit.example.com/cb", "response_type", "id_token", "nonce", ""),
			"https://implicit.example.com/cb#", "invalid_request", "900144"},
		{"unknown response_type", authz("response_type", "magic"), siWebRedir + "?", "unsupported_response_type", "90023"},
		{"query with a token", authz("response_type", "id_token", "response_mode", "query"), siWebRedir + "#", "invalid_request", "70007"},
		{"bad prompt", authz("prompt", "create"), siWebRedir + "?", "invalid_request", "90023"},
		{"bad code_challenge_method", authz("code_challenge_method", "S512"), siWebRedir + "?", "invalid_request", "90023"},
		{"bad max_age", authz("max_age", "-1"), siWebRedir + "?", "invalid_request", "90023"},
		{"no session, prompt=none", authz("prompt", "none"), siWebRedir + "?", "login_required", "50058"},
	}
	for _, c := range redirects {
		got := redirected(t, b.get(authzPath, c.q), c.prefix)
		desc := got.Get("error_description")
		if got.Get("error") != c.error || !strings.HasPrefix(desc, "AADSTS"+c.code+": ") || got.Get("state") != "st-123" || got.Get("code") != "" {
			t.Errorf("%s: %v", c.name, got)
		}
		for _, line := range []string{"\r\nTrace ID: ", "\r\nCorrelation ID: ", "\r\nTimestamp: "} {
			if !strings.Contains(desc, line) {
				t.Errorf("%s: error_description lacks %q: %q", c.name, line, desc)
			}
		}
	}
	// appRoleAssignmentRequired: bob has no assignment, alice has.
	q := authz("client_id", siAssigned, "redirect_uri", "https://assigned.example.com/cb")
	got := redirected(t, b.signIn(b.get(authzPath, q), "bob@"+siDomain), "https://assigned.example.com/cb")
	if got.Get("error") != "access_denied" || !strings.HasPrefix(got.Get("error_description"), "AADSTS50105:") || got.Get("code") != "" {
		t.Errorf("user not assigned: %v", got)
	}
	a := s.browser(t)
	if got := redirected(t, a.signIn(a.get(authzPath, q), "alice@"+siDomain), "https://assigned.example.com/cb"); got.Get("code") == "" {
		t.Errorf("assigned user: %v", got)
	}
	// An invalid scope is found once the tenant is known.
	b = s.browser(t)
	r := b.signIn(b.get(authzPath, authz("scope", "api://tasks/Nope")), "alice@"+siDomain)
	if got := redirected(t, r, siWebRedir); got.Get("error") != "invalid_scope" || !strings.HasPrefix(got.Get("error_description"), "AADSTS70011:") {
		t.Errorf("invalid scope: %v", got)
	}
}

func TestSignInPasswords(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testSignInPasswords(t, startSignIn(t, be.databaseURL(t))) })
	}
}

func testSignInPasswords(t *testing.T, s *siServer) {
	b := s.browser(t)
	start := func() reply { return b.get(authzPath, authz()) }
	attempt := func(upn, password string) (reply, time.Duration) {
		r := b.submit(start(), "username", upn)
		expectPage(t, r, "Enter password")
		t0 := time.Now()
		r = b.submit(r, "action", "password", "password", password)
		return r, time.Since(t0)
	}

	// Unknown user and wrong password: the same page, the same message,
	// similar time (both verify an argon2id hash).
	var unknown, wrong time.Duration
	var unknownBody, wrongBody string
	for range 3 {
		r, d := attempt("nobody@"+siDomain, "Wrong-Pass-1")
		unknown += d
		unknownBody = r.body
		r, d = attempt("bob@"+siDomain, "Wrong-Pass-1")
		wrong += d
		wrongBody = r.body
	}
	msg := "Your account or password is incorrect."
	for name, body := range map[string]string{"unknown user": unknownBody, "wrong password": wrongBody} {
		if !strings.Contains(body, msg) || !strings.Contains(body, "AADSTS50126") {
			t.Errorf("%s:\n%s", name, body)
		}
	}
	if ratio := float64(unknown) / float64(wrong); ratio < 0.5 || ratio > 2 {
		t.Errorf("unknown user took %v, wrong password %v: the difference reveals which users exist", unknown, wrong)
	}

	// Disabled account: only revealed with the right password.
	r, _ := attempt("carol@"+siDomain, "Wrong-Pass-1")
	if !strings.Contains(r.body, "AADSTS50126") {
		t.Errorf("disabled account, wrong password:\n%s", r.body)
	}
	r, _ = attempt("carol@"+siDomain, siPassword)
	if !strings.Contains(r.body, "AADSTS50057") || r.Header.Get("Location") != "" {
		t.Errorf("disabled account:\n%s", r.body)
	}

	// Lockout after 10 failures (3 so far for bob): then even the right
	// password is refused; unknown usernames lock the same way.
	for range 7 {
		attempt("bob@"+siDomain, "Wrong-Pass-1")
	}
	for _, upn := range []string{"bob@" + siDomain} {
		r, _ = attempt(upn, siPassword)
		if !strings.Contains(r.body, "AADSTS50053") || !strings.Contains(r.body, "temporarily locked") {
			t.Errorf("%s after 10 failures:\n%s", upn, r.body)
		}
	}
	for range 7 {
		attempt("nobody@"+siDomain, "Wrong-Pass-1")
	}
	if r, _ = attempt("nobody@"+siDomain, "Wrong-Pass-1"); !strings.Contains(r.body, "AADSTS50053") {
		t.Errorf("unknown user after 10 failures:\n%s", r.body)
	}

	// Every attempt is in the sign-in log, failures with their codes.
	logs, err := s.srv.Store().ListSignIns(context.Background(), store.SignInFilter{TenantID: siTenant})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, l := range logs {
		counts[l.ErrorCode]++
		if l.AppID != siWeb || l.IPAddress == "" || l.UserPrincipalName == "" {
			t.Errorf("log entry %+v", l)
		}
	}
	if counts[50126] != 3+3+1+7+7 || counts[50057] != 1 || counts[50053] != 2 {
		t.Errorf("sign-in log codes %v", counts)
	}
}

func TestSignInCSRFAndFlow(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	r := b.get(authzPath, authz())
	expectPage(t, r, `name="username"`)

	// A wrong token, or none.
	for _, tok := range []string{"forged", ""} {
		f := r.fields()
		f.Set("csrf", tok)
		f.Set("action", "username")
		f.Set("username", "alice@"+siDomain)
		got := b.post(r.action(), f)
		if got.StatusCode != http.StatusBadRequest || !strings.Contains(got.body, "AADSTS90023") || !strings.Contains(got.body, "csrf") {
			t.Errorf("csrf %q: %d\n%s", tok, got.StatusCode, got.body)
		}
	}
	// Another browser posting this browser's form (its own cookie, no token
	// for it; or its own token with this flow) is refused.
	other := s.browser(t)
	got := other.submit(r, "action", "username", "username", "alice@"+siDomain)
	if got.StatusCode != http.StatusBadRequest {
		t.Errorf("cross-browser post: %d", got.StatusCode)
	}
	own := other.get(authzPath, authz())
	f := r.fields()
	f.Set("csrf", own.fields().Get("csrf"))
	f.Set("action", "username")
	if got := other.post(r.action(), f); got.StatusCode != http.StatusBadRequest || !strings.Contains(got.body, "AADSTS50089") {
		t.Errorf("another browser's flow: %d\n%s", got.StatusCode, got.body)
	}
	// A tampered flow.
	f = r.fields()
	f.Set("flow", f.Get("flow")[:20]+"AAAA"+f.Get("flow")[24:])
	f.Set("action", "username")
	if got := b.post(r.action(), f); !strings.Contains(got.body, "AADSTS50089") {
		t.Errorf("tampered flow: %d\n%s", got.StatusCode, got.body)
	}
	// Consent without having signed in is not an action of that page.
	if got := b.submit(r, "action", "consent"); got.StatusCode != http.StatusBadRequest || got.Header.Get("Location") != "" {
		t.Errorf("consent before sign-in: %d %q", got.StatusCode, got.Header.Get("Location"))
	}
	// The stylesheet is served from our origin.
	css := b.get("/static/entrance.css", nil)
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
}

func TestSignInMultiTenant(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	q := authz("client_id", siMulti, "redirect_uri", siMultiRedir, "scope", "openid profile")
	r := b.get("/organizations/oauth2/v2.0/authorize", q)
	// A username whose domain no tenant has.
	got := b.submit(r, "username", "x@unknown.example.com")
	expectPage(t, got, "find an account")
	r = b.signIn(r, "ben@"+siOtherDom)
	c := s.code(t, redirected(t, r, siMultiRedir).Get("code"))
	if c.TenantID != siOther || c.UserID != s.user(t, siOther, "ben@"+siOtherDom).ID {
		t.Errorf("home tenant sign-in: %+v", c)
	}
	// The same browser on /common: SSO from the Fabrikam session.
	got = b.get("/common/oauth2/v2.0/authorize", authz("client_id", siMulti, "redirect_uri", siMultiRedir, "scope", "openid profile", "prompt", "none"))
	if c := s.code(t, redirected(t, got, siMultiRedir).Get("code")); c.TenantID != siOther {
		t.Errorf("/common SSO: %+v", c)
	}
	// On Contoso's path, Fabrikam's session does not count.
	got = b.get(authzPath, authz("client_id", siMulti, "redirect_uri", siMultiRedir, "scope", "openid profile", "prompt", "none"))
	if redirected(t, got, siMultiRedir).Get("error") != "login_required" {
		t.Errorf("other tenant's session used")
	}
}

func TestSignOut(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testSignOut(t, startSignIn(t, be.databaseURL(t))) })
	}
}

func testSignOut(t *testing.T, s *siServer) {
	b := s.browser(t)
	redirected(t, b.signIn(b.get(authzPath, authz()), "alice@"+siDomain), siWebRedir)

	// Not a registered redirect URI: no redirect (no open redirector).
	for _, target := range []string{"https://evil.example.com/", siWebRedir + "/x", "http://localhost:3000/"} {
		r := b.get("/"+siTenant+"/oauth2/v2.0/logout", url.Values{"post_logout_redirect_uri": {target}, "client_id": {siWeb}})
		if r.StatusCode != http.StatusOK || strings.Contains(r.body, "http-equiv=\"refresh\"") || strings.Contains(r.body, html.EscapeString(target)) && target != "http://localhost:3000/" {
			t.Errorf("post_logout_redirect_uri %q followed:\n%s", target, r.body)
		}
		checkPageHeaders(t, r)
	}
	// That sign-out ended the session already; sign in again to test the
	// front-channel logout.
	got := redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir)
	if got.Get("error") != "login_required" {
		t.Fatalf("after sign-out, prompt=none: %v", got)
	}
	redirected(t, b.signIn(b.get(authzPath, authz()), "alice@"+siDomain), siWebRedir)
	r := b.post("/"+siTenant+"/oauth2/v2.0/logout", url.Values{"post_logout_redirect_uri": {siWebRedir}, "state": {"bye"}})
	expectPage(t, r, "You signed out")
	if !strings.Contains(r.body, `<iframe class="frontchannel" src="`+siWebLogout+`"`) {
		t.Errorf("no front-channel iframe to the app's logoutUrl:\n%s", r.body)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src http://localhost:3000") {
		t.Errorf("signed-out CSP %q", csp)
	}
	if !strings.Contains(r.body, `content="1;url=`+html.EscapeString(siWebRedir+"?state=bye")+`"`) {
		t.Errorf("no redirect to the registered post_logout_redirect_uri with state:\n%s", r.body)
	}
	cleared := false
	for _, ck := range r.Cookies() {
		cleared = cleared || ck.Name == "entrance-sso-"+siTenant && ck.MaxAge < 0
	}
	if !cleared {
		t.Error("SSO cookie not cleared")
	}
	got = redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir)
	if got.Get("error") != "login_required" {
		t.Errorf("after sign-out: %v", got)
	}
	// logout_hint (the login_hint claim's value, or a UPN) signs out one
	// account and leaves the other.
	redirected(t, b.signIn(b.get(authzPath, authz()), "alice@"+siDomain), siWebRedir)
	redirected(t, b.signIn(b.get(authzPath, authz("prompt", "login")), "bob@"+siDomain), siWebRedir)
	bob := s.user(t, siTenant, "bob@"+siDomain)
	r = b.get("/common/oauth2/v2.0/logout", url.Values{"logout_hint": {claims.LoginHint(bob.ID, siTenant, bob.UserPrincipalName)}})
	expectPage(t, r, "You signed out")
	if got := redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir); got.Get("code") == "" {
		t.Errorf("alice signed out with bob: %v", got)
	} else if c := s.code(t, got.Get("code")); c.UserID == bob.ID {
		t.Error("bob still signed in")
	}
	b.get("/"+siTenant+"/oauth2/logout", url.Values{"logout_hint": {"ALICE@" + siDomain}})
	if got := redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir); got.Get("error") != "login_required" {
		t.Errorf("after signing out both: %v", got)
	}
	// v1 sign-out with no session: the page, nothing else.
	r = b.get("/common/oauth2/logout", nil)
	expectPage(t, r, "You signed out")
}

func TestSignInRevokedSession(t *testing.T) {
	s := startSignIn(t)
	b := s.browser(t)
	redirected(t, b.signIn(b.get(authzPath, authz()), "alice@"+siDomain), siWebRedir)
	ctx := context.Background()
	alice := s.user(t, siTenant, "alice@"+siDomain)

	// A password change revokes the password-based session (seed 002).
	if _, err := s.srv.Store().UpdateUser(ctx, siTenant, alice.ID, func(u store.User) (store.User, error) {
		u.LastPasswordChangeDateTime = time.Now().UTC()
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir); got.Get("error") != "login_required" {
		t.Errorf("after a password change: %v", got)
	}
	redirected(t, b.signIn(b.get(authzPath, authz()), "alice@"+siDomain), siWebRedir)
	// An administrator's "revoke sessions".
	time.Sleep(10 * time.Millisecond)
	if _, err := s.srv.Store().UpdateUser(ctx, siTenant, alice.ID, func(u store.User) (store.User, error) {
		u.SignInSessionsValidFromDateTime = time.Now().UTC()
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := redirected(t, b.get(authzPath, authz("prompt", "none")), siWebRedir); got.Get("error") != "login_required" {
		t.Errorf("after revoke sessions: %v", got)
	}
	r := b.get(authzPath, authz())
	expectPage(t, r, `name="username"`)
}
