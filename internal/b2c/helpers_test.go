package b2c_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/dirfile"
	"github.com/entranceidp/entrance/internal/e2e"
)

// The B2C tenant of these tests, applied on top of the end-to-end harness's
// directory (e2e.Start), with every kind of user flow.
const (
	tenantID  = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	domain    = "contosob2c.onmicrosoft.com"
	webAppID  = "90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6"
	webSecret = "b2c-web-secret-0123456789abcdefghij"
	spaAppID  = "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
	apiAppID  = "3b2a1c0d-9e8f-4a7b-8c6d-5e4f3a2b1c0d"
	apiScope  = "https://" + domain + "/orders/orders.read"
	// webRedirect is never fetched by the raw tests: they read the redirect.
	webRedirect = "https://shop.example.com/signin-oidc"
	spaRedirect = "http://localhost:5173/"
	password    = "Correct-Horse-9"
	existing    = "existing@example.com"
)

func b2cYAML(extraRedirect string) string {
	redirects := webRedirect
	if extraRedirect != "" {
		redirects += ", " + extraRedirect
	}
	return `tenants:
  - id: ` + tenantID + `
    displayName: Contoso B2C
    type: b2c
    domains: [` + domain + `]
    userFlows:
      - name: B2C_1_SignUpSignIn
        type: signUpOrSignIn
        attributes: [givenName, surname, extension_Team]
        claims: [objectId, emails, displayName, givenName, surname, newUser, extension_Team]
      - name: B2C_1_signup
        type: signUp
        attributes: [givenName, surname, extension_Team]
        claims: [objectId, emails, givenName, surname, newUser, extension_Team]
        tokenCompatibility: {issuer: tfp}
      - name: B2C_1_edit
        type: profileEdit
        attributes: [givenName, surname, extension_Team]
        claims: [objectId, emails, givenName, surname, extension_Team]
      - name: B2C_1_reset
        type: passwordReset
      - name: B2C_1_legacy
        type: signIn
        tokenCompatibility: {userFlowClaim: acr}
        tokenLifetimes: {accessToken: 10m, idToken: 15m, refreshToken: 1d, refreshTokenSlidingWindow: 2d}
    users:
      - {mail: ` + existing + `, displayName: Existing User, givenName: Ex, password: "` + password + `"}
    applications:
      - appId: ` + webAppID + `
        displayName: Contoso shop
        web:
          redirectUris: [` + redirects + `]
          implicitGrantSettings: {enableIdTokenIssuance: true, enableAccessTokenIssuance: true}
        passwordCredentials: [{secretText: "` + webSecret + `"}]
      - appId: ` + spaAppID + `
        displayName: Contoso SPA
        spa: {redirectUris: [` + spaRedirect + `]}
      - appId: ` + apiAppID + `
        displayName: Orders API
        identifierUris: [https://` + domain + `/orders]
        api:
          oauth2PermissionScopes:
            - {id: 4d3c2b1a-0f9e-4d8c-9b7a-6f5e4d3c2b1a, value: orders.read, type: Admin, adminConsentDisplayName: Read orders}
            - {id: 5d3c2b1a-0f9e-4d8c-9b7a-6f5e4d3c2b1a, value: orders.write, type: Admin, adminConsentDisplayName: Write orders}
    oauth2PermissionGrants:
      - {client: ` + webAppID + `, resource: ` + apiAppID + `, scope: orders.read, consentType: AllPrincipals}
`
}

// startB2C starts a server (codes shown on the page) with the B2C tenant.
func startB2C(t *testing.T, extraRedirect string) *e2e.Env {
	t.Helper()
	env := e2e.Start(t, e2e.Options{Configure: func(c *config.Config) { c.ShowEmailCodes = true }})
	doc, err := dirfile.Parse("b2c.yaml", []byte(b2cYAML(extraRedirect)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := dirfile.Apply(ctx, env.Store, doc, dirfile.ApplyOptions{SecretHasher: env.Srv.Secrets().ClientSecretHasher()}); err != nil {
		t.Fatal(err)
	}
	if err := env.Srv.Keys().Ensure(ctx, tenantID, ""); err != nil {
		t.Fatal(err)
	}
	env.Srv.Invalidate()
	return env
}

// browser is a cookie-keeping client that walks the pages without
// JavaScript and never follows a redirect to the app.
type browser struct {
	t    *testing.T
	env  *e2e.Env
	c    *http.Client
	last page
}

func newBrowser(t *testing.T, env *e2e.Env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, env: env, c: &http.Client{
		Timeout: 30 * time.Second, Jar: jar, Transport: env.Client.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is what a response showed: a form's state, or a redirect.
type page struct {
	status                         int
	location                       string
	body                           string
	action, flow, csrf, devCode    string
	errorText, heading, identifier string
}

var (
	reAction  = regexp.MustCompile(`<form method="post" action="([^"]+)" novalidate>`)
	reFlow    = regexp.MustCompile(`name="flow" value="([^"]+)"`)
	reCSRF    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reDevCode = regexp.MustCompile(`<strong class="code">(\d{6})</strong>`)
	reError   = regexp.MustCompile(`(?s)<p class="error" id="form-error" role="alert">(.*?)</p>`)
	reHeading = regexp.MustCompile(`<h1>(.*?)</h1>`)
	reCode    = regexp.MustCompile(`<strong>(AAD(?:B2C|STS)\d+):</strong>`)
)

func (b *browser) read(resp *http.Response) page {
	b.t.Helper()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
	find := func(re *regexp.Regexp) string {
		if m := re.FindStringSubmatch(p.body); m != nil {
			return html.UnescapeString(m[1])
		}
		return ""
	}
	p.action, p.flow, p.csrf, p.devCode = find(reAction), find(reFlow), find(reCSRF), find(reDevCode)
	p.errorText, p.heading, p.identifier = find(reError), find(reHeading), find(reCode)
	b.last = p
	return p
}

func (b *browser) get(u string) page {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

// submit posts the last page's form with an action and fields.
func (b *browser) submit(action string, fields ...string) page {
	b.t.Helper()
	if b.last.flow == "" {
		b.t.Fatalf("no form on the last page (status %d, heading %q): %.400s", b.last.status, b.last.heading, b.last.body)
	}
	return b.submitRaw(b.last, action, fields...)
}

func (b *browser) submitRaw(p page, action string, fields ...string) page {
	b.t.Helper()
	form := url.Values{"flow": {p.flow}, "csrf": {p.csrf}, "action": {action}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	resp, err := b.c.PostForm(b.env.Base+p.action, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

// authorizeURL is a policy's authorize request in the path form.
func authorizeURL(env *e2e.Env, policy string, q url.Values) string {
	return env.Base + "/" + domain + "/" + policy + "/oauth2/v2.0/authorize?" + q.Encode()
}

// codeRequest is the shop's usual request: a code for an ID token, an
// access token for the Orders API and a refresh token.
func codeRequest(extra ...string) url.Values {
	q := url.Values{
		"client_id": {webAppID}, "redirect_uri": {webRedirect}, "response_type": {"code"},
		"scope": {"openid offline_access " + apiScope}, "state": {"st-1"}, "nonce": {"n-1"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

// redirectParams reads the response parameters of a redirect to the app
// (query or fragment).
func redirectParams(t *testing.T, location string) url.Values {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fragment != "" {
		v, err := url.ParseQuery(u.Fragment)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return u.Query()
}

// signUp walks a sign-up through its pages from an authorize response and
// returns the redirect to the app.
func signUp(t *testing.T, b *browser, start page, email, given string) page {
	t.Helper()
	if start.heading != "Create account" {
		t.Fatalf("sign-up starts at %q (status %d): %.600s", start.heading, start.status, start.body)
	}
	p := b.submit("send_code", "email", email)
	if p.devCode == "" {
		t.Fatalf("no code shown: %q %.600s", p.errorText, p.body)
	}
	p = b.submit("verify_code", "code", p.devCode)
	if p.heading != "Create account" || p.errorText != "" {
		t.Fatalf("after the code: %q %q", p.heading, p.errorText)
	}
	return b.submit("create", "password", password, "password2", password, "givenName", given, "surname", "Doe", "extension_Team", "Blue")
}

// tokenResponse is B2C's token answer.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	IDToken               string `json:"id_token"`
	TokenType             string `json:"token_type"`
	NotBefore             int64  `json:"not_before"`
	ExpiresIn             int    `json:"expires_in"`
	ExpiresOn             int64  `json:"expires_on"`
	Resource              string `json:"resource"`
	IDTokenExpiresIn      int    `json:"id_token_expires_in"`
	ProfileInfo           string `json:"profile_info"`
	Scope                 string `json:"scope"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int    `json:"refresh_token_expires_in"`
	ClientInfo            string `json:"client_info"`
	Error                 string `json:"error"`
	ErrorDescription      string `json:"error_description"`
}

// token posts a token request to a policy's endpoint (path form).
func token(t *testing.T, env *e2e.Env, policy string, form url.Values) (int, tokenResponse) {
	t.Helper()
	return tokenAt(t, env, env.Base+"/"+domain+"/"+policy+"/oauth2/v2.0/token", form)
}

func tokenAt(t *testing.T, env *e2e.Env, u string, form url.Values) (int, tokenResponse) {
	t.Helper()
	resp, err := env.Client.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out tokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token response: %v", err)
	}
	return resp.StatusCode, out
}

func redeem(code string, extra ...string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {webRedirect},
		"client_id": {webAppID}, "client_secret": {webSecret}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// claimsOf decodes a JWT's payload (the signature is checked elsewhere).
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// keysOf lists a JWT payload's claim names in order.
func keysOf(t *testing.T, jwt string) []string {
	t.Helper()
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	var keys []string
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newPost(u string, form url.Values) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
