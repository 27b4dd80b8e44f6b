package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// RP is a test relying party on http://localhost (Entra allows plain http
// for localhost redirect URIs): a web app as its developers write it with
// golang.org/x/oauth2 and go-oidc.
//
//	GET /web/login[?prompt=&login_hint=]  starts a sign-in: PKCE (S256), state, nonce
//	GET /web/callback                      redeems the code (client_secret_basic), verifies the ID token
//	GET /web/signout                       sends the browser to Entrance's end_session_endpoint
//	GET /web/signedout                     post_logout_redirect_uri
//	GET /web/frontchannel-logout           the app's logoutUrl; records each call
//	GET /{msal,multi,...}/callback         records the code only (another client redeems it)
//
// Every callback answers a small page with #result, which browser tests
// wait for; the test reads the details from Results.
type RP struct {
	URL string

	srv      *http.Server
	client   *http.Client    // trusts Entrance's CA
	ctx      context.Context // carries client, for go-oidc and x/oauth2
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
	endSess  string

	mu           sync.Mutex
	pending      map[string]pendingAuth // by state
	results      []Result
	frontChannel []string // request URIs of front-channel logout calls
	signedOut    []string // query strings received at /web/signedout
}

type pendingAuth struct{ verifier, nonce string }

// Result is what one callback received and what became of it.
type Result struct {
	App              string // path: "web", "msal", ...
	State            string
	Code             string
	SessionState     string
	Error            string
	ErrorDescription string
	// For the web app: the tokens and the verified ID token's claims.
	Token   *oauth2.Token
	IDToken *oidc.IDToken
	Claims  map[string]any
	// Err is a failed redemption or verification; nil on success.
	Err error
}

// OK reports a code redeemed and an ID token verified.
func (r Result) OK() bool { return r.Code != "" && r.Error == "" && r.Err == nil && r.IDToken != nil }

func newRP(t testing.TB) *RP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	rp := &RP{URL: fmt.Sprintf("http://localhost:%d", port), pending: map[string]pendingAuth{}}
	rp.srv = &http.Server{Handler: rp.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = rp.srv.Serve(ln) }()
	// Browsers may try ::1 for localhost first; serve there too when the
	// machine has IPv6 loopback (best effort: 127.0.0.1 is enough).
	if ln6, err := net.Listen("tcp", fmt.Sprintf("[::1]:%d", port)); err == nil {
		go func() { _ = rp.srv.Serve(ln6) }()
	}
	t.Cleanup(func() { rp.srv.Close() })
	return rp
}

// configure discovers Entrance (the tenant's v2 issuer) once it runs.
func (rp *RP) configure(env *Env) error {
	rp.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: env.TLS}}
	rp.ctx = oidc.ClientContext(context.Background(), rp.client)
	provider, err := oidc.NewProvider(rp.ctx, env.Base+"/"+TenantID+"/v2.0")
	if err != nil {
		return fmt.Errorf("relying party: discovery: %w", err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := provider.Claims(&meta); err != nil {
		return err
	}
	rp.endSess = meta.EndSession
	ep := provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic, as Auth.js does
	rp.oauth = &oauth2.Config{
		ClientID: WebAppID, ClientSecret: WebSecret, Endpoint: ep,
		RedirectURL: rp.URL + webPath + "/callback",
		Scopes:      []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess, "User.Read"},
	}
	rp.verifier = provider.Verifier(&oidc.Config{ClientID: WebAppID})
	return nil
}

func (rp *RP) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+webPath+"/login", rp.login)
	mux.HandleFunc("GET "+webPath+"/signout", rp.signout)
	mux.HandleFunc("GET "+webPath+"/signedout", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		rp.signedOut = append(rp.signedOut, r.URL.RawQuery)
		rp.mu.Unlock()
		writePage(w, "signedout", "signed out")
	})
	mux.HandleFunc("GET "+webPath+"/frontchannel-logout", func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		rp.frontChannel = append(rp.frontChannel, r.URL.RequestURI())
		rp.mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		writePage(w, "loggedout", "session cleared")
	})
	mux.HandleFunc("GET /{app}/callback", rp.callback)
	return mux
}

func randomValue() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// login starts the code flow the way x/oauth2 and go-oidc users write it.
func (rp *RP) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomValue(), randomValue(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = pendingAuth{verifier: verifier, nonce: nonce}
	rp.mu.Unlock()
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	for _, k := range []string{"prompt", "login_hint", "response_mode"} {
		if v := r.URL.Query().Get(k); v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	http.Redirect(w, r, rp.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

func (rp *RP) signout(w http.ResponseWriter, r *http.Request) {
	q := url.Values{"post_logout_redirect_uri": {rp.URL + webPath + "/signedout"}, "state": {"bye"}}
	http.Redirect(w, r, rp.endSess+"?"+q.Encode(), http.StatusFound)
}

func (rp *RP) callback(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil { // form_post answers come as a POST
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	res := Result{
		App: r.PathValue("app"), State: q.Get("state"), Code: q.Get("code"), SessionState: q.Get("session_state"),
		Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
	}
	if res.App == strings.TrimPrefix(webPath, "/") && res.Error == "" {
		rp.redeem(r.Context(), &res)
	}
	rp.mu.Lock()
	rp.results = append(rp.results, res)
	rp.mu.Unlock()
	switch {
	case res.Error != "":
		writePage(w, "result", "error: "+res.Error)
	case res.Err != nil:
		writePage(w, "result", "failed: "+res.Err.Error())
	default:
		writePage(w, "result", "code received")
	}
}

// redeem exchanges the code with PKCE and verifies the ID token, nonce
// included, as go-oidc's documentation shows.
func (rp *RP) redeem(ctx context.Context, res *Result) {
	rp.mu.Lock()
	p, ok := rp.pending[res.State]
	delete(rp.pending, res.State)
	rp.mu.Unlock()
	if !ok {
		res.Err = errors.New("unknown state")
		return
	}
	ctx = oidc.ClientContext(ctx, rp.client)
	tok, err := rp.oauth.Exchange(ctx, res.Code, oauth2.VerifierOption(p.verifier))
	if err != nil {
		res.Err = fmt.Errorf("exchange: %w", err)
		return
	}
	res.Token = tok
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		res.Err = errors.New("no id_token in the token response")
		return
	}
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		res.Err = fmt.Errorf("verify ID token: %w", err)
		return
	}
	if idt.Nonce != p.nonce {
		res.Err = fmt.Errorf("nonce %q, want %q", idt.Nonce, p.nonce)
		return
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			res.Err = fmt.Errorf("at_hash: %w", err)
			return
		}
	}
	res.IDToken = idt
	if err := idt.Claims(&res.Claims); err != nil {
		res.Err = err
	}
}

func writePage(w http.ResponseWriter, id, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>RP</title></head><body><p id=%q>%s</p></body></html>", id, html.EscapeString(text))
}

// Results returns every callback received so far, oldest first.
func (rp *RP) Results() []Result {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]Result(nil), rp.results...)
}

// Last is the latest callback of app ("web", "msal", ...).
func (rp *RP) Last(app string) (Result, bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	for i := len(rp.results) - 1; i >= 0; i-- {
		if rp.results[i].App == app {
			return rp.results[i], true
		}
	}
	return Result{}, false
}

// FrontChannelLogouts returns the request URIs of the front-channel logout
// calls received so far.
func (rp *RP) FrontChannelLogouts() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.frontChannel...)
}

// SignedOut returns the query strings received at post_logout_redirect_uri.
func (rp *RP) SignedOut() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]string(nil), rp.signedOut...)
}

// WaitFor polls cond until it holds or timeout passes.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
