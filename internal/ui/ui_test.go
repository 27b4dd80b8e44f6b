package ui

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://app.example.com/cb?x=1", "https://app.example.com"},
		{"http://localhost:3000/api/auth/callback", "http://localhost:3000"},
		{"HTTPS://App.Example.com:8443", "https://app.example.com:8443"},
		{"msal6e74172b://auth", "msal6e74172b:"},
		{"https://a.example.com;script-src *", ""},
		{"https://a.example.com'x", ""},
		{"https://user@evil.example.com/", ""},
		{"https:app", ""},
		{"java script:x", ""},
		{"", ""},
	} {
		if got := Origin(c.in); got != c.want {
			t.Errorf("Origin(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCSP(t *testing.T) {
	for _, c := range []struct {
		csp  CSP
		want string
	}{
		{CSP{}, "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
		{CSP{NoSelfForm: true}, "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"},
		{CSP{FormAction: []string{"https://a.example"}}, "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' https://a.example; frame-ancestors 'none'; base-uri 'none'"},
		{CSP{Script: true, NoSelfForm: true, FormAction: []string{"https://a.example"}}, "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src " + autoSubmitHash + "; form-action https://a.example; frame-ancestors 'none'; base-uri 'none'"},
		{CSP{FrameSrc: []string{"http://localhost:3000"}, NoSelfForm: true}, "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src http://localhost:3000; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"},
		{CSP{Script: true, NoSelfForm: true, FormAction: []string{"http://localhost:3000"}, FrameAncestors: []string{"http://localhost:3000"}}, "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src " + autoSubmitHash + "; form-action http://localhost:3000; frame-ancestors http://localhost:3000; base-uri 'none'"},
	} {
		if got := c.csp.String(); got != c.want {
			t.Errorf("%+v:\n got %s\nwant %s", c.csp, got, c.want)
		}
	}
	// The hash allows exactly the script formpost.html carries.
	src, _ := templateFS.ReadFile("templates/formpost.html")
	_, rest, _ := strings.Cut(string(src), "<script>")
	script, _, _ := strings.Cut(rest, "</script>")
	sum := sha256.Sum256([]byte(script))
	if want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; autoSubmitHash != want {
		t.Errorf("CSP hash %s, the page's script hashes to %s", autoSubmitHash, want)
	}
}

func TestRenderEveryPage(t *testing.T) {
	form := Form{Title: "T", AppName: "App <b>", Action: "/t/login", Flow: "F", CSRF: "C", Error: "Oops"}
	for name, data := range map[string]any{
		PageUsername:  Username{Form: form, Username: "a@b.c"},
		PagePassword:  Password{Form: form, Username: "a@b.c"},
		PagePicker:    Picker{Form: form, Accounts: []PickerAccount{{Value: "t.u", Name: "Alice", UPN: "a@b.c", Tenant: "Contoso"}}},
		PageConsent:   Consent{Form: form, Username: "a@b.c", Publisher: "Contoso", Permissions: []Permission{{Name: "Read", Description: "d"}}, CanConsentForOrg: true},
		PageError:     Error{Title: "Sign in", Code: 50011, Message: "m", Hint: "h", TraceID: "t", CorrelationID: "c", Timestamp: "ts", ErrorURI: "https://x/error?code=50011", RedirectURI: "https://evil/cb", Registered: []string{"https://good/cb"}},
		PageFormPost:  FormPost{Title: "W", Action: "https://app.example.com/cb", Fields: []Field{{"code", "abc"}, {"state", `"><script>`}}},
		PageSignedOut: SignedOut{Title: "S", FrontChannel: []string{"https://app.example.com/logout"}, RedirectURI: "https://app.example.com/?state=1"},
	} {
		rec := httptest.NewRecorder()
		if err := Render(rec, http.StatusOK, name, data, CSP{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := rec.Body.String()
		h := rec.Header()
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: headers %v", name, h)
		}
		if !strings.Contains(body, `<link rel="stylesheet" href="/static/entrance.css?v=`) {
			t.Errorf("%s: no stylesheet link", name)
		}
		if strings.Contains(body, "App <b>") || strings.Contains(body, `"><script>`) {
			t.Errorf("%s: unescaped input:\n%s", name, body)
		}
		if strings.Contains(body, "<form") && name != PageFormPost && (!strings.Contains(body, `name="csrf" value="C"`) || !strings.Contains(body, `name="flow" value="F"`)) {
			t.Errorf("%s: form without flow and CSRF token", name)
		}
		for _, tag := range []string{"<input type=\"email\"", "<input type=\"password\""} {
			if i := strings.Index(body, tag); i >= 0 && !strings.Contains(body, "<label for=") {
				t.Errorf("%s: input without a label", name)
			}
		}
	}
	if err := Render(httptest.NewRecorder(), 200, "nope", nil, CSP{}); err == nil {
		t.Error("an unknown page rendered")
	}
}

func TestCSRF(t *testing.T) {
	c := NewCSRF([]byte("key"))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	browser := c.Browser(rec, r)
	ck := rec.Result().Cookies()
	if len(ck) != 1 || ck[0].Name != CSRFCookie || ck[0].Value != browser || !ck[0].Secure || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", ck)
	}
	// The same browser keeps its value.
	r2 := httptest.NewRequest("GET", "/", nil)
	r2.AddCookie(ck[0])
	rec2 := httptest.NewRecorder()
	if c.Browser(rec2, r2) != browser || len(rec2.Result().Cookies()) != 0 {
		t.Error("an existing cookie was replaced")
	}
	post := func(cookie, token string) bool {
		form := url.Values{CSRFField: {token}}
		r := httptest.NewRequest("POST", "/", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: CSRFCookie, Value: cookie})
		}
		_, ok := c.Verify(r)
		return ok
	}
	tok := c.Token(browser)
	if !post(browser, tok) {
		t.Error("a valid token was refused")
	}
	for name, ok := range map[string]bool{
		"no cookie":       post("", tok),
		"other cookie":    post("other", tok),
		"no token":        post(browser, ""),
		"token of other":  post(browser, c.Token("other")),
		"other key":       post(browser, NewCSRF([]byte("k2")).Token(browser)),
		"cookie as token": post(browser, browser),
	} {
		if ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
