package e2e

// The device code flow's device page over HTTPS with a plain HTTP client (a
// cookie jar, forms posted as a browser posts them): entering codes right,
// wrong, expired, used and too often; Cancel; the sign-in and consent
// pages; the account picker instead of silent single sign-on; and what the
// polling device gets after each.

import (
	"context"
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

	"github.com/entranceidp/entrance/internal/store"
)

// devicePublicClient makes the MSAL app a public client for flows without a
// redirect URI ("Allow public client flows"), as device code apps are.
func devicePublicClient(t *testing.T, env *Env) {
	t.Helper()
	_, err := env.Store.UpdateApplication(context.Background(), MSALAppID, func(a store.Application) (store.Application, error) {
		a.IsFallbackPublicClient = true
		return a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deviceCodeAnswer is the device code endpoint's answer.
type deviceCodeAnswer struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// deviceCode asks for a device code for the MSAL app.
func deviceCode(t *testing.T, env *Env, scope string) deviceCodeAnswer {
	t.Helper()
	resp, err := env.Client.PostForm(env.Base+"/"+TenantID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {MSALAppID}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a deviceCodeAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 || a.DeviceCode == "" {
		t.Fatalf("device code request: %d %+v %v", resp.StatusCode, a, err)
	}
	return a
}

// poll polls the token endpoint once, as MSAL does, and returns the status
// and the JSON answer.
func poll(t *testing.T, env *Env, dc deviceCodeAnswer) (int, map[string]any) {
	t.Helper()
	resp, err := env.Client.PostForm(env.Base+"/"+TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"device_code"}, "device_code": {dc.DeviceCode}, "client_id": {MSALAppID}, "client_info": {"1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

// wantPoll checks a poll's OAuth error ("" for tokens).
func wantPoll(t *testing.T, env *Env, dc deviceCodeAnswer, wantErr string) map[string]any {
	t.Helper()
	status, m := poll(t, env, dc)
	got, _ := m["error"].(string)
	switch {
	case wantErr == "" && (status != 200 || m["access_token"] == nil):
		t.Fatalf("poll: %d %v, want tokens", status, m)
	case wantErr != "" && (status != 400 || got != wantErr || m["access_token"] != nil):
		t.Fatalf("poll: %d %v, want 400 %s", status, m, wantErr)
	}
	return m
}

// pageClient is a browser without JavaScript: a cookie jar, and the last
// page's forms.
type pageClient struct {
	t    *testing.T
	c    *http.Client
	base string
	body string // the last page
}

func newPageClient(t *testing.T, env *Env) *pageClient {
	jar, _ := cookiejar.New(nil)
	return &pageClient{t: t, base: env.Base, c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: env.TLS.Clone(), ForceAttemptHTTP2: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (p *pageClient) keep(resp *http.Response, err error) int {
	p.t.Helper()
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	p.body = string(b)
	return resp.StatusCode
}

func (p *pageClient) get(path string) int { return p.keep(p.c.Get(p.base + path)) }

// submit posts the last page's hidden fields (flow, csrf) with fields to
// path (a form's action).
func (p *pageClient) submit(path string, fields ...string) int {
	p.t.Helper()
	form := url.Values{}
	for _, name := range []string{"flow", "csrf"} {
		if v, ok := p.hidden(name); ok {
			form.Set(name, v)
		}
	}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return p.keep(p.c.PostForm(p.base+path, form))
}

var reHidden = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)

func (p *pageClient) hidden(name string) (string, bool) {
	for _, m := range reHidden.FindAllStringSubmatch(p.body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2]), true
		}
	}
	return "", false
}

// action is the last page's (first) form action.
func (p *pageClient) action() string {
	m := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		p.t.Fatalf("no form on the page:\n%.1500s", p.body)
	}
	return html.UnescapeString(m[1])
}

// shows fails unless the last page contains every text.
func (p *pageClient) shows(step string, texts ...string) {
	p.t.Helper()
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			p.t.Fatalf("%s: the page lacks %q:\n%.3000s", step, s, p.body)
		}
	}
}

// enterCode opens the device page and enters code.
func (p *pageClient) enterCode(code string) {
	p.t.Helper()
	if st := p.get("/devicelogin"); st != 200 {
		p.t.Fatalf("GET /devicelogin: %d", st)
	}
	p.submit("/devicelogin", "action", "code", "otc", code)
}

const appName = "MSAL Go web app"

func TestDevicePage(t *testing.T) {
	env := Start(t, Options{})
	devicePublicClient(t, env)
	const scope = "openid profile offline_access https://graph.microsoft.com/User.Read"
	p := newPageClient(t, env)

	// The page, and its form's defences.
	dc := deviceCode(t, env, scope)
	if dc.VerificationURI != env.Base+"/devicelogin" {
		t.Fatalf("verification_uri %q", dc.VerificationURI)
	}
	if st := p.get("/devicelogin"); st != 200 {
		t.Fatalf("GET /devicelogin: %d", st)
	}
	p.shows("device page", "Enter code", `name="otc"`)
	if st := p.keep(p.c.PostForm(env.Base+"/devicelogin", url.Values{"action": {"code"}, "otc": {dc.UserCode}})); st != 400 {
		t.Errorf("a post without the CSRF token: %d, want 400", st)
	}
	p.shows("no CSRF token", "AADSTS90023")
	p.enterCode("ABCDEFGHJ")
	p.shows("an unknown code", "That code didn&#39;t work")
	wantPoll(t, env, dc, "authorization_pending")

	// The right code, typed loosely: the app is named, and nothing is
	// decided until Continue.
	loose := strings.ToLower(dc.UserCode[:4]) + "-" + dc.UserCode[4:]
	p.enterCode(loose)
	p.shows("code entered", "Are you trying to sign in to "+appName+"?", `value="continue"`, `value="cancel"`)
	if p.action() != "/devicelogin" {
		t.Errorf("confirmation posts to %q", p.action())
	}
	p.submit("/devicelogin", "action", "continue")
	p.shows("continue", "Sign in", `id="username"`)
	p.submit(p.action(), "action", "username", "username", AliceUPN)
	p.shows("username", "Enter password")
	p.submit(p.action(), "action", "password", "password", Password)
	p.shows("password", "Permissions requested", `value="consent"`)
	p.submit(p.action(), "action", "consent")
	p.shows("consent", `id="device-signed-in"`, "You have signed in to the "+appName+" application on your device. You may now close this window.")

	m := wantPoll(t, env, dc, "")
	if m["id_token"] == nil || m["refresh_token"] == nil || m["client_info"] == nil {
		t.Errorf("tokens %v: want an ID token, a refresh token and client_info", m)
	}
	wantPoll(t, env, dc, "invalid_grant") // once only
	p.enterCode(dc.UserCode)
	p.shows("a used code", "That code has already been used")

	// Signed in already: the next device code still asks which account (a
	// code someone else sent must not be approved silently), then needs no
	// consent (the user gave it).
	dc2 := deviceCode(t, env, scope)
	p.enterCode(dc2.UserCode)
	p.submit("/devicelogin", "action", "continue")
	p.shows("signed in already", "Pick an account", AliceUPN)
	m2 := regexp.MustCompile(`name="account" value="([^"]+)"`).FindStringSubmatch(p.body)
	if m2 == nil {
		t.Fatal("no account tile")
	}
	p.submit(p.action(), "action", "pick", "account", m2[1])
	p.shows("picked", `id="device-signed-in"`)
	wantPoll(t, env, dc2, "")

	// Cancel on the confirmation: declined.
	dc3 := deviceCode(t, env, scope)
	p.enterCode(dc3.UserCode)
	p.submit("/devicelogin", "action", "cancel")
	p.shows("cancel", `id="device-declined"`)
	wantPoll(t, env, dc3, "authorization_declined")
	p.enterCode(dc3.UserCode)
	p.shows("a declined code", "That code has already been used")

	// Cancel on the consent page (a scope not consented yet): declined.
	dc4 := deviceCode(t, env, "openid api://tasks/access_as_user")
	p.enterCode(dc4.UserCode)
	p.submit("/devicelogin", "action", "continue")
	p.submit(p.action(), "action", "pick", "account", m2[1])
	p.shows("new scope", "Permissions requested", "Access Tasks")
	p.submit(p.action(), "action", "cancel")
	p.shows("consent cancelled", `id="device-declined"`)
	wantPoll(t, env, dc4, "authorization_declined")

	// Too late.
	dc5 := deviceCode(t, env, scope)
	if _, err := env.Store.UpdateDeviceCode(context.Background(), store.HashToken(dc5.DeviceCode), func(v store.DeviceCode) (store.DeviceCode, error) {
		v.ExpiresAt = time.Now().Add(-time.Second)
		return v, nil
	}); err != nil {
		t.Fatal(err)
	}
	p.enterCode(dc5.UserCode)
	p.shows("an expired code", "That code has expired")
	wantPoll(t, env, dc5, "expired_token")

	// Guessing: after 20 wrong codes from one address (one was wrong
	// above), even a right one is refused for a while.
	dc6 := deviceCode(t, env, scope)
	for range 19 {
		p.enterCode("ABCDEFGHJ")
		p.shows("a wrong code", "That code didn&#39;t work")
	}
	p.enterCode(dc6.UserCode)
	p.shows("throttled", "too many codes")
	wantPoll(t, env, dc6, "authorization_pending")
}

// TestDevicePageOrganizations: a device code asked at /organizations by a
// confidential multi-tenant app: the user's tenant is decided by whom they
// sign in as, and the app authenticates with its secret when it polls.
func TestDevicePageOrganizations(t *testing.T) {
	env := Start(t, Options{})
	resp, err := env.Client.PostForm(env.Base+"/organizations/oauth2/v2.0/devicecode",
		url.Values{"client_id": {MultiAppID}, "scope": {"openid offline_access https://graph.microsoft.com/User.Read"}})
	if err != nil {
		t.Fatal(err)
	}
	var dc deviceCodeAnswer
	err = json.NewDecoder(resp.Body).Decode(&dc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("device code request: %d %v", resp.StatusCode, err)
	}
	pollOrgs := func(secret string) (int, map[string]any) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc.DeviceCode}, "client_id": {MultiAppID}}
		if secret != "" {
			form.Set("client_secret", secret)
		}
		resp, err := env.Client.PostForm(env.Base+"/organizations/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	if st, m := pollOrgs(""); st != 401 || m["error"] != "invalid_client" || !strings.Contains(m["error_description"].(string), "AADSTS7000218") {
		t.Errorf("poll without the secret: %d %v, want 401 AADSTS7000218", st, m)
	}
	if st, m := pollOrgs(MultiSecret); st != 400 || m["error"] != "authorization_pending" {
		t.Errorf("poll with the secret: %d %v, want authorization_pending", st, m)
	}

	p := newPageClient(t, env)
	p.enterCode(dc.UserCode)
	p.shows("code entered", "Are you trying to sign in to Partner portal?")
	p.submit("/devicelogin", "action", "continue")
	p.shows("continue", `id="username"`)
	if p.action() != "/organizations/login" {
		t.Errorf("sign-in form posts to %q", p.action())
	}
	p.submit(p.action(), "action", "username", "username", AliceUPN)
	p.submit(p.action(), "action", "password", "password", Password)
	p.submit(p.action(), "action", "consent")
	p.shows("consent", `id="device-signed-in"`)

	st, m := pollOrgs(MultiSecret)
	if st != 200 || m["id_token"] == nil {
		t.Fatalf("poll after sign-in: %d %v", st, m)
	}
	parts := strings.Split(m["id_token"].(string), ".")
	var claims map[string]any
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatalf("ID token %q", m["id_token"])
	}
	if claims["tid"] != TenantID || claims["aud"] != MultiAppID {
		t.Errorf("ID token claims %v: want alice's tenant", claims)
	}
}
