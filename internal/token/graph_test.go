package token_test

// internal/userinfo's end-to-end tests live here, next to the token endpoint
// that issues the access tokens they need.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// graphToken redeems a code for scope and returns the access token and the
// ID token's sub.
func (ts *testServer) graphToken(t *testing.T, scope string) (at, sub string) {
	t.Helper()
	r := ts.post(t, tokenPath(tenantID), codeForm(ts.newCode(t, codeOpts{scope: scope})))
	wantTokens(t, r)
	if id := r.str("id_token"); id != "" {
		_, c := jwtParts(t, id)
		sub, _ = c["sub"].(string)
	}
	return r.str("access_token"), sub
}

func (ts *testServer) call(t *testing.T, method, path, bearer string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestUserinfoAndMe(t *testing.T) {
	ts := start(t)
	at, sub := ts.graphToken(t, "openid profile email User.Read")
	if sub == "" {
		t.Fatal("no ID token sub")
	}

	for _, method := range []string{"GET", "POST"} {
		status, hdr, body := ts.call(t, method, "/oidc/userinfo", at)
		if status != 200 {
			t.Fatalf("%s userinfo: %d %s", method, status, body)
		}
		keysInOrder(t, body, "sub", "name", "family_name", "given_name", "email")
		var u map[string]string
		_ = json.Unmarshal(body, &u)
		if u["sub"] != sub || u["name"] != "Alice Smith" || u["family_name"] != "Smith" || u["given_name"] != "Alice" || u["email"] != "alice@"+domain {
			t.Errorf("userinfo %v (ID token sub %s)", u, sub)
		}
		if hdr.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("CORS %v", hdr)
		}
	}

	status, _, body := ts.call(t, "GET", "/v1.0/me", at)
	if status != 200 {
		t.Fatalf("/v1.0/me: %d %s", status, body)
	}
	keysInOrder(t, body, "@odata.context", "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
		"officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id")
	want := `{"@odata.context":"` + ts.base + `/v1.0/$metadata#users/$entity","businessPhones":[],"displayName":"Alice Smith","givenName":"Alice","jobTitle":null,"mail":"alice@` + domain +
		`","mobilePhone":null,"officeLocation":null,"preferredLanguage":null,"surname":"Smith","userPrincipalName":"alice@` + domain + `","id":"` + aliceID + `"}`
	if string(body) != want {
		t.Errorf("/v1.0/me\n got %s\nwant %s", body, want)
	}

}

func TestGraphRejectsBadTokens(t *testing.T) {
	ts := start(t)
	good, _ := ts.graphToken(t, "openid profile email User.Read")
	tasks, _ := ts.graphToken(t, "api://tasks/access_as_user openid")

	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "Alice", "Mallory", 1))) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`)) + "." + parts[1] + "."

	sign := func(claims map[string]any) string {
		sk, err := ts.srv.Keys().SigningKey(context.Background(), tenantID, "")
		if err != nil {
			t.Fatal(err)
		}
		jwt, err := sk.SignJWT(claims, true)
		if err != nil {
			t.Fatal(err)
		}
		return jwt
	}
	now := time.Now()
	base := func(edit map[string]any) map[string]any {
		c := map[string]any{"aud": "https://graph.microsoft.com", "iss": ts.base + "/" + tenantID + "/", "tid": tenantID,
			"oid": aliceID, "appid": webAppID, "scp": "User.Read", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range edit {
			c[k] = v
		}
		return c
	}
	if status, _, body := ts.call(t, "GET", "/v1.0/me", sign(base(nil))); status != 200 {
		t.Fatalf("a well-formed token signed by the tenant key was refused: %d %s", status, body)
	}

	// openid and profile only: no email, and /me needs User.Read.
	narrow := sign(base(map[string]any{"scp": "openid profile"}))
	if _, _, body := ts.call(t, "GET", "/oidc/userinfo", narrow); strings.Contains(string(body), "email") || !strings.Contains(string(body), `"name":"Alice Smith"`) {
		t.Errorf("userinfo with openid profile: %s", body)
	}
	if status, _, body := ts.call(t, "GET", "/v1.0/me", narrow); status != 403 || graphCode(t, body) != "Authorization_RequestDenied" {
		t.Errorf("/me without User.Read: %d %s", status, body)
	}
	// An app-only token has no user.
	app := sign(base(map[string]any{"scp": nil, "oid": "5b7e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4", "roles": []string{"User.Read.All"}}))
	if status, _, body := ts.call(t, "GET", "/v1.0/me", app); status != 400 || graphCode(t, body) != "BadRequest" {
		t.Errorf("/me with an app-only token: %d %s", status, body)
	}

	for _, tc := range []struct{ name, token, msg string }{
		{"no token", "", "Access token is empty."},
		{"not a JWT", "abc", "IDX14100"},
		{"token for another resource", tasks, "Invalid audience"},
		{"tampered payload", tampered, "Signature validation failed"},
		{"alg none", none, "Access token validation failure"},
		{"expired", sign(base(map[string]any{"exp": now.Add(-time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix()})), "expired"},
		{"not yet valid", sign(base(map[string]any{"nbf": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()})), "not yet valid"},
		{"other issuer", sign(base(map[string]any{"iss": "https://sts.windows.net/" + tenantID + "/"})), "Invalid issuer"},
		{"unknown tenant", sign(base(map[string]any{"tid": "00000000-1111-4222-8333-444444444444"})), "Access token validation failure"},
		{"signed by another tenant's key", func() string {
			sk, err := ts.srv.Keys().SigningKey(context.Background(), otherTenant, "")
			if err != nil {
				t.Fatal(err)
			}
			jwt, _ := sk.SignJWT(base(nil), true)
			return jwt
		}(), "Signature validation failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/oidc/userinfo", "/v1.0/me"} {
				status, hdr, body := ts.call(t, "GET", path, tc.token)
				if status != 401 || graphCode(t, body) != "InvalidAuthenticationToken" || !strings.Contains(string(body), tc.msg) {
					t.Errorf("%s: %d %s", path, status, body)
				}
				if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `Bearer realm="", authorization_uri="`+ts.base+`/common/oauth2/authorize"`) {
					t.Errorf("%s: WWW-Authenticate %q", path, hdr.Get("WWW-Authenticate"))
				}
				if strings.Contains(string(body), "sub") || strings.Contains(string(body), aliceID) {
					t.Errorf("%s: a refusal carried user data: %s", path, body)
				}
			}
		})
	}
}

// graphCode is the error.code of Graph's error body, checking its shape.
func graphCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				Date      string `json:"date"`
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" || e.Error.InnerError.RequestID == "" || e.Error.InnerError.Date == "" {
		t.Errorf("not Graph's error shape: %s", body)
	}
	return e.Error.Code
}
