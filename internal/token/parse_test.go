package token

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

func TestParseBasic(t *testing.T) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	secret := "a+b/c%d:e&f=g h~"
	for _, tc := range []struct {
		name, header, id, secret string
		ok                       bool
	}{
		{"form-url-encoded", enc(url.QueryEscape("app") + ":" + url.QueryEscape(secret)), "app", secret, true},
		{"plain", enc("app:plainsecret"), "app", "plainsecret", true},
		{"colon in secret, encoded", enc("app:" + url.QueryEscape("x:y")), "app", "x:y", true},
		{"no colon", enc("appsecret"), "", "", false},
		{"empty id", enc(":secret"), "", "", false},
		{"bad base64", "!!!", "", "", false},
		{"bad escape", enc("app:%zz"), "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, s, ok := parseBasic(tc.header)
			if ok != tc.ok || (ok && (id != tc.id || s != tc.secret)) {
				t.Errorf("parseBasic = %q, %q, %v; want %q, %q, %v", id, s, ok, tc.id, tc.secret, tc.ok)
			}
		})
	}
}

func TestPKCE(t *testing.T) {
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	s256 := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B
	for _, tc := range []struct {
		name, challenge, method, verifier string
		ok                                bool
	}{
		{"RFC 7636 S256", s256, "S256", verifier, true},
		{"S256 lower-case method", s256, "s256", verifier, true},
		{"S256 wrong verifier", s256, "S256", verifier + "x", false},
		{"S256 verifier sent as challenge", s256, "S256", s256, false},
		{"plain", verifier, "plain", verifier, true},
		{"plain by default", verifier, "", verifier, true},
		{"plain mismatch", verifier, "", s256, false},
		{"missing verifier", s256, "S256", "", false},
		{"no challenge", "", "", "", true},
	} {
		if got := pkceVerified(tc.challenge, tc.method, tc.verifier); got != tc.ok {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestThumbprintEncodings(t *testing.T) {
	sum := sha256.Sum256([]byte("certificate"))
	other := sha256.Sum256([]byte("another"))
	for _, v := range []string{
		base64.RawURLEncoding.EncodeToString(sum[:]),
		base64.URLEncoding.EncodeToString(sum[:]),
		base64.StdEncoding.EncodeToString(sum[:]),
		base64.RawStdEncoding.EncodeToString(sum[:]),
		hex.EncodeToString(sum[:]),
	} {
		if !thumbprintIs(v, sum[:]) {
			t.Errorf("%q not accepted", v)
		}
		if thumbprintIs(v, other[:]) {
			t.Errorf("%q matched another thumbprint", v)
		}
	}
	if thumbprintIs("", sum[:]) {
		t.Error("an empty header value matched")
	}
}

func TestNumericDateAndAudience(t *testing.T) {
	var c assertionClaims
	if err := json.Unmarshal([]byte(`{"aud":["a","b"],"exp":"1700000000","nbf":1699999999.5}`), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Aud) != 2 || !c.Exp.set || !c.Exp.t.Equal(time.Unix(1700000000, 0)) || c.Nbf.t.Unix() != 1699999999 {
		t.Errorf("%+v", c)
	}
	if err := json.Unmarshal([]byte(`{"aud":"one","exp":"tomorrow"}`), &c); err == nil {
		t.Error("a non-numeric exp was accepted")
	}
	var none assertionClaims
	if err := json.Unmarshal([]byte(`{"aud":"one"}`), &none); err != nil || none.Exp.set || len(none.Aud) != 1 {
		t.Errorf("%+v %v", none, err)
	}
}

func TestOriginOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://Login.Test:443/x":  "https://login.test",
		"https://login.test:8443/x": "https://login.test:8443",
		"http://localhost:80":       "http://localhost",
		"not a url":                 "",
	} {
		if got := originOf(in); got != want {
			t.Errorf("originOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScopeMemory(t *testing.T) {
	if got := withOIDCScopes("api://tasks/read", "openid profile User.Read offline_access"); got != "api://tasks/read openid profile offline_access" {
		t.Errorf("withOIDCScopes = %q", got)
	}
	if got := withOIDCScopes("openid User.Read", "OPENID email"); got != "openid User.Read email" {
		t.Errorf("withOIDCScopes = %q", got)
	}
	v1 := &request{version: v1}
	rs := refreshScope(v1, "openid offline_access", "https://graph.microsoft.com")
	if rs != "https://graph.microsoft.com/.default openid offline_access" {
		t.Errorf("v1 refresh scope %q", rs)
	}
	if res, rest := splitDefault(rs); res != "https://graph.microsoft.com" || rest != "openid offline_access" {
		t.Errorf("splitDefault = %q, %q", res, rest)
	}
	if got := refreshScope(&request{version: v2}, "User.Read openid", ""); got != "User.Read openid" {
		t.Errorf("v2 refresh scope %q", got)
	}
}
