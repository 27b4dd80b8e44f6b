package b2c_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/e2e"
)

// TestAuthorizeErrors: what fails before the redirect URI is trusted is
// shown on a page; everything after goes to the app in its response mode.
func TestAuthorizeErrors(t *testing.T) {
	env := startB2C(t, "")
	pageErrors := []struct {
		name   string
		policy string
		q      url.Values
		status int
		code   string
	}{
		{"unknown policy", "B2C_1_nope", codeRequest(), 404, "AADB2C90022"},
		{"client of another tenant", "B2C_1_SignUpSignIn", codeRequest("client_id", e2e.WebAppID), 400, "AADB2C90018"},
		{"unknown client", "B2C_1_SignUpSignIn", codeRequest("client_id", "11111111-1111-4111-8111-111111111111"), 400, "AADB2C90018"},
		{"no client id", "B2C_1_SignUpSignIn", codeRequest("client_id", ""), 400, "AADB2C90008"},
		{"unregistered redirect URI", "B2C_1_SignUpSignIn", codeRequest("redirect_uri", "https://evil.example/cb"), 400, "AADB2C90006"},
	}
	for _, tt := range pageErrors {
		t.Run(tt.name, func(t *testing.T) {
			p := newBrowser(t, env).get(authorizeURL(env, tt.policy, tt.q))
			if p.status != tt.status || p.identifier != tt.code || p.location != "" {
				t.Errorf("got %d %q %q", p.status, p.identifier, p.location)
			}
		})
	}
	// An unknown tenant is the platform's AADSTS90002.
	p := newBrowser(t, env).get(env.Base + "/nowhere.onmicrosoft.com/B2C_1_SignUpSignIn/oauth2/v2.0/authorize?" + codeRequest().Encode())
	if p.status != 400 || p.identifier != "AADSTS90002" {
		t.Errorf("unknown tenant: %d %q", p.status, p.identifier)
	}

	redirected := []struct {
		name        string
		q           url.Values
		mode, error string
		code        string
	}{
		{"implicit not enabled", codeRequest("client_id", spaAppID, "redirect_uri", spaRedirect, "response_type", "id_token"), "fragment", "unauthorized_client", "AADB2C90057"},
		{"id_token without nonce", codeRequest("response_type", "id_token", "nonce", ""), "fragment", "invalid_request", "AADB2C90083"},
		{"id_token without openid", codeRequest("response_type", "id_token", "scope", apiScope), "fragment", "invalid_request", "AADB2C90110"},
		{"token without a resource", codeRequest("response_type", "token", "scope", "openid"), "fragment", "invalid_scope", "AADB2C90055"},
		{"tokens in the query (refused in the fragment)", codeRequest("response_type", "id_token", "response_mode", "query"), "fragment", "invalid_request", "AADB2C90014"},
		{"unknown response type", codeRequest("response_type", "code device"), "query", "unsupported_response_type", "AADB2C90013"},
		{"no scope", codeRequest("scope", ""), "query", "invalid_request", "AADB2C90010"},
		{"scope of no resource", codeRequest("scope", "openid read"), "query", "invalid_scope", "AADB2C90055"},
		{"scope of an unknown API", codeRequest("scope", "openid https://"+domain+"/nothing/read"), "query", "invalid_scope", "AADB2C90117"},
		{"scope of an unknown API value", codeRequest("scope", "openid https://"+domain+"/orders/orders.delete"), "query", "invalid_scope", "AADB2C90117"},
		{"scope not granted", codeRequest("scope", "openid https://"+domain+"/orders/orders.write"), "query", "invalid_grant", "AADB2C90205"},
		{"two resources", codeRequest("scope", "openid "+webAppID+" "+apiScope), "query", "invalid_scope", "AADB2C90146"},
		{"code without openid or resource", codeRequest("scope", "offline_access"), "query", "invalid_request", "AADB2C90115"},
		{"bad prompt", codeRequest("prompt", "sometimes"), "query", "invalid_request", "AADB2C90043"},
		{"spa code without PKCE", codeRequest("client_id", spaAppID, "redirect_uri", spaRedirect, "scope", "openid"), "query", "invalid_request", "AADB2C99059"},
		{"prompt=none without a session", codeRequest("prompt", "none"), "query", "user_authentication_required", "AADB2C90077"},
		{"prompt=none, implicit", codeRequest("prompt", "none", "response_type", "id_token"), "fragment", "user_authentication_required", "AADB2C90077"},
		{"prompt=none, form_post", codeRequest("prompt", "none", "response_mode", "form_post"), "form_post", "user_authentication_required", "AADB2C90077"},
	}
	for _, tt := range redirected {
		t.Run(tt.name, func(t *testing.T) {
			p := newBrowser(t, env).get(authorizeURL(env, "B2C_1_SignUpSignIn", tt.q))
			var params url.Values
			switch tt.mode {
			case "form_post":
				if p.status != 200 || !strings.Contains(p.body, `name="error" value="`+tt.error+`"`) || !strings.Contains(p.body, tt.code+": ") {
					t.Fatalf("form_post: %d %.600s", p.status, p.body)
				}
				return
			case "fragment":
				if !strings.Contains(p.location, "#") {
					t.Fatalf("not in the fragment: %q", p.location)
				}
			default:
				if strings.Contains(p.location, "#") {
					t.Fatalf("not in the query: %q", p.location)
				}
			}
			params = redirectParams(t, p.location)
			desc := params.Get("error_description")
			if p.status != 302 || params.Get("error") != tt.error || !strings.HasPrefix(desc, tt.code+": ") ||
				!strings.Contains(desc, "\r\nCorrelation ID: ") || params.Get("state") != "st-1" {
				t.Errorf("got %d %q", p.status, p.location)
			}
		})
	}
}

// TestPageErrorsAndThrottling: wrong and expired email codes, too many
// attempts and sends (store counters), an email already signed up, CSRF and
// a tampered flow, and Cancel.
func TestPageErrorsAndThrottling(t *testing.T) {
	env := startB2C(t, "")
	b := newBrowser(t, env)
	start := b.get(authorizeURL(env, "B2C_1_signup", codeRequest()))
	if p := b.submit("send_code", "email", "not-an-email"); p.errorText != "Please enter a valid email address." {
		t.Errorf("bad email: %q", p.errorText)
	}
	p := b.submit("send_code", "email", "bob@example.com")
	verify := p
	right := p.devCode
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 5; i++ {
		// Replaying the same sealed page: attempts are counted in the store.
		p = b.submitRaw(verify, "verify_code", "code", wrong)
		if i < 5 && !strings.HasPrefix(p.errorText, "The verification code you have entered does not match our records.") {
			t.Fatalf("attempt %d: %q", i, p.errorText)
		}
	}
	if p = b.submitRaw(verify, "verify_code", "code", right); p.errorText != "You've made too many incorrect attempts. Please try again later." {
		t.Fatalf("after five wrong codes: %q", p.errorText)
	}
	// A new code works; sends are limited per address.
	p = b.submit("send_code")
	if p = b.submit("verify_code", "code", p.devCode); p.heading != "Create account" || p.errorText != "" {
		t.Fatalf("new code: %q %q", p.heading, p.errorText)
	}
	for i := 0; i < 5; i++ {
		p = b.submitRaw(start, "send_code", "email", "carol@example.com")
	}
	if p.errorText != "" {
		t.Fatalf("fifth send refused: %q", p.errorText)
	}
	if p = b.submitRaw(start, "send_code", "email", "CAROL@example.com"); !strings.HasPrefix(p.errorText, "There have been too many requests to verify this email address.") {
		t.Errorf("sixth send: %q", p.errorText)
	}

	// Signing up an address that has an account (only the mailbox's owner
	// gets this far).
	b = newBrowser(t, env)
	b.get(authorizeURL(env, "B2C_1_signup", codeRequest()))
	p = b.submit("send_code", "email", existing)
	p = b.submit("verify_code", "code", p.devCode)
	if p = b.submit("create", "password", password, "password2", password); p.errorText != "A user with the specified ID already exists. Please choose a different one." {
		t.Errorf("existing account: %q", p.errorText)
	}
	if p = b.submit("create", "password", "alllowercase", "password2", "alllowercase"); !strings.HasPrefix(p.errorText, "The password must have at least 3") {
		t.Errorf("weak password: %q", p.errorText)
	}

	// CSRF and the sealed state.
	b = newBrowser(t, env)
	first := b.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest()))
	bad := first
	bad.csrf = "forged"
	if p = b.submitRaw(bad, "signin", "email", existing, "password", password); p.status != 400 || p.identifier != "AADB2C90046" {
		t.Errorf("forged CSRF token: %d %q", p.status, p.identifier)
	}
	bad = first
	bad.flow = first.flow[:len(first.flow)-4] + "AAAA"
	if p = b.submitRaw(bad, "signin", "email", existing, "password", password); p.status != 400 || p.identifier != "AADB2C90046" {
		t.Errorf("tampered flow: %d %q", p.status, p.identifier)
	}
	other := newBrowser(t, env)
	other.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest()))
	if p = other.submitRaw(first, "signin", "email", existing, "password", password); p.identifier != "AADB2C90046" {
		t.Errorf("another browser's flow: %d %q", p.status, p.identifier)
	}
	// An action of another step.
	if p = b.submitRaw(first, "create", "password", password); p.identifier != "AADB2C90046" {
		t.Errorf("action of another step: %d %q", p.status, p.identifier)
	}
	// Cancel goes back to the app.
	p = b.submitRaw(first, "cancel")
	params := redirectParams(t, p.location)
	if params.Get("error") != "access_denied" || !strings.HasPrefix(params.Get("error_description"), "AADB2C90091: ") {
		t.Errorf("cancel: %q", p.location)
	}
}

// TestTokenErrors: grants redeemed where they were not issued, client
// authentication, PKCE, replays.
func TestTokenErrors(t *testing.T) {
	env := startB2C(t, "")
	b := newBrowser(t, env)
	code := func(extra ...string) string {
		t.Helper()
		p := b.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest(extra...)))
		if p.flow != "" {
			p = b.submit("signin", "email", existing, "password", password)
		}
		c := redirectParams(t, p.location).Get("code")
		if c == "" {
			t.Fatalf("no code: %d %q", p.status, p.location)
		}
		return c
	}
	verifier := strings.Repeat("v", 50)
	tests := []struct {
		name   string
		policy string
		form   url.Values
		status int
		error  string
		code   string
	}{
		{"code at another policy", "B2C_1_signup", redeem(code()), 400, "invalid_grant", "AADB2C90088"},
		{"no secret", "B2C_1_SignUpSignIn", redeem(code(), "client_secret", ""), 400, "invalid_request", "AADB2C90079"},
		{"wrong secret", "B2C_1_SignUpSignIn", redeem(code(), "client_secret", "wrong-secret-0123456789abcdefghijkl"), 401, "invalid_client", "AADB2C90081"},
		{"another client", "B2C_1_SignUpSignIn", redeem(code(), "client_id", spaAppID, "client_secret", ""), 400, "invalid_grant", "AADB2C90279"},
		{"other redirect URI", "B2C_1_SignUpSignIn", redeem(code(), "redirect_uri", "https://shop.example.com/other"), 400, "redirect_uri_mismatch", "AADB2C90006"},
		{"unknown code", "B2C_1_SignUpSignIn", redeem("not-a-code"), 400, "invalid_grant", "AADB2C90080"},
		{"PKCE verifier missing", "B2C_1_SignUpSignIn", redeem(code("code_challenge", s256(verifier), "code_challenge_method", "S256")), 400, "invalid_request", "AADB2C90183"},
		{"PKCE verifier wrong", "B2C_1_SignUpSignIn", redeem(code("code_challenge", s256(verifier), "code_challenge_method", "S256"), "code_verifier", strings.Repeat("w", 50)), 400, "invalid_grant", "AADB2C90182"},
		{"unsupported grant", "B2C_1_SignUpSignIn", url.Values{"grant_type": {"password"}, "client_id": {webAppID}}, 400, "unsupported_grant_type", "AADB2C90086"},
		{"no grant type", "B2C_1_SignUpSignIn", url.Values{"client_id": {webAppID}}, 400, "invalid_request", "AADB2C90083"},
		{"unknown policy", "B2C_1_nope", redeem("x"), 404, "invalid_request", "AADB2C90022"},
		{"unknown refresh token", "B2C_1_SignUpSignIn", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}, "client_id": {webAppID}}, 400, "invalid_grant", "AADB2C90080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := token(t, env, tt.policy, tt.form)
			if status != tt.status || out.Error != tt.error || !strings.HasPrefix(out.ErrorDescription, tt.code+": ") || out.AccessToken != "" || out.IDToken != "" {
				t.Errorf("got %d %+v", status, out)
			}
		})
	}

	// PKCE right, through the query form, with client_secret_basic.
	c := code("code_challenge", s256(verifier), "code_challenge_method", "S256")
	form := redeem(c, "code_verifier", verifier, "client_secret", "")
	form.Del("client_id")
	req := env.Base + "/" + domain + "/oauth2/v2.0/token?p=b2c_1_signupsignin"
	hreq, _ := newPost(req, form)
	hreq.SetBasicAuth(url.QueryEscape(webAppID), url.QueryEscape(webSecret))
	resp, err := env.Client.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("query form with basic auth: %d", resp.StatusCode)
	}
	// The same code again is a replay: refused, and what it issued revoked.
	status, out := tokenAt(t, env, req, redeem(c, "code_verifier", verifier))
	if status != 400 || !strings.HasPrefix(out.ErrorDescription, "AADB2C90129: ") {
		t.Errorf("replayed code: %d %+v", status, out)
	}
	// A refresh token redeems only at its own policy.
	_, tok := token(t, env, "B2C_1_SignUpSignIn", redeem(code()))
	status, out = token(t, env, "B2C_1_edit", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {webAppID}, "client_secret": {webSecret}})
	if status != 400 || !strings.HasPrefix(out.ErrorDescription, "AADB2C90088: ") {
		t.Errorf("refresh token at another policy: %d %+v", status, out)
	}
	// Entra's token endpoint does not redeem a user flow's grants.
	status, out = tokenAt(t, env, env.Base+"/"+tenantID+"/oauth2/v2.0/token", redeem(code()))
	if status != 400 || out.Error != "invalid_grant" || out.IDToken != "" {
		t.Errorf("B2C code at Entra's endpoint: %d %+v", status, out)
	}
	status, out = tokenAt(t, env, env.Base+"/"+tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}, "client_id": {webAppID}, "client_secret": {webSecret}})
	if status != 400 || out.Error != "invalid_grant" || out.IDToken != "" {
		t.Errorf("B2C refresh token at Entra's endpoint: %d %+v", status, out)
	}
	// The tfp form redeems too.
	status, out = tokenAt(t, env, env.Base+"/tfp/"+tenantID+"/B2C_1_SignUpSignIn/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}, "client_id": {webAppID}, "client_secret": {webSecret}})
	if status != 200 || out.IDToken == "" {
		t.Errorf("tfp form refresh: %d %+v", status, out)
	}
}
