package b2c_test

// Issue 5's "Must show" for B2C: Chromium (chromedp, over HTTPS with the
// server's certificate pinned) signs up, signs in and edits the profile
// through their user flows; a relying party written with golang.org/x/oauth2
// and go-oidc redeems each code at the flow's token endpoint (found in the
// flow's metadata) and verifies the ID token against that metadata; a
// prompt=none that cannot complete silently comes back as
// user_authentication_required.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/entranceidp/entrance/internal/e2e"
)

// callbackServer is the app's redirect URI on http://localhost: a page the
// browser lands on; the test reads the response from the browser's URL.
func callbackServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><title>Shop</title><p id="result">back at the shop</p>`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://localhost:%d/cb", ln.Addr().(*net.TCPAddr).Port)
}

// flowRP is the shop's client for one user flow, configured from the flow's
// metadata as a developer would: go-oidc discovery and x/oauth2.
type flowRP struct {
	t        *testing.T
	ctx      context.Context
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	pkce     string
	nonce    string
}

// newFlowRP discovers a flow. issuer is the flow's token issuer; metadata is
// the base its document is found under (equal to issuer for tfp flows,
// which is what go-oidc wants; otherwise go-oidc is told the issuer).
func newFlowRP(t *testing.T, env *e2e.Env, redirect, issuer, metadata string) *flowRP {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), env.Client)
	dctx := ctx
	if strings.TrimSuffix(issuer, "/") != strings.TrimSuffix(metadata, "/") {
		dctx = oidc.InsecureIssuerURLContext(ctx, issuer)
	}
	prov, err := oidc.NewProvider(dctx, metadata)
	if err != nil {
		t.Fatalf("discovery of %s: %v", metadata, err)
	}
	return &flowRP{t: t, ctx: ctx,
		oauth: oauth2.Config{ClientID: webAppID, ClientSecret: webSecret, Endpoint: prov.Endpoint(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, apiScope}},
		verifier: prov.Verifier(&oidc.Config{ClientID: webAppID}),
	}
}

func (rp *flowRP) authURL(extra ...string) string {
	rp.pkce, rp.nonce = oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(rp.pkce), oauth2.SetAuthURLParam("nonce", rp.nonce)}
	for i := 0; i+1 < len(extra); i += 2 {
		opts = append(opts, oauth2.SetAuthURLParam(extra[i], extra[i+1]))
	}
	return rp.oauth.AuthCodeURL("shop-state", opts...)
}

// redeem exchanges the code the browser brought back and verifies the ID
// token (signature with the flow's keys, issuer, audience, expiry, nonce).
func (rp *flowRP) redeem(callback string) (*oauth2.Token, map[string]any) {
	rp.t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		rp.t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") != "shop-state" || q.Get("code") == "" {
		rp.t.Fatalf("callback %s", callback)
	}
	tok, err := rp.oauth.Exchange(rp.ctx, q.Get("code"), oauth2.VerifierOption(rp.pkce))
	if err != nil {
		rp.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(rp.ctx, raw)
	if err != nil {
		rp.t.Fatalf("go-oidc: %v", err)
	}
	if idt.Nonce != rp.nonce {
		rp.t.Fatalf("nonce %q, want %q", idt.Nonce, rp.nonce)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		rp.t.Fatal(err)
	}
	return tok, claims
}

// step runs browser actions with a time limit; on failure it reports where
// the browser is and what it shows.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\nbrowser at %s\n%.2000s", what, err, loc, body)
	}
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	loc, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func text(t *testing.T, ctx context.Context, sel chromedp.CSS) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(tctx, chromedp.Text(sel))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBrowserSignUpSignInProfileEdit(t *testing.T) {
	redirect := callbackServer(t)
	env := startB2C(t, redirect)
	ctx := e2e.NewChrome(t, env)
	tfp := func(policy string) string { return env.Base + "/tfp/" + tenantID + "/" + policy + "/v2.0/" }
	tenantIssuer := env.Base + "/" + tenantID + "/v2.0/"

	// 1. Sign-up (B2C_1_signup issues tfp issuers: its metadata is at its
	// issuer, go-oidc's strict rule holds).
	signup := newFlowRP(t, env, redirect, tfp("b2c_1_signup"), tfp("b2c_1_signup"))
	step(t, ctx, "open the sign-up page",
		chromedp.Navigate(signup.authURL()),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "jane@example.com"),
		chromedp.Click(chromedp.ID("send_code")),
		chromedp.WaitVisible(chromedp.ID("dev-code")),
	)
	code := strings.TrimSpace(text(t, ctx, chromedp.CSS("#dev-code strong")))
	step(t, ctx, "verify the email and create the account",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify_code")),
		chromedp.WaitVisible(chromedp.ID("password2")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password2"), password),
		chromedp.SendKeys(chromedp.ID("givenName"), "Jane"),
		chromedp.SendKeys(chromedp.ID("surname"), "Doe"),
		chromedp.SendKeys(chromedp.ID("extension_Team"), "Blue"),
		chromedp.Click(chromedp.ID("create")),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	tok, claims := signup.redeem(location(t, ctx))
	if claims["newUser"] != true || claims["tfp"] != "B2C_1_signup" || claims["ver"] != "1.0" || claims["iss"] != tfp("b2c_1_signup") ||
		claims["given_name"] != "Jane" || claims["extension_Team"] != "Blue" || fmt.Sprint(claims["emails"]) != "[jane@example.com]" ||
		claims["sub"] != claims["oid"] {
		t.Errorf("sign-up ID token %v", claims)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Errorf("sign-up tokens %+v", tok)
	}
	oid := claims["oid"]

	// 2. Sign-in through the sign-up-or-sign-in flow, in its query form
	// (prompt=login: the sign-up left a session). Its tokens carry the
	// tenant issuer, which its metadata names.
	susi := newFlowRP(t, env, redirect, tenantIssuer, env.Base+"/"+domain+"/B2C_1_SignUpSignIn/v2.0")
	susi.oauth.Endpoint.AuthURL = env.Base + "/" + domain + "/oauth2/v2.0/authorize?p=B2C_1_SignUpSignIn"
	step(t, ctx, "sign in",
		chromedp.Navigate(susi.authURL("prompt", "login")),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("email"), "jane@example.com"),
		// Enter in the password field signs in, as people do it.
		chromedp.SendKeys(chromedp.ID("password"), password+"\r"),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	_, claims = susi.redeem(location(t, ctx))
	if claims["oid"] != oid || claims["newUser"] != nil || claims["tfp"] != "B2C_1_SignUpSignIn" || claims["iss"] != tenantIssuer {
		t.Errorf("sign-in ID token %v", claims)
	}

	// 3. Profile edit: the session skips sign-in; the page shows the
	// attributes to change.
	edit := newFlowRP(t, env, redirect, tenantIssuer, env.Base+"/"+domain+"/b2c_1_edit/v2.0")
	step(t, ctx, "edit the profile",
		chromedp.Navigate(edit.authURL()),
		chromedp.WaitVisible(chromedp.ID("givenName")),
	)
	if v := text(t, ctx, chromedp.CSS(".identity")); v != "jane@example.com" {
		t.Errorf("profile page shows %q", v)
	}
	step(t, ctx, "save the profile",
		chromedp.SetValue(chromedp.ID("givenName"), "Janet"),
		chromedp.SetValue(chromedp.ID("extension_Team"), "Green"),
		chromedp.Click(chromedp.ID("save")),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	_, claims = edit.redeem(location(t, ctx))
	if claims["oid"] != oid || claims["given_name"] != "Janet" || claims["family_name"] != "Doe" || claims["extension_Team"] != "Green" || claims["tfp"] != "B2C_1_edit" {
		t.Errorf("profile edit ID token %v", claims)
	}

	// 4. Sign-out through the flow's end_session_endpoint, back at the app.
	step(t, ctx, "sign out",
		chromedp.Navigate(env.Base+"/"+domain+"/B2C_1_SignUpSignIn/oauth2/v2.0/logout?post_logout_redirect_uri="+url.QueryEscape(redirect)+"&state=bye"),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	if loc := location(t, ctx); loc != redirect+"?state=bye" {
		t.Errorf("after sign-out at %s", loc)
	}

	// 5. A silent request (seed 003's hidden-iframe renewal) without a
	// session: user_authentication_required in the fragment.
	silent := url.Values{"client_id": {webAppID}, "redirect_uri": {redirect}, "response_type": {"id_token"}, "scope": {"openid"},
		"nonce": {"n-2"}, "state": {"silent"}, "prompt": {"none"}}
	step(t, ctx, "prompt=none",
		chromedp.Navigate(authorizeURL(env, "B2C_1_SignUpSignIn", silent)),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	loc := location(t, ctx)
	_, fragment, _ := strings.Cut(loc, "#")
	params, _ := url.ParseQuery(fragment)
	if params.Get("error") != "user_authentication_required" || !strings.HasPrefix(params.Get("error_description"), "AADB2C90077") || params.Get("state") != "silent" {
		t.Errorf("prompt=none without a session: %s", loc)
	}
}
