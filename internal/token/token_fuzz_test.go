package token

// Fuzz targets, e.g. go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 15s ./internal/token
// (FuzzParse, FuzzParseBasic, FuzzClientAssertion). Interesting inputs found
// are kept under testdata/fuzz/<Target>/ and run as tests by `go test`.

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

const (
	fuzzTenant    = "7d3e6f1a-0000-4000-8000-000000000001"
	fuzzDomain    = "fuzz.example"
	fuzzClient    = "6b8c1c1e-0000-4000-8000-000000000002"
	fuzzPublicURL = "https://login.example"
)

// fuzzNow is the handler's clock. It must be near the real time: the replay
// cache (RecordOnce) drops entries by the store's clock.
var fuzzNow = time.Now().UTC().Truncate(time.Second)

// checkAADSTS fails unless err is a catalogued AADSTS error answered with a
// 4xx and a message whose template got the right arguments: a bad request
// must never become a 500.
func checkAADSTS(t *testing.T, err error) {
	t.Helper()
	var e *aadsts.Error
	if !errors.As(err, &e) {
		t.Fatalf("not an AADSTS error: %v", err)
	}
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

// pgText reports whether PostgreSQL can take s as text (it refuses NUL and
// invalid UTF-8 with an error, which would become a 500).
func pgText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func fuzzHandler(f *testing.F) *Handler {
	st := storetest.NewSQLite(f)
	err := st.CreateTenant(context.Background(), store.Tenant{
		ID: fuzzTenant, DisplayName: "Fuzz", Type: store.TenantTypeAAD, Domains: []string{fuzzDomain},
	})
	if err != nil {
		f.Fatal(err)
	}
	return New(Options{Store: st, PublicURL: fuzzPublicURL, Now: func() time.Time { return fuzzNow }})
}

// FuzzParse sends arbitrary token requests (tenant segment, content type,
// Authorization header, body) through the parsing every grant shares.
func FuzzParse(f *testing.F) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(fuzzClient+":"+url.QueryEscape("s3cret+/:")))
	form := "application/x-www-form-urlencoded"
	for _, s := range [][4]string{
		{fuzzTenant, form, "", "grant_type=client_credentials&client_id=" + fuzzClient + "&client_secret=x&scope=api%3A%2F%2Fx%2F.default"},
		{fuzzDomain, form + "; charset=utf-8", basic, "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fapp%2Fcb"},
		{"common", form, basic, "grant_type=client_credentials&client_id=other"},
		{"consumers", form, "", "grant_type=password&client_id=" + fuzzClient + "&username=a&password=b"},
		{"organizations", form, "", "grant_type=refresh_token&refresh_token=r&client_id=" + fuzzClient + "&claims=%7B%7D"},
		{fuzzTenant, form, "", "grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI2YjhjMWMxZSJ9.c2ln"},
		{fuzzTenant, form, "", "grant_type=client_credentials&client_id=" + fuzzClient + "&client_secret=x&client_assertion=a&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"},
		{fuzzTenant, "application/json", "", `{"grant_type":"client_credentials"}`},
		{"unknown.example", form, "Basic !!!", "grant_type=x&claims=%5B%5D"},
		{fuzzTenant, form, "", "grant_type=client_credentials&client_id=%00"},
	} {
		f.Add(s[0], s[1], s[2], s[3], false)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, tenantSeg, contentType, authorization, body string, useV1 bool) {
		r := httptest.NewRequest("POST", "/t/oauth2/v2.0/token", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Authorization", authorization)
		r.SetPathValue("tenant", tenantSeg)
		version := v2
		if useV1 {
			version = v1
		}
		req, err := h.parse(r, version)
		if err != nil {
			checkAADSTS(t, err)
			return
		}
		if req.grantType == "" || req.clientID == "" {
			t.Fatalf("accepted without grant_type (%q) or client (%q)", req.grantType, req.clientID)
		}
		if needsOneTenant(req.tenantSeg, req.grantType, version) {
			t.Fatalf("%s accepted at /%s", req.grantType, req.tenantSeg)
		}
		for k, vs := range req.form {
			for _, v := range append(vs, k) {
				if !pgText(v) {
					t.Fatalf("parameter %q carries %q, which PostgreSQL refuses", k, v)
				}
			}
		}
		if !pgText(req.clientID) || !pgText(req.cred.secret) {
			t.Fatalf("client %q / its secret cannot be looked up in PostgreSQL", req.clientID)
		}
		switch req.cred.kind {
		case credAssertion:
			if req.form.Get("client_assertion_type") != assertionTypeJWT || req.form.Get("client_secret") != "" ||
				strings.HasPrefix(strings.ToLower(authorization), "basic ") {
				t.Fatal("an assertion accepted with the wrong type or next to a secret")
			}
		case credSecret:
			if req.form.Get("client_assertion") != "" {
				t.Fatal("a secret accepted next to an assertion")
			}
		}
		if id := req.form.Get("client_id"); id != "" && !strings.EqualFold(id, req.clientID) {
			t.Fatalf("client_id %q but the client is %q", id, req.clientID)
		}
	})
}

// FuzzParseBasic: an id and secret form-url-encoded and base64'd as RFC 6749
// §2.3.1 says come back as they were; anything else is refused or decodes
// to values PostgreSQL can take.
func FuzzParseBasic(f *testing.F) {
	f.Add(fuzzClient, "s3cret+/:%&=~ é", "")
	f.Add("", "x", "OnNlY3JldA==")
	f.Add("a", "b", "YTpi Yw==")
	f.Fuzz(func(t *testing.T, id, secret, raw string) {
		enc := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
		gotID, gotSecret, ok := parseBasic(enc)
		if want := id != "" && pgText(id) && pgText(secret); ok != want || ok && (gotID != id || gotSecret != secret) {
			t.Fatalf("parseBasic(%q:%q) = %q, %q, %v", id, secret, gotID, gotSecret, ok)
		}
		if gotID, gotSecret, ok := parseBasic(raw); ok && (gotID == "" || !pgText(gotID) || !pgText(gotSecret)) {
			t.Fatalf("parseBasic(%q) accepted %q, %q", raw, gotID, gotSecret)
		}
	})
}

// FuzzClientAssertion signs arbitrary JOSE headers and claims with the
// client's registered key (mode 0: RS256, 1: PS256, 2: an unregistered key,
// 3: the input unsigned, as sent) so that every check after the signature
// is reached too. Whatever passes must satisfy every rule, and must not
// pass twice (jti replay).
func FuzzClientAssertion(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: fuzzNow.Add(-time.Hour), NotAfter: fuzzNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		f.Fatal(err)
	}
	s1, s256 := sha1.Sum(der), sha256.Sum256(der)
	app := store.Application{AppID: fuzzClient, TenantID: fuzzTenant, KeyCredentials: []store.KeyCredential{{
		Type: "AsymmetricX509Cert", Usage: "Verify", Key: der, StartDateTime: fuzzNow.Add(-time.Hour), EndDateTime: fuzzNow.Add(time.Hour),
	}}}

	exp := fuzzNow.Add(5 * time.Minute).Unix()
	aud := fuzzPublicURL + "/" + fuzzTenant + "/oauth2/v2.0/token"
	claims := func(jti, extra string) string {
		return `{"iss":"` + fuzzClient + `","sub":"` + fuzzClient + `","aud":"` + aud + `","exp":` + big.NewInt(exp).String() + `,"jti":"` + jti + `"` + extra + `}`
	}
	for _, s := range []struct {
		hdr, claims string
		mode        uint8
	}{
		{`{"alg":"RS256","typ":"JWT","x5t":"` + base64.RawURLEncoding.EncodeToString(s1[:]) + `"}`, claims("j1", ""), 0},
		{`{"alg":"PS256","x5t#S256":"` + base64.RawURLEncoding.EncodeToString(s256[:]) + `"}`, claims("j2", `,"nbf":"`+big.NewInt(fuzzNow.Unix()).String()+`"`), 1},
		{`{"alg":"RS256"}`, claims("j3", ""), 2},
		{`{"alg":"none"}`, claims("j4", ""), 3},
		{`{"alg":"HS256"}`, claims("j5", ""), 0},
		{`{"alg":"RS256","crit":["exp"]}`, claims("j6", ""), 0},
		{`{"alg":"RS256","kid":"00"}`, claims("j7", ""), 0},
		{`{"alg":"RS256"}`, `{"iss":"` + fuzzClient + `","sub":"` + fuzzClient + `","aud":["x","` + aud + `"],"exp":"1e300","jti":"j2"}`, 0},
		{`{"alg":"RS256"}`, `{"iss":"` + fuzzClient + `","sub":"` + fuzzClient + `","aud":"` + aud + `","exp":` + big.NewInt(exp).String() + `,"jti":"a\u0000b"}`, 0},
	} {
		f.Add(s.hdr, s.claims, s.mode)
	}

	h := fuzzHandler(f)
	tenant, err := h.opts.Store.GetTenant(context.Background(), fuzzTenant)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, payload string, mode uint8) {
		signing := header + "." + payload
		if mode%4 != 3 {
			signing = base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
		}
		assertion := signing
		if mode%4 != 3 {
			digest := sha256.Sum256([]byte(signing))
			var sig []byte
			var err error
			switch mode % 4 {
			case 0:
				sig, err = rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
			case 1:
				sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], nil)
			case 2:
				sig, err = rsa.SignPKCS1v15(nil, other, crypto.SHA256, digest[:])
			}
			if err != nil {
				t.Fatal(err)
			}
			assertion += "." + base64.RawURLEncoding.EncodeToString(sig)
		}
		req := &request{
			r: httptest.NewRequest("POST", "/"+fuzzTenant+"/oauth2/v2.0/token", nil), version: v2, now: fuzzNow,
			tenantSeg: fuzzTenant, tenant: tenant, clientID: fuzzClient, cred: credential{kind: credAssertion, assertion: assertion},
		}
		err := h.checkAssertion(context.Background(), req, app)
		if err != nil {
			checkAADSTS(t, err)
			return
		}
		if mode%4 >= 2 {
			t.Fatalf("mode %d: an assertion not signed with the registered key was accepted: %s", mode%4, assertion)
		}
		var hdr assertionHeader
		var c assertionClaims
		if decodeSegment(strings.Split(assertion, ".")[0], &hdr) != nil || decodeSegment(strings.Split(assertion, ".")[1], &c) != nil {
			t.Fatal("accepted an assertion that does not decode")
		}
		if hdr.Alg != "RS256" && hdr.Alg != "PS256" || len(hdr.Crit) > 0 {
			t.Fatalf("accepted alg %q crit %q", hdr.Alg, hdr.Crit)
		}
		if c.Iss != c.Sub || !strings.EqualFold(c.Iss, fuzzClient) || c.Jti == "" || !pgText(c.Jti) || !c.Exp.set {
			t.Fatalf("accepted claims %+v", c)
		}
		if fuzzNow.After(c.Exp.t.Add(h.opts.AssertionClockSkew)) || c.Nbf.set && fuzzNow.Add(h.opts.AssertionClockSkew).Before(c.Nbf.t) {
			t.Fatalf("accepted an assertion outside its lifetime: exp %v nbf %v", c.Exp.t, c.Nbf.t)
		}
		if !h.audienceAllowed(req, c.Aud) {
			t.Fatalf("accepted audience %q", c.Aud)
		}
		err = h.checkAssertion(context.Background(), req, app)
		if err == nil || !strings.Contains(err.Error(), "jti was used before") {
			t.Fatalf("the same assertion again: %v", err)
		}
	})
}
