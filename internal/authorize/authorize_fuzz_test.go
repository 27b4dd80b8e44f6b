package authorize

// Fuzz targets: go test -run '^$' -fuzz '^FuzzParams$' -fuzztime 15s ./internal/authorize
// (and FuzzMatchRedirectURI). Interesting inputs found are kept under
// testdata/fuzz/<Target>/ and run as tests by a plain `go test`.

import (
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

// checkAADSTS fails unless e is a catalogued AADSTS error answered with a 4xx
// and a message whose template got the right arguments.
func checkAADSTS(t *testing.T, e *aadsts.Error) {
	t.Helper()
	if _, ok := aadsts.Lookup(e.Code); !ok {
		t.Fatalf("AADSTS%d is not in the catalogue", e.Code)
	}
	if s := e.Status(); s < 400 || s >= 500 {
		t.Fatalf("%v: status %d for a bad request", e, s)
	}
	if !e.WellFormed() {
		t.Fatalf("message template and arguments disagree: %q", e.Message())
	}
}

// FuzzParams feeds arbitrary query strings to the validation of an
// authorization request's parameters and checks what a request that passes
// is guaranteed to satisfy.
func FuzzParams(f *testing.F) {
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	for _, q := range []string{
		"response_type=code&scope=openid+profile&state=xyz&nonce=n",
		"response_type=code&scope=openid&code_challenge=" + challenge + "&code_challenge_method=S256",
		"response_type=id_token+token&scope=openid&nonce=n&response_mode=form_post",
		"response_type=token+id_token&scope=openid&nonce=n&response_mode=query",
		"response_type=code+id_token&scope=openid&nonce=n&prompt=none&login_hint=a%40b.c",
		"response_type=code&resource=api%3A%2F%2Fx&prompt=select_account&max_age=0",
		"response_type=code&scope=openid&claims=%7B%22id_token%22%3A%7B%7D%7D&max_age=-1",
		"response_type=code&scope=openid&code_challenge=short&code_challenge_method=plain",
		"response_type=code+code&scope=openid",
		"response_type=code&scope=openid&response_mode=fragment&state=%FF",
		"",
	} {
		f.Add(q, uint8(0))
		f.Add(q, uint8(0xff))
	}
	f.Fuzz(func(t *testing.T, query string, flags uint8) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return // r.ParseForm refuses it before validation
		}
		version := "2.0"
		if flags&1 != 0 {
			version = "1.0"
		}
		platform := []string{store.PlatformWeb, store.PlatformSPA, store.PlatformPublicClient}[int(flags>>1&3)%3]
		var app store.Application
		app.Web.ImplicitGrantSettings.EnableIDTokenIssuance = flags&8 != 0
		app.Web.ImplicitGrantSettings.EnableAccessTokenIssuance = flags&16 != 0

		req := &Request{Version: version, Platform: platform}
		if e := params(req, form, app); e != nil {
			checkAADSTS(t, e)
			return
		}

		types := strings.Fields(req.ResponseType)
		if len(types) == 0 {
			t.Fatal("accepted without a response type")
		}
		for i, typ := range types {
			if typ != TypeCode && typ != TypeIDToken && typ != TypeToken || slices.Contains(types[:i], typ) {
				t.Fatalf("accepted response_type %q", req.ResponseType)
			}
		}
		switch req.ResponseMode {
		case ModeQuery, ModeFragment, ModeFormPost:
		default:
			t.Fatalf("response mode %q", req.ResponseMode)
		}
		if m := form.Get("response_mode"); m != "" && m != req.ResponseMode {
			t.Fatalf("asked for response_mode %q, got %q", m, req.ResponseMode)
		}
		if req.returnsTokens() && req.ResponseMode == ModeQuery {
			t.Fatal("tokens would be sent in a query string")
		}
		implicit := app.Web.ImplicitGrantSettings
		if req.wants(TypeIDToken) && (!implicit.EnableIDTokenIssuance || req.Nonce == "") {
			t.Fatal("id_token without implicit ID tokens enabled or without a nonce")
		}
		if req.wants(TypeToken) && !implicit.EnableAccessTokenIssuance {
			t.Fatal("token without implicit access tokens enabled")
		}
		if version == "2.0" && req.Scope == "" {
			t.Fatal("v2 request without a scope")
		}
		if version == "1.0" && req.wants(TypeToken) && req.Resource == "" {
			t.Fatal("v1 token request without a resource")
		}
		if !slices.Contains([]string{"", PromptLogin, PromptNone, PromptConsent, PromptSelectAccount}, req.Prompt) {
			t.Fatalf("prompt %q", req.Prompt)
		}
		if req.CodeChallenge == "" && req.CodeChallengeMethod != "" ||
			req.CodeChallenge != "" && !validChallenge(req.CodeChallenge, req.CodeChallengeMethod) {
			t.Fatalf("code challenge %q (%q)", req.CodeChallenge, req.CodeChallengeMethod)
		}
		if platform == store.PlatformSPA && req.wants(TypeCode) && req.CodeChallenge == "" {
			t.Fatal("SPA code without PKCE")
		}
		if req.MaxAge < -1 {
			t.Fatalf("max_age %d", req.MaxAge)
		}
		if req.Claims != "" {
			var v map[string]any
			if json.Unmarshal([]byte(req.Claims), &v) != nil {
				t.Fatalf("claims %q is not a JSON object", req.Claims)
			}
		}
		for _, v := range []string{req.State, req.Nonce, req.Scope, req.Resource, req.LoginHint, req.DomainHint, req.SID, req.Claims} {
			if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				t.Fatalf("accepted %q, which PostgreSQL refuses", v)
			}
		}
		// The request travels between the pages as JSON inside the sealed
		// flow state: it must come back exactly (state and nonce are the
		// app's, echoed byte for byte).
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		var back Request
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*req, back) {
			t.Fatalf("the flow state does not round-trip:\n%+v\n%+v", *req, back)
		}
	})
}

// FuzzMatchRedirectURI registers arbitrary redirect URIs (those the
// directory's rules accept, as an app registration would) and checks that a
// URI only ever matches exactly one registered URI — or, for a publicClient
// loopback URI, one that differs from it in nothing but the port.
func FuzzMatchRedirectURI(f *testing.F) {
	for _, s := range [][2]string{
		{"https://app.example/cb", "https://app.example/cb"},
		{"https://app.example/cb", "https://app.example/cb/"},
		{"https://app.example/cb", "HTTPS://app.example/cb"},
		{"https://app.example/cb?x=1", "https://app.example/cb?x=1&y=2"},
		{"\n\nhttp://localhost", "http://localhost:53123/"},
		{"\n\nhttp://127.0.0.1/cb", "http://127.0.0.1:8080/cb"},
		{"\n\nhttp://localhost/cb", "http://localhost:1@evil.example/cb"},
		{"\n\nhttp://localhost/cb", "http://localhost:1/cb#frag"},
		{"\n\nhttp://localhost/cb", "http://localhost:1/%63b"},
		{"\n\nhttp://localhost/a/b", "http://localhost:1/a%2Fb"},
		{"\n\nhttp://localhost/cb", "http://localhost.evil.example:1/cb"},
		{"\n\nmsal00000000-0000-0000-0000-000000000001://auth", "msal00000000-0000-0000-0000-000000000001://auth"},
		{"\nhttps://spa.example/\n", "https://spa.example/"},
	} {
		f.Add(s[0], s[1])
	}
	platforms := []struct {
		name string
		p    directory.Platform
	}{{store.PlatformWeb, directory.PlatformWeb}, {store.PlatformSPA, directory.PlatformSPA}, {store.PlatformPublicClient, directory.PlatformPublicClient}}
	f.Fuzz(func(t *testing.T, registeredList, sent string) {
		// Lines of registeredList are web URIs until the first empty line,
		// then spa, then publicClient.
		var app store.Application
		lists := []*[]string{&app.Web.RedirectURIs, &app.SPA.RedirectURIs, &app.PublicClient.RedirectURIs}
		platformOf := map[string]string{}
		pi := 0
		for _, line := range strings.Split(registeredList, "\n") {
			if line == "" {
				if pi++; pi == len(lists) {
					break
				}
				continue
			}
			if directory.ValidateRedirectURI(platforms[pi].p, line, store.AudienceMyOrg) != nil || platformOf[line] != "" {
				continue // the directory refuses it, or it is registered already
			}
			*lists[pi] = append(*lists[pi], line)
			platformOf[line] = platforms[pi].name
		}

		platform, ok := matchRedirectURI(app, sent)
		exact := platformOf[sent]
		switch {
		case exact != "" && (!ok || platform != exact):
			t.Fatalf("%q is registered for %s but matched %v (%s)", sent, exact, ok, platform)
		case ok && exact == "":
			if platform != store.PlatformPublicClient {
				t.Fatalf("%q matched %s without being registered", sent, platform)
			}
			if !slices.ContainsFunc(app.PublicClient.RedirectURIs, func(r string) bool { return sameButPort(r, sent) }) {
				t.Fatalf("%q matched a publicClient loopback URI it differs from in more than the port: %q", sent, app.PublicClient.RedirectURIs)
			}
		}
		if registered(app, sent) != (exact != "") {
			t.Fatalf("registered(%q) = %v", sent, !(exact != ""))
		}
	})
}

// sameButPort is the loopback rule written out on the raw strings, without
// a URL parser: http://, the same loopback host, then an optional :digits
// port, then the same rest (an empty path is "/"), and no fragment.
func sameButPort(registered, sent string) bool {
	split := func(s string) (host, rest string, ok bool) {
		s, ok = strings.CutPrefix(s, "http://")
		if !ok {
			return "", "", false
		}
		i := strings.IndexAny(s, "/?#")
		if i < 0 {
			i = len(s)
		}
		host, rest = s[:i], s[i:]
		if h, port, found := strings.Cut(host, ":"); found {
			if port == "" || strings.Trim(port, "0123456789") != "" {
				return "", "", false
			}
			host = h
		}
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		return host, rest, directory.IsLoopbackHost(host) && !strings.Contains(rest, "#")
	}
	h1, r1, ok1 := split(registered)
	h2, r2, ok2 := split(sent)
	return ok1 && ok2 && h1 == h2 && r1 == r2
}
