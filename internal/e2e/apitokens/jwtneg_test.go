package apitokens

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
)

// Every JWT Entrance accepts — client assertions (private_key_jwt), the
// user's token in an on-behalf-of request, and its own access tokens at
// Graph's userinfo and getMemberObjects — is refused when it is unsigned
// (alg none), HMAC-signed with the public key (the algorithm-confusion
// attack: HS256 keyed with the certificate or key, PEM or DER), signed
// under a kid that is not the signer's, expired, not yet valid, or for
// another audience. Each acceptor has a valid token too, which works: the
// refusals are for the reason named.

// b64 is base64url without padding, as JWTs are encoded.
func b64(v any) string {
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// jwtParts splits a compact JWT into its decoded header and claims.
func jwtParts(t *testing.T, jwt string) (map[string]any, map[string]any) {
	t.Helper()
	p := strings.Split(jwt, ".")
	var hdr, claims map[string]any
	for i, v := range []*map[string]any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("not a JWT: %.80s", jwt)
		}
	}
	return hdr, claims
}

// unsigned is the JWT with alg none and no signature.
func unsigned(hdr, claims map[string]any) string {
	h := clone(hdr)
	h["alg"] = "none"
	return b64(h) + "." + b64(claims) + "."
}

// hmacWith is the JWT with alg HS256, keyed with key.
func hmacWith(hdr, claims map[string]any, key []byte) string {
	h := clone(hdr)
	h["alg"] = "HS256"
	input := b64(h) + "." + b64(claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil))
}

// rs256With is the JWT signed RS256 by key under hdr.
func rs256With(t *testing.T, hdr, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	input := b64(hdr) + "." + b64(claims)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64(sig)
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// with returns claims with the given ones replaced.
func with(claims map[string]any, kv ...any) map[string]any {
	out := clone(claims)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// publicKeyForms are the ways a public key is published, each of which an
// algorithm-confusion attacker could use as an HMAC secret.
func publicKeyForms(t *testing.T, cert *x509.Certificate) map[string][]byte {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"certificate PEM": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		"certificate DER": cert.Raw,
		"public key PEM":  pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}),
		"public key DER":  spki,
	}
}

// forgery is a JWT an acceptor must refuse, and the AADSTS code it answers
// (for the token endpoint; 0 where the answer is not an AADSTS error).
type forgery struct {
	name string
	jwt  string
	code int
}

// forgeriesOf builds the table for a token Entrance signed (valid): the
// signature attacks keep its claims; the claim attacks are signed with
// Entrance's real key (the test can reach it), so only the claim is wrong.
func (e *env) forgeriesOf(t *testing.T, tenant, valid, otherAudience string, codes map[string]int) []forgery {
	t.Helper()
	hdr, claims := jwtParts(t, valid)
	k, err := e.srv.Keys().SigningKey(t.Context(), tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	out := []forgery{
		{"alg none", unsigned(hdr, claims), codes["signature"]},
		{"wrong kid (not published)", rs256With(t, with(hdr, "kid", "not-a-published-kid", "x5t", "not-a-published-kid"), claims, stranger), codes["signature"]},
		{"another key under the real kid", rs256With(t, hdr, claims, stranger), codes["signature"]},
		{"expired", e.signed(t, tenant, with(claims, "iat", now.Add(-3*time.Hour).Unix(), "nbf", now.Add(-3*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix())), codes["expired"]},
		{"not yet valid", e.signed(t, tenant, with(claims, "iat", now.Unix(), "nbf", now.Add(time.Hour).Unix(), "exp", now.Add(2*time.Hour).Unix())), codes["notyet"]},
		{"wrong audience", e.signed(t, tenant, with(claims, "aud", otherAudience)), codes["audience"]},
	}
	for form, key := range publicKeyForms(t, k.Certificate()) {
		out = append(out, forgery{"HS256 keyed with the signing " + form, hmacWith(hdr, claims, key), codes["signature"]})
	}
	return out
}

func TestJWTAcceptorsRefuseForgeries(t *testing.T) {
	e := start(t)

	t.Run("client assertion", func(t *testing.T) {
		c := certs()
		form := func(assertion string) url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonAppID}, "scope": {"api://v2api/.default"},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
		}
		wantOK(t, e.post(t, tokenV2(contosoID), form(e.clientAssertion(t, c.key, c.cert.Raw))))

		sum := sha256.Sum256(c.cert.Raw)
		otherSum := sha256.Sum256(c.otherCert.Raw)
		now := time.Now()
		hdr := map[string]any{"alg": "RS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])}
		claims := func(kv ...any) map[string]any {
			return with(map[string]any{"aud": e.base + "/" + contosoID + "/oauth2/v2.0/token", "iss": daemonAppID, "sub": daemonAppID,
				"jti": ids.NewGUID(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}, kv...)
		}
		signed := func(kv ...any) string { return rs256With(t, hdr, claims(kv...), c.key) }
		if r := e.post(t, tokenV2(contosoID), form(signed())); r.status != 200 {
			t.Fatalf("a valid RS256 assertion: %d %s", r.status, r.body)
		}
		table := []forgery{
			{"alg none", unsigned(hdr, claims()), 700027},
			{"wrong kid (a certificate not registered)", rs256With(t, with(hdr, "x5t#S256", base64.StdEncoding.EncodeToString(otherSum[:])), claims(), c.key), 700027},
			{"wrong kid (unknown kid, no thumbprint)", rs256With(t, map[string]any{"alg": "RS256", "kid": "not-a-registered-kid"}, claims(), c.key), 700027},
			{"expired", signed("nbf", now.Add(-time.Hour).Unix(), "exp", now.Add(-30*time.Minute).Unix()), 50027},
			{"not yet valid", signed("nbf", now.Add(time.Hour).Unix(), "exp", now.Add(2*time.Hour).Unix()), 50027},
			{"wrong audience", signed("aud", "https://login.microsoftonline.com/"+contosoID+"/oauth2/v2.0/token"), 50027},
		}
		for name, key := range publicKeyForms(t, c.cert) {
			table = append(table, forgery{"HS256 keyed with the " + name, hmacWith(hdr, claims(), key), 700027})
		}
		for _, f := range table {
			t.Run(f.name, func(t *testing.T) { wantError(t, e.post(t, tokenV2(contosoID), form(f.jwt)), f.code, 401) })
		}
	})

	t.Run("on-behalf-of assertion", func(t *testing.T) {
		obo := func(assertion string) url.Values {
			return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
				"assertion": {assertion}, "client_id": {middleAppID}, "client_secret": {middleSecret}, "scope": {"api://v1api/user_impersonation"}}
		}
		valid := wantOK(t, e.ropc(t, contosoID, aliceUPN, "api://middle/access_as_user")).str("access_token")
		wantOK(t, e.post(t, tokenV2(contosoID), obo(valid)))
		for _, f := range e.forgeriesOf(t, contosoID, valid, v2APIAppID,
			map[string]int{"signature": 50013, "expired": 500133, "notyet": 500133, "audience": 500131}) {
			t.Run(f.name, func(t *testing.T) { wantError(t, e.post(t, tokenV2(contosoID), obo(f.jwt)), f.code, 400) })
		}
	})

	t.Run("Graph token", func(t *testing.T) {
		valid := wantOK(t, e.ropc(t, contosoID, aliceUPN, "User.Read")).str("access_token")
		for _, ep := range []struct{ method, path, body string }{
			{"GET", "/oidc/userinfo", ""},
			{"POST", "/v1.0/me/getMemberObjects", `{"securityEnabledOnly":false}`},
		} {
			if status, body := e.graph(t, ep.method, ep.path, valid, ep.body); status != 200 {
				t.Fatalf("%s with a valid token: %d %s", ep.path, status, body)
			}
			for _, f := range e.forgeriesOf(t, contosoID, valid, v2APIAppID, nil) {
				t.Run(ep.path+"/"+f.name, func(t *testing.T) {
					status, body := e.graph(t, ep.method, ep.path, f.jwt, ep.body)
					if status != 401 || !strings.Contains(string(body), "InvalidAuthenticationToken") || strings.Contains(string(body), aliceUPN) {
						t.Errorf("got %d %.300s, want 401 InvalidAuthenticationToken", status, body)
					}
				})
			}
		}
	})
}
