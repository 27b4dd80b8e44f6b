package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// The browser apps of issue 5, as their developers would write them: pages
// on http://localhost whose JavaScript talks to Entrance the way MSAL.js
// does — the implicit flow with the tokens in the fragment, silent renewal
// in a hidden iframe, the code flow with PKCE and fetch — and a protected
// API that accepts Entrance's access tokens.
const (
	// SPAAppID registers the site's pages under spa, with implicit grants on.
	SPAAppID = "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	// HybridAppID is a web app with implicit grants on and a secret, whose
	// redirect URI is never followed (the Go browser stops at it).
	HybridAppID  = "6b2c3d4e-5f60-4b7c-9d8e-0f1a2b3c4d5e"
	HybridSecret = "hybrid-secret-0123456789abcdefghijk"
	hybridReply  = "https://hybrid.example.com/signin"
	// IDOnlyAppID may have ID tokens from /authorize, not access tokens.
	IDOnlyAppID = "7c3d4e5f-6071-4c8d-8e9f-1a2b3c4d5e6f"
	idOnlyReply = "https://idonly.example.com/signin"

	// spaScope asks for an ID token and the Tasks API's delegated scope.
	spaScope = "openid profile api://tasks/access_as_user"
)

// spaApplications are the apps above, for Options.Applications.
func spaApplications(site string) string {
	return `      - appId: ` + SPAAppID + `
        displayName: Tasks SPA
        spa: {redirectUris: [` + site + `/implicit, ` + site + `/code, ` + site + `/silent-cb, ` + site + `/silent-post]}
        web: {implicitGrantSettings: {enableIdTokenIssuance: true, enableAccessTokenIssuance: true}}
      - appId: ` + HybridAppID + `
        displayName: Hybrid web app
        groupMembershipClaims: SecurityGroup
        web:
          redirectUris: [` + hybridReply + `]
          implicitGrantSettings: {enableIdTokenIssuance: true, enableAccessTokenIssuance: true}
        passwordCredentials: [{displayName: current, secretText: "` + HybridSecret + `"}]
      - appId: ` + IDOnlyAppID + `
        displayName: ID tokens only
        web:
          redirectUris: [` + idOnlyReply + `]
          implicitGrantSettings: {enableIdTokenIssuance: true}
`
}

// spaSite serves the single-page app on http://localhost:port:
//
//	GET  /implicit      implicit flow (id_token token, fragment); validates and calls the API
//	GET  /silent        renews tokens with prompt=none in a hidden iframe (?mode=fragment|form_post)
//	GET  /silent-cb     the iframe's fragment redirect URI: hands its fragment to the parent
//	POST /silent-post   the iframe's form_post redirect URI: hands the fields to the parent
//	GET  /code          code flow with PKCE; the token requests are fetch calls to Entrance
//	GET  /refresh       redeems a refresh token by fetch (?rt=)
//	POST /validate      checks an ID token in Go: signature (JWKS), iss, aud, exp, nonce, at_hash
//	GET  /api/me        the protected API: a bearer access token for the Tasks API
//
// Each page ends by showing its outcome as JSON in #result.
type spaSite struct {
	URL string
	srv *http.Server

	// Set by configure, once Entrance runs.
	env      *Env
	ctx      context.Context // carries a client trusting Entrance's CA
	idTokens *oidc.IDTokenVerifier
	api      *oidc.IDTokenVerifier

	mu        sync.Mutex
	validated []map[string]any // claims of each ID token /validate accepted
}

func newSPASite(t testing.TB) *spaSite {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &spaSite{URL: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)}
	mux := http.NewServeMux()
	for _, p := range []string{"/implicit", "/silent", "/silent-cb", "/code", "/refresh"} {
		mux.HandleFunc("GET "+p, s.page(strings.TrimPrefix(p, "/")))
	}
	mux.HandleFunc("POST /silent-post", s.silentPost)
	mux.HandleFunc("POST /validate", s.validate)
	mux.HandleFunc("GET /api/me", s.apiMe)
	s.srv = &http.Server{Handler: mux}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// configure points the site at the running Entrance.
func (s *spaSite) configure(env *Env) {
	s.env = env
	s.ctx = oidc.ClientContext(context.Background(), env.Client)
	issuer := env.Base + "/" + TenantID + "/v2.0"
	keys := oidc.NewRemoteKeySet(s.ctx, env.Base+"/"+TenantID+"/discovery/v2.0/keys")
	s.idTokens = oidc.NewVerifier(issuer, keys, &oidc.Config{ClientID: SPAAppID})
	// The Tasks API takes v2.0 tokens: aud is its appId, iss the v2 issuer.
	s.api = oidc.NewVerifier(issuer, keys, &oidc.Config{ClientID: APIAppID})
}

// pageConfig is what the pages' script needs to know.
type pageConfig struct {
	Authorize string `json:"authorize"`
	Token     string `json:"token"`
	Logout    string `json:"logout"`
	ClientID  string `json:"clientId"`
	Scope     string `json:"scope"`
}

func (s *spaSite) page(name string) http.HandlerFunc {
	t := template.Must(template.New(name).Parse(spaPageHead + spaScripts[name] + spaPageFoot))
	return func(w http.ResponseWriter, r *http.Request) {
		cfg := pageConfig{
			Authorize: s.env.Base + "/" + TenantID + "/oauth2/v2.0/authorize",
			Token:     s.env.Base + "/" + TenantID + "/oauth2/v2.0/token",
			Logout:    s.env.Base + "/" + TenantID + "/oauth2/v2.0/logout",
			ClientID:  SPAAppID, Scope: spaScope,
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := t.Execute(w, cfg); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

// silentPost is the form_post redirect URI of the hidden iframe: it hands
// what Entrance posted to the parent page, as MSAL.js's iframe would.
func (s *spaSite) silentPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fields := map[string]string{}
	for k := range r.PostForm {
		fields[k] = r.PostForm.Get(k)
	}
	t := template.Must(template.New("post").Parse(`<!doctype html><script>parent.postMessage({{.}}, location.origin);</script>`))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = t.Execute(w, fields)
}

// validate checks an ID token the page received, as a SPA's backend (or a
// careful SPA) would: signature against Entrance's JWKS, issuer, audience,
// expiry, the nonce the page sent, and at_hash against the access token.
func (s *spaSite) validate(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	defer func() {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}()
	if err := r.ParseForm(); err != nil {
		out["error"] = err.Error()
		return
	}
	tok, err := s.idTokens.Verify(s.ctx, r.PostForm.Get("id_token"))
	if err != nil {
		out["error"] = err.Error()
		return
	}
	if want := r.PostForm.Get("expected_nonce"); want == "" || tok.Nonce != want {
		out["error"] = fmt.Sprintf("nonce %q, want %q", tok.Nonce, want)
		return
	}
	if at := r.PostForm.Get("access_token"); at != "" {
		if err := tok.VerifyAccessToken(at); err != nil || tok.AccessTokenHash == "" {
			out["error"] = fmt.Sprintf("at_hash %q: %v", tok.AccessTokenHash, err)
			return
		}
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		out["error"] = err.Error()
		return
	}
	s.mu.Lock()
	s.validated = append(s.validated, claims)
	s.mu.Unlock()
	out["ok"], out["name"], out["nonce"] = true, claims["name"], tok.Nonce
}

// apiMe is the protected API: it accepts a v2.0 access token for the Tasks
// API with its access_as_user scope, verified with Entrance's JWKS.
func (s *spaSite) apiMe(w http.ResponseWriter, r *http.Request) {
	fail := func(msg string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, msg, http.StatusUnauthorized)
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		fail("no bearer token")
		return
	}
	tok, err := s.api.Verify(s.ctx, bearer)
	if err != nil {
		fail(err.Error())
		return
	}
	var c struct {
		Scp  string `json:"scp"`
		OID  string `json:"oid"`
		Name string `json:"name"`
		Azp  string `json:"azp"`
	}
	if err := tok.Claims(&c); err != nil || !strings.Contains(" "+c.Scp+" ", " access_as_user ") {
		fail(fmt.Sprintf("scope %q: %v", c.Scp, err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"oid": c.OID, "name": c.Name, "azp": c.Azp, "scp": c.Scp})
}

// Validated returns the claims of the ID tokens /validate accepted.
func (s *spaSite) Validated() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.validated...)
}

// corsProbe is a page on another origin, registered nowhere, that tries
// the token endpoint with fetch: its browser must refuse it the answer.
func newCORSProbe(t testing.TB, env *Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := template.Must(template.New("probe").Parse(spaPageHead + spaScripts["refresh"] + spaPageFoot))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = tmpl.Execute(w, pageConfig{Token: env.Base + "/" + TenantID + "/oauth2/v2.0/token", ClientID: SPAAppID, Scope: spaScope})
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// outcome of a page: the JSON it shows in #result.
func parseOutcome(t testing.TB, text string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("page outcome %q: %v", text, err)
	}
	return m
}

// fragmentValues turns a page's reported parameters back into url.Values.
func fragmentValues(m any) url.Values {
	v := url.Values{}
	if mm, ok := m.(map[string]any); ok {
		for k, x := range mm {
			if s, ok := x.(string); ok {
				v.Set(k, s)
			}
		}
	}
	return v
}

const spaPageHead = `<!doctype html><html><head><meta charset="utf-8"><title>Tasks SPA</title></head><body>
<script>
const cfg = {{.}};
// done shows the outcome for the test to read.
function done(out) {
  const pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function random() { return b64url(crypto.getRandomValues(new Uint8Array(32))); }
function params(s) { return Object.fromEntries(new URLSearchParams(s)); }
async function postToken(body, headers) {
  // MSAL.js sends client-request-id, which makes the request non-simple:
  // the browser preflights it.
  const r = await fetch(cfg.token, {method: 'POST', headers: Object.assign({'client-request-id': crypto.randomUUID()}, headers || {}),
    body: new URLSearchParams(body)});
  return {status: r.status, body: await r.json()};
}
`

const spaPageFoot = `
main().catch(e => done({exception: String(e)}));
</script></body></html>`

// spaScripts are the pages' main functions.
var spaScripts = map[string]string{
	// The implicit flow: to /authorize for "id_token token" in the fragment;
	// back here, check state, have /validate check the ID token, call the API.
	"implicit": `
async function main() {
  const got = params(location.hash.slice(1));
  if (!got.state && !got.error) {
    const state = random(), nonce = random();
    sessionStorage.setItem('state', state);
    sessionStorage.setItem('nonce', nonce);
    location.assign(cfg.authorize + '?' + new URLSearchParams({client_id: cfg.clientId, response_type: 'id_token token',
      redirect_uri: location.origin + '/implicit', response_mode: 'fragment', scope: cfg.scope, state, nonce}));
    return;
  }
  history.replaceState(null, '', location.pathname); // tokens out of the address bar
  const out = {params: got, stateOK: got.state === sessionStorage.getItem('state')};
  if (got.error) return done(out);
  const v = await fetch('/validate', {method: 'POST', body: new URLSearchParams({id_token: got.id_token,
    access_token: got.access_token, expected_nonce: sessionStorage.getItem('nonce')})});
  out.validation = await v.json();
  const api = await fetch('/api/me', {headers: {Authorization: 'Bearer ' + got.access_token}});
  out.apiStatus = api.status;
  out.api = api.ok ? await api.json() : await api.text();
  done(out);
}`,

	// Silent renewal: a hidden iframe asks /authorize with prompt=none and
	// login_hint; its redirect URI page hands the answer back by
	// postMessage. ?mode=form_post uses the form_post redirect URI.
	"silent": `
async function main() {
  const q = params(location.search.slice(1));
  const formPost = q.mode === 'form_post';
  const nonce = random(), state = random();
  const answer = new Promise(resolve => {
    window.addEventListener('message', e => { if (e.origin === location.origin) resolve(e.data); });
    setTimeout(() => resolve({timeout: true}), 15000);
  });
  const frame = document.createElement('iframe');
  frame.style.display = 'none';
  frame.src = cfg.authorize + '?' + new URLSearchParams({client_id: cfg.clientId, response_type: 'id_token token',
    redirect_uri: location.origin + (formPost ? '/silent-post' : '/silent-cb'), response_mode: formPost ? 'form_post' : 'fragment',
    scope: cfg.scope, state, nonce, prompt: 'none', login_hint: q.login_hint || '', domain_hint: 'organizations'});
  document.body.appendChild(frame);
  const got = await answer;
  const out = {params: got, stateOK: got.state === state};
  if (got.id_token) {
    const v = await fetch('/validate', {method: 'POST', body: new URLSearchParams({id_token: got.id_token,
      access_token: got.access_token, expected_nonce: nonce})});
    out.validation = await v.json();
    const api = await fetch('/api/me', {headers: {Authorization: 'Bearer ' + got.access_token}});
    out.apiStatus = api.status;
  }
  done(out);
}`,

	"silent-cb": `
async function main() { parent.postMessage(params(location.hash.slice(1)), location.origin); }`,

	// The code flow with PKCE, as MSAL.js 2 runs it: the code comes back in
	// the fragment and the page redeems it, then refreshes, with fetch.
	"code": `
async function main() {
  const got = params(location.hash.slice(1));
  if (!got.code && !got.error) {
    const verifier = random(), state = random();
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    sessionStorage.setItem('verifier', verifier);
    sessionStorage.setItem('state', state);
    location.assign(cfg.authorize + '?' + new URLSearchParams({client_id: cfg.clientId, response_type: 'code',
      redirect_uri: location.origin + '/code', response_mode: 'fragment', scope: cfg.scope + ' offline_access', state,
      nonce: random(), code_challenge: challenge, code_challenge_method: 'S256'}));
    return;
  }
  history.replaceState(null, '', location.pathname);
  const out = {params: got, stateOK: got.state === sessionStorage.getItem('state')};
  if (got.error) return done(out);
  out.redeem = await postToken({client_id: cfg.clientId, grant_type: 'authorization_code', code: got.code,
    redirect_uri: location.origin + '/code', code_verifier: sessionStorage.getItem('verifier'), scope: cfg.scope + ' offline_access'});
  if (out.redeem.body.refresh_token) {
    out.refresh = await postToken({client_id: cfg.clientId, grant_type: 'refresh_token',
      refresh_token: out.redeem.body.refresh_token, scope: cfg.scope + ' offline_access'});
    if (out.refresh.body.access_token) {
      const api = await fetch('/api/me', {headers: {Authorization: 'Bearer ' + out.refresh.body.access_token}});
      out.apiStatus = api.status;
    }
  }
  done(out);
}`,

	// One refresh by fetch, with the refresh token in ?rt=; on another
	// origin (newCORSProbe) the browser refuses the answer.
	"refresh": `
async function main() {
  const q = params(location.search.slice(1));
  try {
    done({refresh: await postToken({client_id: cfg.clientId, grant_type: 'refresh_token', refresh_token: q.rt, scope: cfg.scope + ' offline_access'})});
  } catch (e) {
    done({fetchError: String(e)});
  }
}`,
}
