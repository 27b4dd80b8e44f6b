package e2e

// Issue 5's gates for browser apps, each through the whole server over
// HTTPS as a client meets it (a negative test for every one: 700054,
// 700051, the nonce and openid rules, query mode with tokens, PKCE for spa
// redirect URIs, 9002326, 9002327, 700084, a disallowed CORS origin), and
// the shapes of implicit and hybrid answers (parameter order, at_hash,
// c_hash, hasgroups, which pages may be framed), with a Go client.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/store"
)

// redirectAnswer is an answer sent to a redirect URI, in order.
type redirectAnswer struct {
	Mode   string // "query" or "fragment"
	Keys   []string
	Params url.Values
}

// followToApp opens an authorize URL with c (its cookies, if any) and
// follows Entrance's own redirects until one leaves for the app.
func followToApp(t *testing.T, c *http.Client, base, u string) (redirectAnswer, *http.Response) {
	t.Helper()
	for range 5 {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			return redirectAnswer{}, resp
		}
		if strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, base) {
			u = base + strings.TrimPrefix(loc, base)
			continue
		}
		target, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		a := redirectAnswer{Mode: "query", Params: target.Query()}
		raw := target.RawQuery
		if target.Fragment != "" {
			a.Mode, raw = "fragment", target.EscapedFragment()
			a.Params, _ = url.ParseQuery(raw)
		}
		for _, kv := range strings.Split(raw, "&") {
			k, _, _ := strings.Cut(kv, "=")
			a.Keys = append(a.Keys, k)
		}
		return a, resp
	}
	t.Fatalf("too many redirects from %s", u)
	return redirectAnswer{}, nil
}

// authorizeURL is a v2 authorize request for client at Contoso.
func (e *Env) authorizeURL(client, redirect string, kv ...string) string {
	q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "state": {"st-1"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return e.Base + "/" + TenantID + "/oauth2/v2.0/authorize?" + q.Encode()
}

// tokenCall is a raw token request, with an Origin header when origin is
// set, as a browser's fetch sends it.
func tokenCall(t *testing.T, e *Env, form url.Values, origin string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.Base+"/"+TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp, m
}

// wantTokenError checks a token endpoint refusal: status, error, AADSTS
// code, and nothing issued.
func wantTokenError(t *testing.T, what string, resp *http.Response, m map[string]any, code int, oauthErr string) {
	t.Helper()
	codes, _ := m["error_codes"].([]any)
	if resp.StatusCode != http.StatusBadRequest || m["error"] != oauthErr || len(codes) != 1 || codes[0] != float64(code) ||
		m["access_token"] != nil || m["refresh_token"] != nil {
		t.Errorf("%s: %d %v, want 400 %s AADSTS%d", what, resp.StatusCode, m, oauthErr, code)
	}
}

func TestSPAGates(t *testing.T) {
	site := newSPASite(t)
	e := Start(t, Options{Applications: spaApplications(site.URL)})
	webReply := e.RP.URL + webPath + "/callback"
	pkce := loadgen.NewPKCE()

	// Refused at /authorize before any sign-in, at the redirect URI in the
	// response mode: error, error_description, state.
	for _, c := range []struct {
		name, client, redirect string
		kv                     []string
		mode, err              string
		code                   int
		says                   string
	}{
		{"700054: ID tokens not enabled", WebAppID, webReply, []string{"response_type", "id_token", "scope", "openid", "nonce", "n"},
			"fragment", "unsupported_response_type", 700054, "The provided value for the input parameter 'response_type' is not allowed for this client. Expected value is 'code'."},
		{"700054: hybrid without ID tokens", WebAppID, webReply, []string{"response_type", "code id_token", "scope", "openid", "nonce", "n"},
			"fragment", "unsupported_response_type", 700054, "Expected value is 'code'"},
		{"700051: access tokens not enabled", WebAppID, webReply, []string{"response_type", "token", "scope", "openid"},
			"fragment", "unsupported_response_type", 700051, "response_type 'token' is not enabled for the application."},
		{"700051: ID tokens only", IDOnlyAppID, idOnlyReply, []string{"response_type", "id_token token", "scope", "openid", "nonce", "n"},
			"fragment", "unsupported_response_type", 700051, "'token'"},
		{"missing nonce", SPAAppID, site.URL + "/implicit", []string{"response_type", "id_token token", "scope", spaScope},
			"fragment", "invalid_request", 900144, "'nonce'"},
		{"missing nonce, form_post", SPAAppID, site.URL + "/implicit", []string{"response_type", "id_token", "scope", "openid", "response_mode", "form_post"},
			"form_post", "invalid_request", 900144, "'nonce'"},
		{"ID token without openid", SPAAppID, site.URL + "/implicit", []string{"response_type", "id_token", "scope", "profile", "nonce", "n"},
			"fragment", "invalid_scope", 90023, "'scope'"},
		{"query mode with tokens", SPAAppID, site.URL + "/implicit", []string{"response_type", "id_token token", "scope", spaScope, "nonce", "n", "response_mode", "query"},
			"fragment", "invalid_request", 70007, "'query' is not a supported value of 'response_mode' when requesting a token."},
		{"query mode, hybrid", HybridAppID, hybridReply, []string{"response_type", "code id_token", "scope", "openid", "nonce", "n", "response_mode", "query"},
			"fragment", "invalid_request", 70007, "when requesting a token"},
		{"9002325: spa code without PKCE", SPAAppID, site.URL + "/code", []string{"response_type", "code", "scope", spaScope},
			"query", "invalid_request", 9002325, "Proof Key for Code Exchange is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := e.authorizeURL(c.client, c.redirect, c.kv...)
			var p url.Values
			if c.mode == "form_post" {
				ar, err := e.Browser().Authorize(context.Background(), u, c.redirect, loadgen.Credentials{})
				if err != nil || ar.Status != http.StatusOK {
					t.Fatalf("%v %+v", err, ar)
				}
				p = ar.Params
			} else {
				a, resp := followToApp(t, e.Client, e.Base, u)
				if a.Mode != c.mode || resp.StatusCode != http.StatusFound {
					t.Fatalf("answered %d in %q (%s), want a redirect in the %s", resp.StatusCode, a.Mode, resp.Header.Get("Location"), c.mode)
				}
				p = a.Params
			}
			desc := p.Get("error_description")
			if p.Get("error") != c.err || !strings.HasPrefix(desc, "AADSTS"+itoa(c.code)+": ") || !strings.Contains(desc, c.says) || p.Get("state") != "st-1" {
				t.Errorf("got %v; want %s AADSTS%d saying %q, and the state", p, c.err, c.code, c.says)
			}
			for _, k := range []string{"code", "access_token", "id_token"} {
				if p.Has(k) {
					t.Errorf("%s issued with an error", k)
				}
			}
		})
	}

	// The token endpoint's origin rules, with codes from real sign-ins.
	b := e.Browser()
	spaCode := func() string {
		t.Helper()
		ar, err := b.Authorize(context.Background(), e.authorizeURL(SPAAppID, site.URL+"/code", "response_type", "code",
			"scope", spaScope+" offline_access", "code_challenge", pkce.Challenge, "code_challenge_method", "S256"), site.URL+"/code", alice)
		if err != nil || ar.Code() == "" {
			t.Fatalf("SPA sign-in: %v %v", err, ar.Params)
		}
		return ar.Code()
	}
	spaRedeem := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {SPAAppID}, "code": {code},
			"redirect_uri": {site.URL + "/code"}, "code_verifier": {pkce.Verifier}}
	}

	t.Run("9002327: SPA code without Origin", func(t *testing.T) {
		resp, m := tokenCall(t, e, spaRedeem(spaCode()), "")
		wantTokenError(t, "SPA code redeemed server-side", resp, m, 9002327, "invalid_request")
	})
	resp, m := tokenCall(t, e, spaRedeem(spaCode()), site.URL)
	rt, _ := m["refresh_token"].(string)
	if resp.StatusCode != http.StatusOK || rt == "" || resp.Header.Get("Access-Control-Allow-Origin") != site.URL {
		t.Fatalf("SPA code from its origin: %d %v %v", resp.StatusCode, m, resp.Header)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {SPAAppID}, "refresh_token": {rt}}
	t.Run("9002327: SPA refresh token without Origin", func(t *testing.T) {
		resp, m := tokenCall(t, e, refresh, "")
		wantTokenError(t, "SPA refresh token redeemed server-side", resp, m, 9002327, "invalid_request")
	})
	t.Run("9002326: web code with an Origin", func(t *testing.T) {
		app := e.App(WebAppID, TenantID)
		p := loadgen.NewPKCE()
		ar, err := b.Authorize(context.Background(), app.AuthorizeURL(p, "s", "n", nil), app.RedirectURI, alice)
		if err != nil || ar.Code() == "" {
			t.Fatalf("web sign-in: %v %v", err, ar.Params)
		}
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {WebAppID}, "client_secret": {WebSecret},
			"code": {ar.Code()}, "redirect_uri": {app.RedirectURI}, "code_verifier": {p.Verifier}}
		resp, m := tokenCall(t, e, form, site.URL)
		wantTokenError(t, "web code from a browser", resp, m, 9002326, "invalid_request")
		if d, _ := m["error_description"].(string); !strings.Contains(d, "Request origin: '"+site.URL+"'") {
			t.Errorf("9002326 message %q", d)
		}
	})
	t.Run("disallowed CORS origin", func(t *testing.T) {
		evil := "http://localhost:1"
		req, _ := http.NewRequest(http.MethodOptions, e.Base+"/"+TenantID+"/oauth2/v2.0/token", nil)
		req.Header.Set("Origin", evil)
		req.Header.Set("Access-Control-Request-Method", "POST")
		pre, err := e.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		pre.Body.Close()
		if pre.StatusCode != http.StatusForbidden || pre.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: %d %v", evil, pre.StatusCode, pre.Header)
		}
		resp, _ := tokenCall(t, e, refresh, evil)
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("token answer to %s carries Access-Control-Allow-Origin %q", evil, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		// The SPA's own origin is let in.
		req.Header.Set("Origin", site.URL)
		if pre, err = e.Client.Do(req); err != nil {
			t.Fatal(err)
		}
		pre.Body.Close()
		if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != site.URL {
			t.Errorf("preflight from %s: %d %v", site.URL, pre.StatusCode, pre.Header)
		}
	})
	t.Run("700084: SPA refresh token after 24 hours", func(t *testing.T) {
		ageRefreshToken(t, e, rt, 24*time.Hour+time.Minute)
		resp, m := tokenCall(t, e, refresh, site.URL)
		wantTokenError(t, "SPA refresh token of yesterday", resp, m, 700084, "invalid_grant")
		if d, _ := m["error_description"].(string); !strings.Contains(d, "fixed, limited lifetime of 24h0m0s") {
			t.Errorf("700084 message %q", d)
		}
	})
}

// Implicit and hybrid answers: Entra's parameters in Entra's order, ID
// tokens binding what came with them (at_hash, c_hash), groups as
// hasgroups above five in tokens from /authorize, and framing allowed only
// for the answer to prompt=none.
func TestImplicitResponses(t *testing.T) {
	site := newSPASite(t)
	e := Start(t, Options{Applications: spaApplications(site.URL)})
	ctx := oidc.ClientContext(context.Background(), e.Client)
	issuer := e.Base + "/" + TenantID + "/v2.0"
	verifier := oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, e.Base+"/"+TenantID+"/discovery/v2.0/keys"), &oidc.Config{ClientID: HybridAppID})
	idToken := func(raw, nonce string) (*oidc.IDToken, map[string]any) {
		t.Helper()
		tok, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var c map[string]any
		_ = tok.Claims(&c)
		if tok.Nonce != nonce {
			t.Errorf("nonce %q, want %q", tok.Nonce, nonce)
		}
		return tok, c
	}
	// Alice in six security groups: one more than a URL carries.
	for i := range 6 {
		if err := e.Store.CreateGroup(context.Background(), store.Group{ID: "b0000000-0000-4000-8000-00000000000" + itoa(i), TenantID: TenantID,
			DisplayName: "Team " + itoa(i), SecurityEnabled: true, Members: []store.DirectoryObjectRef{{ID: AliceID, Type: store.MemberTypeUser}}}); err != nil {
			t.Fatal(err)
		}
	}

	// 1. Hybrid, form_post, through the sign-in pages (with consent).
	b := e.Browser()
	ar, err := b.Authorize(context.Background(), e.authorizeURL(HybridAppID, hybridReply, "response_type", "code id_token token",
		"scope", "openid profile", "nonce", "n-1", "response_mode", "form_post"), hybridReply, alice)
	if err != nil || ar.Status != http.StatusOK {
		t.Fatalf("hybrid sign-in: %v %+v", err, ar)
	}
	p := ar.Params
	tok, c := idToken(p.Get("id_token"), "n-1")
	if err := tok.VerifyAccessToken(p.Get("access_token")); err != nil || c["at_hash"] == nil {
		t.Errorf("at_hash %v: %v", c["at_hash"], err)
	}
	if c["c_hash"] != claims.HalfHash(p.Get("code")) {
		t.Errorf("c_hash %v, want the code's", c["c_hash"])
	}
	sid, _ := c["sid"].(string)
	if c["hasgroups"] != true || c["groups"] != nil {
		t.Errorf("six groups in a token from /authorize: hasgroups %v, groups %v; want hasgroups only", c["hasgroups"], c["groups"])
	}
	if p.Get("token_type") != "Bearer" || p.Get("expires_in") == "" || p.Get("scope") == "" || p.Get("session_state") == "" || p.Get("state") != "st-1" {
		t.Errorf("hybrid answer %v", p)
	}
	// The code redeems as any web code; that ID token lists the groups.
	tr, err := loadgen.PostToken(context.Background(), e.Client, e.Base+"/"+TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {p.Get("code")}, "redirect_uri": {hybridReply}}, loadgen.SecretBasic, HybridAppID, HybridSecret)
	if err != nil {
		t.Fatalf("hybrid code redemption: %v", err)
	}
	if _, c := idToken(tr.IDToken, "n-1"); c["hasgroups"] != nil || len(asSlice(c["groups"])) != 6 {
		t.Errorf("token endpoint ID token: hasgroups %v, groups %v; want the six groups", c["hasgroups"], c["groups"])
	}

	// 2. With the SSO session, every response type in the fragment, in
	// Entra's order.
	for _, c := range []struct {
		rt   string
		keys []string
	}{
		{"code id_token token", []string{"code", "access_token", "token_type", "expires_in", "scope", "id_token", "state", "session_state"}},
		{"code id_token", []string{"code", "id_token", "state", "session_state"}},
		{"id_token token", []string{"access_token", "token_type", "expires_in", "scope", "id_token", "state", "session_state"}},
		{"token id_token", []string{"access_token", "token_type", "expires_in", "scope", "id_token", "state", "session_state"}},
		{"id_token", []string{"id_token", "state", "session_state"}},
		{"token", []string{"access_token", "token_type", "expires_in", "scope", "state", "session_state"}},
	} {
		a, _ := followToApp(t, b.Client, e.Base, e.authorizeURL(HybridAppID, hybridReply, "response_type", c.rt, "scope", "openid profile", "nonce", "n-2"))
		if a.Mode != "fragment" || !slices.Equal(a.Keys, c.keys) {
			t.Errorf("%s: %s %v, want the fragment %v", c.rt, a.Mode, a.Keys, c.keys)
			continue
		}
		if raw := a.Params.Get("id_token"); raw != "" {
			_, claims := idToken(raw, "n-2")
			if (claims["at_hash"] != nil) != a.Params.Has("access_token") || (claims["c_hash"] != nil) != a.Params.Has("code") {
				t.Errorf("%s: at_hash %v, c_hash %v", c.rt, claims["at_hash"], claims["c_hash"])
			}
		}
	}
	// The v1 endpoint answers with a v1 ID token.
	a, _ := followToApp(t, b.Client, e.Base, strings.Replace(e.authorizeURL(HybridAppID, hybridReply, "response_type", "id_token", "nonce", "n-3"), "/oauth2/v2.0/", "/oauth2/", 1))
	if a.Params.Get("id_token") == "" {
		t.Fatalf("v1 implicit: %s %v", a.Mode, a.Params)
	}
	if v1 := jwtPayload(t, a.Params.Get("id_token")); v1["ver"] != "1.0" || v1["nonce"] != "n-3" || v1["aud"] != HybridAppID {
		t.Errorf("v1 implicit ID token %v (answer %v)", v1, a.Params)
	}

	// 3. Which signed-in account prompt=none answers for: login_hint, the
	// sid of an earlier ID token (MSAL.js 1.x), domain_hint; and
	// client_info when MSAL asks for it.
	for _, c := range []struct {
		kv  []string
		err string
	}{
		{[]string{"login_hint", AliceUPN}, ""},
		{[]string{"login_hint", BobUPN}, "login_required"},
		{[]string{"sid", sid}, ""},
		{[]string{"sid", "0badc0de-0000-4000-8000-000000000000"}, "login_required"},
		{[]string{"domain_hint", "organizations"}, ""},
		{[]string{"domain_hint", Domain}, ""},
		{[]string{"domain_hint", "unknown.example.com"}, ""}, // names no tenant: narrows nothing
		{[]string{"domain_hint", "consumers"}, "login_required"},
		{[]string{"domain_hint", OtherDomain}, "login_required"},
	} {
		kv := append([]string{"response_type", "id_token", "scope", "openid", "nonce", "n", "prompt", "none"}, c.kv...)
		a, _ := followToApp(t, b.Client, e.Base, e.authorizeURL(HybridAppID, hybridReply, kv...))
		if a.Params.Get("error") != c.err || (c.err == "") != a.Params.Has("id_token") {
			t.Errorf("prompt=none with %v: %v, want error %q", c.kv, a.Params, c.err)
		}
	}
	if sid == "" {
		t.Error("the ID token has no sid")
	}
	a, _ = followToApp(t, b.Client, e.Base, e.authorizeURL(HybridAppID, hybridReply, "response_type", "id_token", "scope", "openid", "nonce", "n", "client_info", "1"))
	if ci, err := base64.RawURLEncoding.DecodeString(a.Params.Get("client_info")); err != nil || string(ci) != `{"uid":"`+AliceID+`","utid":"`+TenantID+`"}` {
		t.Errorf("client_info %q (%v): %v", ci, err, a.Keys)
	}

	// 4. Framing: the form_post answer to prompt=none may be framed by the
	// redirect URI's origin (a hidden iframe of the app); interactive pages
	// and other answers never.
	framing := func(kv ...string) (status int, csp, xfo string) {
		t.Helper()
		resp, err := b.Client.Get(e.authorizeURL(HybridAppID, hybridReply, append([]string{"scope", "openid", "nonce", "n"}, kv...)...))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Security-Policy"), resp.Header.Get("X-Frame-Options")
	}
	if s, csp, xfo := framing("response_type", "id_token", "response_mode", "form_post", "prompt", "none"); s != 200 ||
		!strings.Contains(csp, "frame-ancestors https://hybrid.example.com;") || xfo != "" {
		t.Errorf("prompt=none form_post: %d CSP %q X-Frame-Options %q; want framing by https://hybrid.example.com", s, csp, xfo)
	}
	for _, kv := range [][]string{
		{"response_type", "id_token", "response_mode", "form_post"},                    // signed in silently, but not prompt=none
		{"response_type", "id_token", "response_mode", "form_post", "prompt", "login"}, // the password page
		{"response_type", "code", "prompt", "consent"},                                 // the consent page
	} {
		if s, csp, xfo := framing(kv...); s != 200 || !strings.Contains(csp, "frame-ancestors 'none'") || xfo != "DENY" {
			t.Errorf("%v: %d CSP %q X-Frame-Options %q; want no framing", kv, s, csp, xfo)
		}
	}
}

// The other ways prompt=none fails at once, at the redirect URI:
// consent_required (nothing consented for this app yet) and
// interaction_required (two accounts signed in, no hint which).
func TestSilentRenewalRefusals(t *testing.T) {
	site := newSPASite(t)
	e := Start(t, Options{Applications: spaApplications(site.URL)})
	b := e.Browser()
	signIn := func(user string) {
		t.Helper()
		u := e.authorizeURL(HybridAppID, hybridReply, "response_type", "id_token", "scope", "openid", "nonce", "n", "prompt", "login", "login_hint", user)
		if ar, err := b.Authorize(context.Background(), u, hybridReply, loadgen.Credentials{Username: user, Password: Password}); err != nil || !ar.Params.Has("id_token") {
			t.Fatalf("%s signs in: %v %v", user, err, ar.Params)
		}
	}
	silent := func(client, redirect string, kv ...string) url.Values {
		t.Helper()
		kv = append([]string{"response_type", "id_token token", "scope", "openid", "nonce", "n", "prompt", "none"}, kv...)
		a, resp := followToApp(t, b.Client, e.Base, e.authorizeURL(client, redirect, kv...))
		if a.Mode != "fragment" {
			t.Fatalf("prompt=none answered %d %v", resp.StatusCode, resp.Header)
		}
		return a.Params
	}
	signIn(AliceUPN)
	if p := silent(SPAAppID, site.URL+"/implicit", "scope", spaScope, "login_hint", AliceUPN); p.Get("error") != "consent_required" ||
		!strings.HasPrefix(p.Get("error_description"), "AADSTS65001:") || p.Has("access_token") {
		t.Errorf("prompt=none before consent: %v", p)
	}
	if p := silent(HybridAppID, hybridReply); !p.Has("access_token") {
		t.Errorf("prompt=none with one account: %v", p)
	}
	signIn(BobUPN)
	if p := silent(HybridAppID, hybridReply); p.Get("error") != "interaction_required" || !strings.HasPrefix(p.Get("error_description"), "AADSTS16000:") {
		t.Errorf("prompt=none with two accounts and no hint: %v", p)
	}
	if p := silent(HybridAppID, hybridReply, "login_hint", BobUPN); !p.Has("access_token") {
		t.Errorf("prompt=none with two accounts, login_hint Bob: %v", p)
	}
}

func jwtPayload(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func itoa(i int) string { return strconv.Itoa(i) }
