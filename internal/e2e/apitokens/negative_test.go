package apitokens

// The negative cases and this issue's own: each request fails with
// its AADSTS code and HTTP status, and no token comes back.

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
)

// clientAssertion is a private_key_jwt assertion for the daemon, signed
// PS256 with key and naming cert (x5t#S256, padded standard base64 as MSAL
// Go sends it).
func (e *env) clientAssertion(t testing.TB, key *rsa.PrivateKey, certDER []byte) string {
	t.Helper()
	sum := sha256.Sum256(certDER)
	hdr, _ := json.Marshal(map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])})
	now := time.Now()
	cl, _ := json.Marshal(map[string]any{"aud": e.base + "/" + contosoID + "/oauth2/v2.0/token", "iss": daemonAppID, "sub": daemonAppID,
		"jti": ids.NewGUID(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	input := base64.RawURLEncoding.EncodeToString(hdr) + "." + base64.RawURLEncoding.EncodeToString(cl)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestNegative(t *testing.T) {
	e := start(t)
	c := certs()
	cc := func(edit ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonAppID}, "client_secret": {daemonSecret}, "scope": {"api://v2api/.default"}}
		for i := 0; i+1 < len(edit); i += 2 {
			if edit[i+1] == "" {
				f.Del(edit[i])
			} else {
				f.Set(edit[i], edit[i+1])
			}
		}
		return f
	}
	pw := func(client, username, scope string, edit ...string) url.Values {
		f := url.Values{"grant_type": {"password"}, "client_id": {client}, "username": {username}, "password": {password}, "scope": {scope}}
		for i := 0; i+1 < len(edit); i += 2 {
			f.Set(edit[i], edit[i+1])
		}
		return f
	}
	for _, tc := range []struct {
		name   string
		path   string
		form   url.Values
		hdr    []string
		code   int
		status int
	}{
		// The list.
		{"wrong secret", tokenV2(contosoID), cc("client_secret", "wrong-secret-0123456789abcdefghijklm"), nil, 7000215, 401},
		{"expired secret", tokenV2(contosoID), cc("client_id", expiredAppID, "client_secret", expiredSecret), nil, 7000222, 401},
		{"assertion signed by an unregistered key", tokenV2(contosoID), cc("client_secret", "",
			"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
			"client_assertion", e.clientAssertion(t, c.otherKey, c.otherCert.Raw)), nil, 700027, 401},
		{"confidential client without a credential", tokenV2(contosoID), cc("client_secret", ""), nil, 7000218, 401},
		{"public client sending a secret", tokenV2(contosoID), pw(nativeAppID, aliceUPN, "User.Read", "client_secret", nativeSecret), nil, 700025, 401},
		{"unknown resource", tokenV2(contosoID), cc("scope", "api://nope/.default"), nil, 500011, 400},
		{"scopes of two resources", tokenV2(contosoID), cc("scope", "api://v1api/.default api://v2api/.default"), nil, 700022, 400},
		{"scopes of two resources, password grant", tokenV2(contosoID), pw(nativeAppID, aliceUPN, "api://v1api/user_impersonation api://v2api/access_as_user"), nil, 700022, 400},
		{"client credentials on /common", tokenV2("common"), cc(), nil, 9001023, 400},
		// This issue's own.
		{"client credentials on /consumers", tokenV2("consumers"), cc(), nil, 9001023, 400},
		{"client credentials on v1 /common", tokenV1("common"), cc("resource", "api://v1api"), nil, 9001023, 400},
		{"password grant on v2 /common", tokenV2("common"), pw(nativeAppID, aliceUPN, "User.Read"), nil, 9001023, 400},
		{"client credentials without /.default", tokenV2(contosoID), cc("scope", "api://v2api/access_as_user"), nil, 1002012, 400},
		{"client credentials with only OpenID scopes", tokenV2(contosoID), cc("scope", "openid profile offline_access"), nil, 1002012, 400},
		{"client credentials from a browser", tokenV2(contosoID), cc(), []string{"Origin", "https://spa.example.com"}, 9002326, 400},
		{"client credentials for itself by App ID URI", tokenV2(contosoID), cc("client_id", middleAppID, "client_secret", middleSecret, "scope", "api://middle/.default"), nil, 90009, 400},
		{"client credentials, unknown client", tokenV2(contosoID), cc("client_id", "11111111-2222-4333-8444-555555555555"), nil, 700016, 400},
		{"claims that are not JSON", tokenV2(contosoID), cc("claims", "{not json"), nil, 90023, 400},
		{"password grant without public client flows", tokenV2(contosoID), pw(noPublicAppID, aliceUPN, "User.Read"), nil, 7000218, 401},
		{"wrong password", tokenV2(contosoID), pw(nativeAppID, eveUPN, "User.Read", "password", "not-the-password"), nil, 50126, 400},
		{"unknown user (same answer)", tokenV2(contosoID), pw(nativeAppID, "nobody@"+contoso, "User.Read"), nil, 50126, 400},
		{"password grant without consent", tokenV2(contosoID), pw(ropcWebAppID, aliceUPN, "api://v1api/user_impersonation", "client_secret", ropcSecret), nil, 65001, 400},
		{"password grant from a browser", tokenV2(contosoID), pw(nativeAppID, aliceUPN, "User.Read"), []string{"Origin", "https://spa.example.com"}, 9002326, 400},
		{"password grant without a password", tokenV2(contosoID), pw(nativeAppID, aliceUPN, "User.Read", "password", ""), nil, 900144, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.post(t, tc.path, tc.form, tc.hdr...), tc.code, tc.status)
		})
	}

	// The password grant shares the sign-in page's lockout: after ten wrong
	// passwords (one was above) even the right one is refused for a while.
	t.Run("lockout", func(t *testing.T) {
		for range 9 {
			e.post(t, tokenV2(contosoID), pw(nativeAppID, eveUPN, "User.Read", "password", "still-not-it"))
		}
		wantError(t, e.post(t, tokenV2(contosoID), pw(nativeAppID, eveUPN, "User.Read")), 50053, 400)
	})
}
