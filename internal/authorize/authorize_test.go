package authorize

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/store"
)

func TestParams(t *testing.T) {
	app := store.Application{AppID: "a"}
	idApp := store.Application{AppID: "b", Web: store.WebApplication{ImplicitGrantSettings: store.ImplicitGrantSettings{EnableIDTokenIssuance: true, EnableAccessTokenIssuance: true}}}
	idOnly := store.Application{AppID: "c", Web: store.WebApplication{ImplicitGrantSettings: store.ImplicitGrantSettings{EnableIDTokenIssuance: true}}}
	challenge := strings.Repeat("A", 43)
	for _, c := range []struct {
		name    string
		version string
		app     store.Application
		q       string
		code    int    // 0: valid
		oauth   string // the error string, when not the catalogue's
		mode    string // the response mode the result (or error) uses
	}{
		{"code", "2.0", app, "response_type=code&scope=openid", 0, "", ModeQuery},
		{"form_post", "2.0", app, "response_type=code&scope=openid&response_mode=form_post", 0, "", ModeFormPost},
		{"fragment", "2.0", app, "response_type=code&scope=openid&response_mode=fragment", 0, "", ModeFragment},
		{"v1 without scope", "1.0", app, "response_type=code&resource=https://graph.microsoft.com", 0, "", ModeQuery},
		{"v2 without scope", "2.0", app, "response_type=code", aadsts.MissingParameter, "", ModeQuery},
		{"no response_type", "2.0", app, "scope=openid", aadsts.MissingParameter, "", ModeQuery},
		{"unknown response_type", "2.0", app, "response_type=magic&scope=openid", aadsts.InvalidRequestParameter, "unsupported_response_type", ModeQuery},
		{"id_token not enabled", "2.0", app, "response_type=id_token&scope=openid&nonce=n", aadsts.IDTokenResponseNotEnabled, "unsupported_response_type", ModeFragment},
		{"hybrid not enabled", "2.0", app, "response_type=code+id_token&scope=openid&nonce=n", aadsts.IDTokenResponseNotEnabled, "", ModeFragment},
		{"token not enabled", "2.0", app, "response_type=token&scope=openid", aadsts.TokenResponseNotEnabled, "", ModeFragment},
		{"id_token only enabled", "2.0", idOnly, "response_type=id_token+token&scope=openid&nonce=n", aadsts.TokenResponseNotEnabled, "", ModeFragment},
		{"id_token", "2.0", idApp, "response_type=id_token&scope=openid&nonce=n", 0, "", ModeFragment},
		{"id_token token", "2.0", idApp, "response_type=id_token+token&scope=openid&nonce=n", 0, "", ModeFragment},
		{"token id_token", "2.0", idApp, "response_type=token+id_token&scope=openid&nonce=n", 0, "", ModeFragment},
		{"token", "2.0", idApp, "response_type=token&scope=User.Read", 0, "", ModeFragment},
		{"code id_token", "2.0", idApp, "response_type=code+id_token&scope=openid&nonce=n", 0, "", ModeFragment},
		{"code id_token token", "2.0", idApp, "response_type=code+id_token+token&scope=openid&nonce=n&response_mode=form_post", 0, "", ModeFormPost},
		{"repeated type", "2.0", idApp, "response_type=token+token&scope=openid", aadsts.InvalidRequestParameter, "unsupported_response_type", ModeFragment},
		{"id_token without nonce", "2.0", idApp, "response_type=id_token&scope=openid", aadsts.MissingParameter, "invalid_request", ModeFragment},
		{"token without nonce", "2.0", idApp, "response_type=token&scope=openid", 0, "", ModeFragment},
		{"id_token without openid", "2.0", idApp, "response_type=id_token&scope=profile&nonce=n", aadsts.InvalidRequestParameter, "invalid_scope", ModeFragment},
		{"v1 id_token without scope", "1.0", idApp, "response_type=id_token&nonce=n", 0, "", ModeFragment},
		{"v1 token without resource", "1.0", idApp, "response_type=token", aadsts.ResourceNotProvided, "", ModeFragment},
		{"v1 token", "1.0", idApp, "response_type=token&resource=https://graph.microsoft.com", 0, "", ModeFragment},
		{"form_post error for tokens", "2.0", app, "response_type=token&scope=openid&response_mode=form_post", aadsts.TokenResponseNotEnabled, "", ModeFormPost},
		{"query with tokens", "2.0", idApp, "response_type=id_token&scope=openid&nonce=n&response_mode=query", aadsts.UnsupportedResponseMode, "", ModeFragment},
		{"query with hybrid", "2.0", idApp, "response_type=code+id_token&scope=openid&nonce=n&response_mode=query", aadsts.UnsupportedResponseMode, "", ModeFragment},
		{"unknown response_mode", "2.0", app, "response_type=code&scope=openid&response_mode=web_message", aadsts.UnsupportedResponseMode, "", ModeQuery},
		{"spa code without PKCE", "2.0", app, "response_type=code&scope=openid&platform=spa", aadsts.SPANeedsPKCE, "invalid_request", ModeQuery},
		{"spa code with PKCE", "2.0", app, "response_type=code&scope=openid&platform=spa&code_challenge_method=S256&code_challenge=" + challenge, 0, "", ModeQuery},
		{"spa hybrid without PKCE", "2.0", idApp, "response_type=code+id_token&scope=openid&nonce=n&platform=spa", aadsts.SPANeedsPKCE, "", ModeFragment},
		{"spa implicit needs no PKCE", "2.0", idApp, "response_type=id_token+token&scope=openid&nonce=n&platform=spa", 0, "", ModeFragment},
		{"web code without PKCE", "2.0", app, "response_type=code&scope=openid&platform=web", 0, "", ModeQuery},
		{"prompt", "2.0", app, "response_type=code&scope=openid&prompt=select_account", 0, "", ModeQuery},
		{"bad prompt", "2.0", app, "response_type=code&scope=openid&prompt=create", aadsts.InvalidRequestParameter, "", ModeQuery},
		{"two prompts", "2.0", app, "response_type=code&scope=openid&prompt=login+consent", aadsts.InvalidRequestParameter, "", ModeQuery},
		{"S256", "2.0", app, "response_type=code&scope=openid&code_challenge_method=S256&code_challenge=" + challenge, 0, "", ModeQuery},
		{"plain by default", "2.0", app, "response_type=code&scope=openid&code_challenge=" + challenge, 0, "", ModeQuery},
		{"S256 too long", "2.0", app, "response_type=code&scope=openid&code_challenge_method=S256&code_challenge=" + challenge + "A", aadsts.InvalidRequestParameter, "", ModeQuery},
		{"plain too short", "2.0", app, "response_type=code&scope=openid&code_challenge=abc", aadsts.InvalidRequestParameter, "", ModeQuery},
		{"bad characters", "2.0", app, "response_type=code&scope=openid&code_challenge=" + strings.Repeat("%2B", 43), aadsts.InvalidRequestParameter, "", ModeQuery},
		{"bad method", "2.0", app, "response_type=code&scope=openid&code_challenge_method=s256&code_challenge=" + challenge, aadsts.InvalidRequestParameter, "", ModeQuery},
		{"max_age", "2.0", app, "response_type=code&scope=openid&max_age=0", 0, "", ModeQuery},
		{"bad max_age", "2.0", app, "response_type=code&scope=openid&max_age=soon", aadsts.InvalidRequestParameter, "", ModeQuery},
		{"claims", "2.0", app, "response_type=code&scope=openid&claims=%7B%22id_token%22%3A%7B%7D%7D", 0, "", ModeQuery},
		{"bad claims", "2.0", app, "response_type=code&scope=openid&claims=%7Bnope", aadsts.InvalidRequestParameter, "", ModeQuery},
	} {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.q + "&state=s1")
			if err != nil {
				t.Fatal(err)
			}
			// The redirect URI's platform is settled before params runs.
			req := Request{Version: c.version, Platform: q.Get("platform")}
			e := params(&req, q, c.app)
			switch {
			case c.code == 0 && e != nil:
				t.Fatalf("unexpected %v", e)
			case c.code != 0 && (e == nil || e.Code != c.code):
				t.Fatalf("got %v, want AADSTS%d", e, c.code)
			case c.oauth != "" && e.OAuth() != c.oauth:
				t.Errorf("error %q, want %q", e.OAuth(), c.oauth)
			}
			if req.ResponseMode != c.mode {
				t.Errorf("response mode %q, want %q", req.ResponseMode, c.mode)
			}
			if req.State != "s1" {
				t.Errorf("state %q: errors must carry it", req.State)
			}
		})
	}

	var req Request
	q, _ := url.ParseQuery("response_type=code&scope=openid++profile&code_challenge=" + challenge + "&max_age=30&login_hint=a@b.c&nonce=n")
	if e := params(&req, q, app); e != nil {
		t.Fatal(e)
	}
	if req.Scope != "openid profile" || req.CodeChallengeMethod != "plain" || req.MaxAge != 30 || req.LoginHint != "a@b.c" || req.Nonce != "n" {
		t.Errorf("parsed %+v", req)
	}
	q, _ = url.ParseQuery("response_type=code&scope=openid")
	if params(&req, q, app); req.MaxAge != -1 {
		t.Errorf("max_age absent: %d, want -1", req.MaxAge)
	}
}

func TestMatchRedirectURI(t *testing.T) {
	app := store.Application{
		Web:          store.WebApplication{RedirectURIs: []string{"https://app.example.com/cb", "http://localhost:3000/cb"}},
		SPA:          store.RedirectURIs{RedirectURIs: []string{"https://spa.example.com/"}},
		PublicClient: store.RedirectURIs{RedirectURIs: []string{"http://localhost", "http://127.0.0.1/native", "msalabc://auth"}},
	}
	for _, c := range []struct {
		uri      string
		platform string
	}{
		{"https://app.example.com/cb", store.PlatformWeb},
		{"https://app.example.com/cb/", ""},
		{"https://APP.example.com/cb", ""},
		{"https://app.example.com/CB", ""},
		{"https://app.example.com/cb?x=1", ""},
		{"http://localhost:3000/cb", store.PlatformWeb},
		{"http://localhost:3001/cb", ""}, // web loopback: exact
		{"https://spa.example.com/", store.PlatformSPA},
		{"https://spa.example.com", ""},
		{"http://localhost", store.PlatformPublicClient},
		{"http://localhost:53123", store.PlatformPublicClient},
		{"http://localhost:53123/", store.PlatformPublicClient},
		{"http://localhost:53123/other", ""},
		{"http://127.0.0.1:8400/native", store.PlatformPublicClient},
		{"http://127.0.0.1:8400/", ""},
		{"http://user@localhost:8400", ""},
		{"https://localhost:8400", ""},
		{"msalabc://auth", store.PlatformPublicClient},
		{"", ""},
	} {
		p, ok := matchRedirectURI(app, c.uri)
		if p != c.platform || ok != (c.platform != "") {
			t.Errorf("%q: %q %v, want %q", c.uri, p, ok, c.platform)
		}
	}
}

func TestAppendParams(t *testing.T) {
	params := [][2]string{{"code", "a b"}, {"state", "x&y"}}
	for _, c := range []struct{ uri, mode, want string }{
		{"https://a/cb", ModeQuery, "https://a/cb?code=a+b&state=x%26y"},
		{"https://a/cb?tenant=1", ModeQuery, "https://a/cb?tenant=1&code=a+b&state=x%26y"},
		{"https://a/cb", ModeFragment, "https://a/cb#code=a+b&state=x%26y"},
	} {
		if got := appendParams(c.uri, c.mode, params); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.uri, c.mode, got, c.want)
		}
	}
}

func TestFlowSealing(t *testing.T) {
	key := make([]byte, 32)
	s, err := newSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newSealer(key[:16]); err == nil {
		t.Error("a 16-byte key was accepted")
	}
	now := time.Now()
	f := &flow{Req: Request{ClientID: "c", State: "s"}, Browser: "b1", Expires: now.Add(time.Minute).Unix(), UserID: "u"}
	v, err := s.seal(f)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(v); strings.Contains(string(raw), `"s"`) || strings.Contains(string(raw), "client") {
		t.Error("the sealed flow is readable")
	}
	got, err := s.open(v, "b1", now)
	if err != nil || got.UserID != "u" || got.Req.State != "s" {
		t.Fatalf("open: %+v %v", got, err)
	}
	other, _ := newSealer(append([]byte{1}, key[1:]...))
	tampered := []byte(v)
	tampered[len(tampered)/2] ^= 1
	for name, open := range map[string]func() (*flow, error){
		"other browser": func() (*flow, error) { return s.open(v, "b2", now) },
		"expired":       func() (*flow, error) { return s.open(v, "b1", now.Add(2*time.Minute)) },
		"tampered":      func() (*flow, error) { return s.open(string(tampered), "b1", now) },
		"other key":     func() (*flow, error) { return other.open(v, "b1", now) },
		"garbage":       func() (*flow, error) { return s.open("!!", "b1", now) },
		"empty":         func() (*flow, error) { return s.open("", "b1", now) },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
