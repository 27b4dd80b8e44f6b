package b2c_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

var reBase = regexp.MustCompile(`^https://[^/]+`)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// normalized replaces what changes from run to run (times, object ids)
// so that a token's claims can be compared with a golden file, in order.
func normalized(t *testing.T, jwt string) []byte {
	t.Helper()
	c := claimsOf(t, jwt)
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range keysOf(t, jwt) {
		v := c[k]
		switch k {
		case "exp", "nbf", "iat", "auth_time":
			v = "<" + k + ">"
		case "sub", "oid":
			v = "<object id>"
		case "c_hash", "at_hash":
			v = "<hash>"
		case "iss":
			v = reBase.ReplaceAllString(v.(string), "<base>")
		}
		var j bytes.Buffer
		enc := json.NewEncoder(&j)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  " + `"` + k + `": ` + strings.TrimSpace(j.String()))
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs\n got: %s\nwant: %s", path, got, want)
	}
}

// TestUserFlows runs sign-up, sign-in and profile edit through their
// policies with a Go client walking the pages, and checks every token:
// go-oidc verifies the ID tokens against the policies' metadata, and the
// claims match golden files.
func TestUserFlows(t *testing.T) {
	env := startB2C(t, "")
	ctx := oidc.ClientContext(context.Background(), env.Client)
	b := newBrowser(t, env)

	// Sign-up (its flow issues tfp issuers: go-oidc finds its metadata
	// at the issuer itself).
	p := signUp(t, b, b.get(authorizeURL(env, "B2C_1_signup", codeRequest())), "Jane@Example.com", "Jane")
	params := redirectParams(t, p.location)
	if p.status != 303 || !strings.HasPrefix(p.location, webRedirect+"?") || params.Get("state") != "st-1" || params.Get("code") == "" {
		t.Fatalf("sign-up answered %d %q", p.status, p.location)
	}
	status, tok := token(t, env, "B2C_1_signup", redeem(params.Get("code")))
	if status != 200 || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.IDTokenExpiresIn != 3600 ||
		tok.RefreshTokenExpiresIn != 14*24*3600 || tok.Resource != apiAppID || tok.Scope != "openid offline_access "+apiScope {
		t.Fatalf("sign-up token response %d %+v", status, tok)
	}
	signupIssuer := env.Base + "/tfp/" + tenantID + "/b2c_1_signup/v2.0/"
	prov, err := oidc.NewProvider(ctx, signupIssuer)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: webAppID}).Verify(ctx, tok.IDToken)
	if err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	if idt.Nonce != "n-1" {
		t.Errorf("nonce %q", idt.Nonce)
	}
	golden(t, "signup_id_token", normalized(t, tok.IDToken))
	golden(t, "signup_access_token", normalized(t, tok.AccessToken))
	if _, err := prov.Verifier(&oidc.Config{ClientID: apiAppID}).Verify(ctx, tok.AccessToken); err != nil {
		t.Errorf("access token: %v", err)
	}
	oid := idt.Subject

	// Refresh: the same user, no longer new.
	status, refreshed := token(t, env, "b2c_1_SIGNUP", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"client_id": {webAppID}, "client_secret": {webSecret}, "client_info": {"1"}})
	if status != 200 || refreshed.IDToken == "" || refreshed.RefreshToken == "" || refreshed.ClientInfo == "" {
		t.Fatalf("refresh %d %+v", status, refreshed)
	}
	if c := claimsOf(t, refreshed.IDToken); c["newUser"] != nil || c["sub"] != oid || c["given_name"] != "Jane" {
		t.Errorf("refreshed ID token %v", c)
	}

	// Sign-in through the sign-up-or-sign-in flow (prompt=login: the
	// sign-up's session would sign in silently). Its issuer is the tenant
	// form, which is not its metadata's address: go-oidc is told so.
	p = b.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest("prompt", "login")))
	if p.heading != "Sign in" {
		t.Fatalf("sign-in page %q", p.heading)
	}
	if p = b.submit("signin", "email", "jane@example.com", "password", "Wrong-Horse-1"); p.errorText != "Invalid username or password." {
		t.Fatalf("wrong password: %q", p.errorText)
	}
	p = b.submit("signin", "email", "JANE@example.com", "password", password)
	code := redirectParams(t, p.location).Get("code")
	if code == "" {
		t.Fatalf("sign-in answered %d %q %q", p.status, p.location, p.errorText)
	}
	_, tok = token(t, env, "B2C_1_SignUpSignIn", redeem(code))
	susiIssuer := env.Base + "/" + tenantID + "/v2.0/"
	prov, err = oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, susiIssuer), env.Base+"/"+domain+"/B2C_1_SignUpSignIn/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	idt, err = prov.Verifier(&oidc.Config{ClientID: webAppID}).Verify(ctx, tok.IDToken)
	if err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	golden(t, "signin_id_token", normalized(t, tok.IDToken))
	if idt.Subject != oid || idt.Issuer != susiIssuer {
		t.Errorf("sign-in: sub %q iss %q", idt.Subject, idt.Issuer)
	}

	// Single sign-on: the next request signs in without a page.
	p = b.get(authorizeURL(env, "b2c_1_signupsignin", codeRequest()))
	if p.status != 302 || redirectParams(t, p.location).Get("code") == "" {
		t.Fatalf("SSO answered %d %q", p.status, p.location)
	}

	// Profile edit, in the same session: the page shows the attributes.
	p = b.get(authorizeURL(env, "B2C_1_edit", codeRequest()))
	if p.heading != "Update your profile" || !strings.Contains(p.body, `value="Jane"`) || !strings.Contains(p.body, `value="Blue"`) {
		t.Fatalf("profile page %q: %.800s", p.heading, p.body)
	}
	p = b.submit("save", "givenName", "Janet", "surname", "Doe", "extension_Team", "Green")
	code = redirectParams(t, p.location).Get("code")
	_, tok = token(t, env, "B2C_1_edit", redeem(code))
	prov, err = oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, susiIssuer), env.Base+"/"+domain+"/v2.0?p=b2c_1_edit")
	if err == nil {
		t.Error("go-oidc cannot use the query form (it appends to the path); expected an error")
	}
	prov, err = oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, susiIssuer), env.Base+"/tfp/"+domain+"/b2c_1_edit/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err = prov.Verifier(&oidc.Config{ClientID: webAppID}).Verify(ctx, tok.IDToken); err != nil {
		t.Fatalf("go-oidc: %v", err)
	}
	if c := claimsOf(t, tok.IDToken); c["given_name"] != "Janet" || c["extension_Team"] != "Green" || c["tfp"] != "B2C_1_edit" {
		t.Errorf("profile edit ID token %v", c)
	}

	// Sign-out: the session ends, and the browser goes back to the app.
	p = b.get(env.Base + "/" + domain + "/B2C_1_SignUpSignIn/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape(webRedirect) + "&state=bye")
	if p.status != 302 || p.location != webRedirect+"?state=bye" {
		t.Fatalf("logout answered %d %q", p.status, p.location)
	}
	p = b.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest("prompt", "none", "response_mode", "fragment")))
	params = redirectParams(t, p.location)
	if params.Get("error") != "user_authentication_required" || !strings.HasPrefix(params.Get("error_description"), "AADB2C90077: ") || params.Get("state") != "st-1" {
		t.Errorf("prompt=none after sign-out: %q", p.location)
	}
	// A redirect URI no app registered is not followed.
	p = b.get(env.Base + "/" + domain + "/B2C_1_SignUpSignIn/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/"))
	if p.status != 200 || p.location != "" {
		t.Errorf("logout to an unregistered URI: %d %q", p.status, p.location)
	}
}

// TestImplicitAndLegacyFlow: the implicit flow returns tokens in the
// fragment (seed 003's parameters), and a flow in B2C's legacy mode names
// itself in acr with its own lifetimes.
func TestImplicitAndLegacyFlow(t *testing.T) {
	env := startB2C(t, "")
	b := newBrowser(t, env)
	p := b.get(authorizeURL(env, "B2C_1_legacy", codeRequest("response_type", "id_token token", "prompt", "login")))
	if p.heading != "Sign in" || strings.Contains(p.body, "Sign up now") {
		t.Fatalf("sign-in page %q", p.heading)
	}
	p = b.submit("signin", "email", existing, "password", password)
	if !strings.HasPrefix(p.location, webRedirect+"#") {
		t.Fatalf("implicit answered %d %q", p.status, p.location)
	}
	params := redirectParams(t, p.location)
	var keys []string
	for _, kv := range strings.Split(strings.SplitN(p.location, "#", 2)[1], "&") {
		keys = append(keys, strings.SplitN(kv, "=", 2)[0])
	}
	if strings.Join(keys, ",") != "access_token,token_type,expires_in,scope,id_token,state" ||
		params.Get("token_type") != "Bearer" || params.Get("expires_in") != "600" || params.Get("scope") != "openid offline_access "+apiScope {
		t.Fatalf("fragment %v", keys)
	}
	golden(t, "legacy_implicit_id_token", normalized(t, params.Get("id_token")))
	id := claimsOf(t, params.Get("id_token"))
	if id["acr"] != "b2c_1_legacy" || id["at_hash"] == nil || int64(id["exp"].(float64))-int64(id["iat"].(float64)) != 900 {
		t.Errorf("legacy ID token %v", id)
	}
	at := claimsOf(t, params.Get("access_token"))
	if at["aud"] != apiAppID || at["scp"] != "orders.read" || at["azp"] != webAppID || at["ver"] != "1.0" {
		t.Errorf("access token %v", at)
	}
	// Hybrid: code id_token carries c_hash; the code redeems for a
	// refresh token bounded by the flow's one-day lifetime.
	p = b.get(authorizeURL(env, "B2C_1_legacy", codeRequest("response_type", "code id_token")))
	params = redirectParams(t, p.location)
	if params.Get("code") == "" || claimsOf(t, params.Get("id_token"))["c_hash"] == nil {
		t.Fatalf("hybrid %q", p.location)
	}
	_, tok := token(t, env, "B2C_1_legacy", redeem(params.Get("code")))
	if tok.RefreshTokenExpiresIn != 86400 || tok.ExpiresIn != 600 || tok.IDTokenExpiresIn != 900 {
		t.Errorf("legacy lifetimes %+v", tok)
	}
	// Only the client's own id as scope: an access token for itself.
	p = b.get(authorizeURL(env, "B2C_1_legacy", codeRequest("response_type", "token", "scope", webAppID)))
	params = redirectParams(t, p.location)
	if at := claimsOf(t, params.Get("access_token")); at["aud"] != webAppID || at["scp"] != nil || params.Get("scope") != webAppID {
		t.Errorf("self access token %v %q", at, params.Get("scope"))
	}
}

// TestPasswordReset: the reset flow verifies the email, sets the new
// password, signs in, and ends the refresh tokens of the old password.
func TestPasswordReset(t *testing.T) {
	env := startB2C(t, "")
	b := newBrowser(t, env)
	p := b.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest()))
	p = b.submit("signin", "email", existing, "password", password)
	_, before := token(t, env, "B2C_1_SignUpSignIn", redeem(redirectParams(t, p.location).Get("code")))
	if before.RefreshToken == "" {
		t.Fatal("no refresh token")
	}

	other := newBrowser(t, env)
	p = other.get(authorizeURL(env, "B2C_1_reset", codeRequest()))
	if p.heading != "Reset your password" {
		t.Fatalf("reset starts at %q", p.heading)
	}
	p = other.submit("send_code", "email", existing)
	p = other.submit("verify_code", "code", p.devCode)
	if p = other.submit("reset_password", "password", "Short1", "password2", "Short1"); p.errorText != "The password must be between 8 and 64 characters." {
		t.Fatalf("short password: %q", p.errorText)
	}
	if p = other.submit("reset_password", "password", "New-Horse-10", "password2", "New-Horse-11"); !strings.HasPrefix(p.errorText, "The password entry fields do not match.") {
		t.Fatalf("mismatch: %q", p.errorText)
	}
	p = other.submit("reset_password", "password", "New-Horse-10", "password2", "New-Horse-10")
	if redirectParams(t, p.location).Get("code") == "" {
		t.Fatalf("reset answered %d %q", p.status, p.location)
	}
	status, tok := token(t, env, "B2C_1_SignUpSignIn", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {before.RefreshToken},
		"client_id": {webAppID}, "client_secret": {webSecret}})
	if status != 400 || tok.Error != "invalid_grant" || !strings.HasPrefix(tok.ErrorDescription, "AADB2C90129: ") {
		t.Errorf("old refresh token after the reset: %d %+v", status, tok)
	}
	// "Forgot your password?" in a sign-in runs the same steps.
	third := newBrowser(t, env)
	third.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest()))
	if p = third.submit("forgot"); p.heading != "Reset your password" {
		t.Fatalf("forgot: %q", p.heading)
	}
	// The new password signs in; the old one does not.
	fourth := newBrowser(t, env)
	fourth.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest()))
	if p = fourth.submit("signin", "email", existing, "password", password); p.errorText == "" {
		t.Error("the old password still signs in")
	}
	if p = fourth.submit("signin", "email", existing, "password", "New-Horse-10"); redirectParams(t, p.location).Get("code") == "" {
		t.Errorf("the new password does not sign in: %q", p.errorText)
	}
}

// TestSPACodeAndCORS: a single-page app redeems its PKCE code without a
// secret, from its own origin, which the token endpoint lets read the
// answer; other origins get no CORS header.
func TestSPACodeAndCORS(t *testing.T) {
	env := startB2C(t, "")
	verifier := strings.Repeat("s", 60)
	b := newBrowser(t, env)
	b.get(authorizeURL(env, "B2C_1_SignUpSignIn", codeRequest("client_id", spaAppID, "redirect_uri", spaRedirect,
		"scope", "openid offline_access", "code_challenge", s256(verifier), "code_challenge_method", "S256")))
	p := b.submit("signin", "email", existing, "password", password)
	code := redirectParams(t, p.location).Get("code")
	if code == "" {
		t.Fatalf("no code: %q", p.location)
	}
	tokenURL := env.Base + "/" + domain + "/b2c_1_signupsignin/oauth2/v2.0/token"
	pre, _ := http.NewRequest(http.MethodOptions, tokenURL, nil)
	pre.Header.Set("Origin", "http://localhost:5173")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := env.Client.Do(pre)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight %d %v", resp.StatusCode, resp.Header)
	}
	post := func(origin string, form url.Values) (*http.Response, tokenResponse) {
		req, _ := newPost(tokenURL, form)
		req.Header.Set("Origin", origin)
		resp, err := env.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out tokenResponse
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {spaRedirect},
		"client_id": {spaAppID}, "code_verifier": {verifier}}
	resp, out := post("http://localhost:5173", form)
	if resp.StatusCode != 200 || out.IDToken == "" || out.AccessToken != "" || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Fatalf("SPA redemption %d %v %+v", resp.StatusCode, resp.Header, out)
	}
	form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out.RefreshToken}, "client_id": {spaAppID}, "client_secret": {"x"}}
	if resp, out = post("https://evil.example", form); resp.Header.Get("Access-Control-Allow-Origin") != "" || !strings.HasPrefix(out.ErrorDescription, "AADB2C90084: ") {
		t.Errorf("other origin, secret from a public client: %v %+v", resp.Header, out)
	}
}
