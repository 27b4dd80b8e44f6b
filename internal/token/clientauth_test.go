package token_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Every client authentication method, the encodings real clients use, and
// every way an authentication fails: each redeems a fresh code for the web
// app (a confidential client).
func TestClientAuthentication(t *testing.T) {
	ts := start(t)
	addExpiredSecret(t, ts)
	c := certs()
	now := time.Now()
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	withAssertion := func(a string) func(url.Values) {
		return func(f url.Values) {
			f.Del("client_secret")
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
			f.Set("client_assertion", a)
		}
	}
	hmacSign := func(in []byte) []byte {
		m := hmac.New(sha256.New, []byte(webSecret))
		m.Write(in)
		return m.Sum(nil)
	}
	replayed := ts.assertion(t, assertionOpts{})

	for _, tc := range []struct {
		name   string
		edit   func(url.Values)
		hdr    []string
		path   string
		code   int // 0: success
		status int
		acr    string // the access token's appidacr on success
	}{
		{name: "client_secret_post", edit: func(url.Values) {}, acr: "1"},
		{name: "client_secret_basic, url-encoded", edit: func(f url.Values) { f.Del("client_secret") },
			hdr: []string{"Authorization", basic(webAppID, webSecret)}, acr: "1"},
		{name: "client_secret_basic without client_id", edit: func(f url.Values) { f.Del("client_secret"); f.Del("client_id") },
			hdr: []string{"Authorization", basic(webAppID, webSecret)}, acr: "1"},
		{name: "PS256 x5t#S256 padded standard base64 (MSAL Go)", edit: withAssertion(ts.assertion(t, assertionOpts{})), acr: "2"},
		{name: "PS256 x5t#S256 base64url (msal-node)", edit: withAssertion(ts.assertion(t, assertionOpts{
			hdr: map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(c.sha256)}})), acr: "2"},
		{name: "RS256 x5t base64url", edit: withAssertion(ts.assertion(t, assertionOpts{alg: "RS256"})), acr: "2"},
		{name: "RS256 x5t padded standard base64 (older MSAL Go)", edit: withAssertion(ts.assertion(t, assertionOpts{alg: "RS256",
			hdr: map[string]any{"x5t": base64.StdEncoding.EncodeToString(c.sha1)}})), acr: "2"},
		{name: "RS256 hex kid (MSAL.NET)", edit: withAssertion(ts.assertion(t, assertionOpts{alg: "RS256",
			hdr: map[string]any{"x5t": nil, "kid": strings.ToUpper(hex.EncodeToString(c.sha1))}})), acr: "2"},
		{name: "exp and nbf as strings, no client_id (older MSAL Go)", edit: func(f url.Values) {
			withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
				"exp": strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10), "nbf": strconv.FormatInt(now.Unix(), 10)}}))(f)
			f.Del("client_id")
		}, acr: "2"},
		{name: "aud: v1 endpoint by domain, upper case", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"aud": strings.ToUpper(ts.base) + "/" + strings.ToUpper(domain) + "/oauth2/token"}})), acr: "2"},
		{name: "aud: array with the endpoint", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"aud": []string{"https://someone.else/", ts.base + "/" + tenantID + "/oauth2/v2.0/token"}}})), acr: "2"},
		{name: "aud: the /common endpoint it was sent to", path: tokenPath("common"), edit: withAssertion(ts.assertion(t, assertionOpts{
			claims: map[string]any{"aud": ts.base + "/common/oauth2/v2.0/token"}})), acr: "2"},

		{name: "wrong secret", edit: func(f url.Values) { f.Set("client_secret", "x"+webSecret) }, code: 7000215, status: 401},
		{name: "basic with the secret's ID", edit: func(f url.Values) { f.Del("client_secret") },
			hdr: []string{"Authorization", basic(webAppID, ids.NewGUID())}, code: 7000215, status: 401},
		{name: "basic for another client_id", edit: func(f url.Values) { f.Del("client_secret") },
			hdr: []string{"Authorization", basic(nativeAppID, webSecret)}, code: 7000215, status: 401},
		{name: "expired secret", edit: func(f url.Values) { f.Set("client_secret", expiredSecret) }, code: 7000222, status: 401},
		{name: "no credential", edit: func(f url.Values) { f.Del("client_secret") }, code: 7000218, status: 401},
		{name: "no client_assertion_type", edit: func(f url.Values) {
			f.Del("client_secret")
			f.Set("client_assertion", ts.assertion(t, assertionOpts{}))
		}, code: 900144, status: 400},
		{name: "secret and assertion", edit: func(f url.Values) {
			withAssertion(ts.assertion(t, assertionOpts{}))(f)
			f.Set("client_secret", webSecret)
		}, code: 50027, status: 401},
		{name: "alg none", edit: withAssertion(ts.assertion(t, assertionOpts{alg: "none", sign: func([]byte) []byte { return nil }})), code: 700027, status: 401},
		{name: "alg HS256 keyed with the secret", edit: withAssertion(ts.assertion(t, assertionOpts{alg: "HS256", sign: hmacSign})), code: 700027, status: 401},
		{name: "unregistered certificate", edit: withAssertion(ts.assertion(t, assertionOpts{key: c.otherKey,
			hdr: map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(c.osha256)}})), code: 700027, status: 401},
		{name: "registered thumbprint, other key", edit: withAssertion(ts.assertion(t, assertionOpts{key: c.otherKey})), code: 700027, status: 401},
		{name: "tampered claims", edit: func(f url.Values) {
			a := ts.assertion(t, assertionOpts{})
			p := strings.Split(a, ".")
			p[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"x","iss":"` + webAppID + `","sub":"` + webAppID + `"}`))
			withAssertion(strings.Join(p, "."))(f)
		}, code: 700027, status: 401},
		{name: "wrong aud", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"aud": "https://login.microsoftonline.com/" + tenantID + "/oauth2/v2.0/token"}})), code: 50027, status: 401},
		{name: "aud of another tenant", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"aud": ts.base + "/" + otherTenant + "/oauth2/v2.0/token"}})), code: 50027, status: 401},
		{name: "expired", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"exp": now.Add(-time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix()}})), code: 50027, status: 401},
		{name: "not yet valid", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"nbf": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}})), code: 50027, status: 401},
		{name: "no exp", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{"exp": nil}})), code: 50027, status: 401},
		{name: "iss is not sub", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{"sub": nativeAppID}})), code: 50027, status: 401},
		{name: "issued by another client", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{
			"iss": nativeAppID, "sub": nativeAppID}})), code: 50027, status: 401},
		{name: "no jti", edit: withAssertion(ts.assertion(t, assertionOpts{claims: map[string]any{"jti": nil}})), code: 50027, status: 401},
		{name: "jti, first use", edit: withAssertion(replayed), acr: "2"},
		{name: "jti replayed", edit: withAssertion(replayed), code: 50027, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = tokenPath(tenantID)
			}
			form := codeForm(ts.newCode(t, codeOpts{}))
			tc.edit(form)
			r := ts.post(t, path, form, tc.hdr...)
			if tc.code != 0 {
				wantError(t, r, tc.code, tc.status, "")
				return
			}
			wantTokens(t, r)
			if _, at := jwtParts(t, r.str("access_token")); at["appidacr"] != tc.acr {
				t.Errorf("appidacr %v, want %s", at["appidacr"], tc.acr)
			}
		})
	}
}

// expiredSecret is a secret of the web app that expired yesterday.
const expiredSecret = "expired-secret-0123456789abcdefghijklmnop"

// addExpiredSecret gives the web app a secret that expired yesterday (the
// directory file refuses past end dates, as Graph does).
func addExpiredSecret(t *testing.T, ts *testServer) {
	h := ts.srv.Secrets().ClientSecretHasher()
	_, err := ts.st.UpdateApplication(context.Background(), webAppID, func(a store.Application) (store.Application, error) {
		a.PasswordCredentials = append(a.PasswordCredentials, store.PasswordCredential{
			KeyID: ids.NewGUID(), DisplayName: "old", Hint: expiredSecret[:3], SecretHash: h.Hash(expiredSecret),
			StartDateTime: time.Now().Add(-48 * time.Hour), EndDateTime: time.Now().Add(-24 * time.Hour),
		})
		return a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
