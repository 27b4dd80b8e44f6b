package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/loadgen"
)

// get fetches url with the environment's client and returns the answer
// with its body read.
func (e *Env) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := e.Client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// clientCredentials asks for an app-only Graph token as appID.
func (e *Env) clientCredentials(appID, secret string) (loadgen.TokenResponse, error) {
	return loadgen.PostToken(context.Background(), e.Client, e.Base+"/"+TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
	}, loadgen.SecretPost, appID, secret)
}

// wantThrottled checks err is a 429 in Entra's JSON shape.
func wantThrottled(t *testing.T, err error) {
	t.Helper()
	te, ok := err.(*loadgen.TokenError)
	if !ok || te.Status != http.StatusTooManyRequests || te.Err != "temporarily_unavailable" || te.Code() != 90055 ||
		!strings.HasPrefix(te.Description, "AADSTS90055: ") || te.TraceID == "" {
		t.Fatalf("over the limit: %v, want 429 temporarily_unavailable AADSTS90055", err)
	}
	var body map[string]any
	if json.Unmarshal([]byte(te.Body), &body) != nil || body["correlation_id"] == nil || body["timestamp"] == nil {
		t.Errorf("429 body is not Entra's error shape: %s", te.Body)
	}
}

// retryAfter posts a client-credentials request and returns its status and
// Retry-After header.
func (e *Env) retryAfter(t *testing.T, appID, secret string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
		"client_id": {appID}, "client_secret": {secret}}
	resp, err := e.Client.PostForm(e.Base+"/"+TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// Token, device-code and sign-in requests are limited per client_id and
// per source address: over the limit they get 429 with Retry-After, in
// Entra's JSON shape (or on the error page), and after waiting they pass.
func TestRateLimits(t *testing.T) {
	t.Run("per client", func(t *testing.T) {
		e := Start(t, Options{Configure: func(c *config.Config) { c.RateLimitPerClient = 3 }}) // bursts of 6
		for i := range 6 {
			if _, err := e.clientCredentials(ConsentedAppID, ConsentedSecret); err != nil {
				t.Fatalf("request %d within the burst: %v", i+1, err)
			}
		}
		_, err := e.clientCredentials(ConsentedAppID, ConsentedSecret)
		wantThrottled(t, err)
		if status, after := e.retryAfter(t, ConsentedAppID, ConsentedSecret); status != 429 || after != "1" {
			t.Errorf("429 with Retry-After %q (status %d), want 1 (a token every third of a second)", after, status)
		}
		// The device-code endpoint counts for the same client.
		_, err = loadgen.PostToken(context.Background(), e.Client, e.Base+"/"+TenantID+"/oauth2/v2.0/devicecode",
			url.Values{"scope": {"openid"}}, loadgen.NoSecret, ConsentedAppID, "")
		wantThrottled(t, err)
		// Another client has a bucket of its own.
		if _, err := e.clientCredentials(WebAppID, WebSecret); err != nil {
			t.Errorf("another client: %v", err)
		}
		time.Sleep(time.Second) // Retry-After: 3 more tokens
		if _, err := e.clientCredentials(ConsentedAppID, ConsentedSecret); err != nil {
			t.Errorf("after Retry-After: %v", err)
		}
	})

	t.Run("per address", func(t *testing.T) {
		e := Start(t, Options{Configure: func(c *config.Config) { c.RateLimitPerIP = 3 }})
		app := e.App(ConsentedAppID, TenantID)
		authorize := app.AuthorizeURL(loadgen.NewPKCE(), "s", "n", nil)
		for i := range 6 {
			if resp, _ := e.get(t, authorize); resp.StatusCode != http.StatusOK {
				t.Fatalf("sign-in page %d within the burst: %d", i+1, resp.StatusCode)
			}
		}
		resp, body := e.get(t, authorize)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "AADSTS90055") {
			t.Fatalf("sign-in page over the limit: %d %.300s", resp.StatusCode, body)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
		checkPageHeaders(t, "throttled sign-in page", resp)
		// The token endpoint shares the address's bucket.
		_, err := e.clientCredentials(ConsentedAppID, ConsentedSecret)
		wantThrottled(t, err)
	})
}

// recorder keeps every response that passes through it.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	seen []recorded
}

type recorded struct {
	what   string // METHOD URL
	status int
	header http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err == nil {
		r.mu.Lock()
		r.seen = append(r.seen, recorded{req.Method + " " + req.URL.String(), resp.StatusCode, resp.Header.Clone()})
		r.mu.Unlock()
	}
	return resp, err
}

// checkPageHeaders checks what every HTML page must carry: a strict
// Content-Security-Policy (nothing loads but the page's own stylesheet; no
// inline script but the form_post page's one hashed script; no framing but
// by the app on a silent form_post; no base, no form target but the ones
// named), no sniffing, no caching.
func checkPageHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	checkPage(t, what, resp.Header)
}

func checkPage(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if directives["default-src"] != "'none'" || directives["base-uri"] != "'none'" ||
		directives["frame-ancestors"] == "" || directives["form-action"] == "" || directives["style-src"] != "'self'" {
		t.Errorf("%s: CSP %q is not strict (default-src 'none', style-src 'self', base-uri 'none', frame-ancestors and form-action set)", what, csp)
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		for name, v := range directives {
			if strings.Contains(" "+v+" ", " "+bad+" ") || strings.Contains(v, "'"+bad+"'") {
				t.Errorf("%s: CSP %s allows %s: %q", what, name, bad, csp)
			}
		}
	}
	if s, ok := directives["script-src"]; ok && !strings.HasPrefix(s, "'sha256-") {
		t.Errorf("%s: script-src %q, want only a hash", what, s)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Cache-Control"), "no-store") {
		t.Errorf("%s: X-Content-Type-Options %q, Cache-Control %q", what, h.Get("X-Content-Type-Options"), h.Get("Cache-Control"))
	}
}

// Every cookie the sign-in pages set is Secure, HttpOnly and has a
// SameSite attribute, and every HTML page has a strict CSP — over a run of
// every kind of page: sign-in with consent, single sign-on, form_post, a
// wrong password, the error pages, sign-out and the device code pages.
func TestCookiesAndCSP(t *testing.T) {
	e := Start(t, Options{})
	ctx := context.Background()
	rec := &recorder{base: &http.Transport{TLSClientConfig: e.TLS, ForceAttemptHTTP2: true}}
	b := loadgen.NewBrowserWithTransport(rec)
	alice := loadgen.Credentials{Username: AliceUPN, Password: Password}
	web := e.App(WebAppID, TenantID)
	get := func(u string) {
		resp, err := b.Client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	if _, err := web.SignIn(ctx, b, alice); err != nil { // username, password, consent
		t.Fatal(err)
	}
	ar, err := b.Authorize(ctx, web.AuthorizeURL(loadgen.NewPKCE(), "s", "n", url.Values{"prompt": {"none"}}), web.RedirectURI, loadgen.Credentials{})
	if err != nil || ar.Code() == "" {
		t.Fatalf("single sign-on: %v %v", err, ar.Params)
	}
	if _, err := b.Authorize(ctx, web.AuthorizeURL(loadgen.NewPKCE(), "s", "n", url.Values{"response_mode": {"form_post"}}), web.RedirectURI, loadgen.Credentials{}); err != nil {
		t.Fatalf("form_post: %v", err)
	}
	wrong := loadgen.NewBrowserWithTransport(rec)
	if _, err := wrong.Authorize(ctx, web.AuthorizeURL(loadgen.NewPKCE(), "s", "n", nil), web.RedirectURI,
		loadgen.Credentials{Username: MalloryUPN, Password: "not-the-password"}); err == nil {
		t.Fatal("a wrong password signed in")
	}
	get(e.Base + "/" + TenantID + "/oauth2/v2.0/authorize?client_id=00000000-0000-0000-0000-000000000bad&response_type=code&scope=openid")
	get(e.Base + "/error?code=50011")
	get(e.Base + "/devicelogin")
	if resp, err := b.Client.PostForm(e.Base+"/devicelogin", url.Values{"otc": {"NOTACODE"}}); err == nil {
		resp.Body.Close()
	}
	get(e.Base + "/" + TenantID + "/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape(e.RP.URL+webPath+"/signedout"))

	pages, cookies := 0, map[string]bool{}
	for _, r := range rec.seen {
		// Redirects carry a one-line HTML body too (net/http writes one);
		// browsers follow them without rendering it.
		if strings.HasPrefix(r.header.Get("Content-Type"), "text/html") && (r.status < 300 || r.status >= 400) {
			pages++
			checkPage(t, r.what, r.header)
		}
		for _, line := range r.header.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil {
				t.Errorf("%s: Set-Cookie %q: %v", r.what, line, err)
				continue
			}
			cookies[c.Name] = true
			if !c.Secure || !c.HttpOnly || c.SameSite == http.SameSiteDefaultMode {
				t.Errorf("%s: cookie %s is not Secure, HttpOnly and SameSite: %q", r.what, c.Name, line)
			}
		}
	}
	t.Logf("%d responses, %d pages, cookies %v", len(rec.seen), pages, slices.Sorted(maps.Keys(cookies)))
	if pages < 8 || len(cookies) < 2 {
		t.Errorf("only %d pages and cookies %v seen: the flows did not run", pages, cookies)
	}
}

// Request headers over 64 KiB are refused (431), and so are bodies over
// 1 MiB (the form is not read past it): neither reaches a handler whole,
// neither is a server error.
func TestRequestSizeLimits(t *testing.T) {
	// Rate limits on: the limiter reads client_id from the form first.
	e := Start(t, Options{Configure: func(c *config.Config) { c.RateLimitPerIP, c.RateLimitPerClient = 1000, 1000 }})
	req, _ := http.NewRequest(http.MethodGet, e.Base+"/"+TenantID+"/discovery/v2.0/keys", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 100<<10))
	// Over HTTP/1.1: Go's HTTP/2 client refuses to send headers over the
	// limit the server advertises, before the server could.
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: e.TLS, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	resp, err := h1.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB of headers: %d, want 431", resp.StatusCode)
	}

	for _, path := range []string{"/" + TenantID + "/oauth2/v2.0/token", "/" + TenantID + "/login", "/devicelogin"} {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {ConsentedAppID}, "client_secret": {ConsentedSecret},
			"scope": {"https://graph.microsoft.com/.default"}, "padding": {strings.Repeat("a", 2<<20)}}
		resp, err := e.Client.PostForm(e.Base+path, form)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with a 2 MiB body: %d %.200s, want 400 or 413", path, resp.StatusCode, body)
		}
	}
	// The same request, small, still works.
	if _, err := e.clientCredentials(ConsentedAppID, ConsentedSecret); err != nil {
		t.Error(err)
	}
}
