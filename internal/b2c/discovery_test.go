package b2c_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/e2e"
)

func getJSON(t *testing.T, env *e2e.Env, path string) (int, http.Header, map[string]any, string) {
	t.Helper()
	resp, err := env.Client.Get(env.Base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v: %s", path, err, body)
	}
	return resp.StatusCode, resp.Header, m, string(body)
}

// TestDiscoveryForms checks a user flow's metadata in B2C's three URL forms,
// with the tenant as domain or GUID and the policy in any case.
func TestDiscoveryForms(t *testing.T) {
	env := startB2C(t, "")
	base := env.Base
	issuer := base + "/" + tenantID + "/v2.0/"
	tests := []struct {
		name, path string
		issuer     string
		endpoints  string // the authorization endpoint it must name
	}{
		{"path form, domain", "/" + domain + "/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration",
			issuer, base + "/" + domain + "/b2c_1_signupsignin/oauth2/v2.0/authorize"},
		{"path form, GUID, policy in lower case", "/" + tenantID + "/b2c_1_signupsignin/v2.0/.well-known/openid-configuration",
			issuer, base + "/" + tenantID + "/b2c_1_signupsignin/oauth2/v2.0/authorize"},
		{"path form, everything in upper case", "/" + strings.ToUpper(domain) + "/B2C_1_SIGNUPSIGNIN/V2.0/.WELL-KNOWN/OPENID-CONFIGURATION",
			issuer, base + "/" + domain + "/b2c_1_signupsignin/oauth2/v2.0/authorize"},
		{"query form", "/" + domain + "/v2.0/.well-known/openid-configuration?p=B2C_1_SIGNUPSIGNIN",
			issuer, base + "/" + domain + "/oauth2/v2.0/authorize?p=b2c_1_signupsignin"},
		{"tfp form", "/tfp/" + domain + "/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration",
			issuer, base + "/tfp/" + domain + "/b2c_1_signupsignin/oauth2/v2.0/authorize"},
		{"tfp issuer option", "/tfp/" + tenantID + "/b2c_1_signup/v2.0/.well-known/openid-configuration",
			base + "/tfp/" + tenantID + "/b2c_1_signup/v2.0/", base + "/tfp/" + tenantID + "/b2c_1_signup/oauth2/v2.0/authorize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, doc, body := getJSON(t, env, tt.path)
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if doc["issuer"] != tt.issuer || doc["authorization_endpoint"] != tt.endpoints {
				t.Errorf("issuer %v, authorize %v", doc["issuer"], doc["authorization_endpoint"])
			}
			// Every endpoint is in the form asked for.
			for _, k := range []string{"token_endpoint", "end_session_endpoint", "jwks_uri"} {
				v, _ := doc[k].(string)
				want := strings.Replace(tt.endpoints, "oauth2/v2.0/authorize", map[string]string{
					"token_endpoint": "oauth2/v2.0/token", "end_session_endpoint": "oauth2/v2.0/logout", "jwks_uri": "discovery/v2.0/keys"}[k], 1)
				if v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
			if hdr.Get("Cache-Control") != "max-age=86400, private" || hdr.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers %v", hdr)
			}
		})
	}

	// The whole document: B2C's fields in B2C's order.
	_, _, _, body := getJSON(t, env, "/"+domain+"/b2c_1_signupsignin/v2.0/.well-known/openid-configuration")
	want := `{"issuer":"` + issuer + `","authorization_endpoint":"` + base + `/` + domain + `/b2c_1_signupsignin/oauth2/v2.0/authorize",` +
		`"token_endpoint":"` + base + `/` + domain + `/b2c_1_signupsignin/oauth2/v2.0/token",` +
		`"end_session_endpoint":"` + base + `/` + domain + `/b2c_1_signupsignin/oauth2/v2.0/logout",` +
		`"jwks_uri":"` + base + `/` + domain + `/b2c_1_signupsignin/discovery/v2.0/keys",` +
		`"response_modes_supported":["query","fragment","form_post"],` +
		`"response_types_supported":["code","code id_token","code token","code id_token token","id_token","id_token token","token","token id_token"],` +
		`"scopes_supported":["openid"],"subject_types_supported":["pairwise"],"id_token_signing_alg_values_supported":["RS256"],` +
		`"token_endpoint_auth_methods_supported":["client_secret_post","client_secret_basic"],` +
		`"claims_supported":["oid","emails","name","given_name","family_name","newUser","extension_Team","sub","tfp","iss","iat","exp","aud","acr","nonce","auth_time"]}`
	if body != want {
		t.Errorf("document\n got %s\nwant %s", body, want)
	}
	// The legacy flow names its policy in acr, so its document has no tfp.
	_, _, doc, _ := getJSON(t, env, "/"+domain+"/b2c_1_legacy/v2.0/.well-known/openid-configuration")
	if claims := doc["claims_supported"].([]any); slices.Contains(claims, any("tfp")) {
		t.Errorf("legacy claims %v", claims)
	}

	// Keys: the tenant's, in every form, each naming the flow's issuer.
	for _, path := range []string{
		"/" + domain + "/B2C_1_SignUpSignIn/discovery/v2.0/keys",
		"/" + domain + "/discovery/v2.0/keys?p=b2c_1_signupsignin",
		"/tfp/" + tenantID + "/b2c_1_signupsignin/discovery/v2.0/keys",
	} {
		status, _, doc, body := getJSON(t, env, path)
		keys, _ := doc["keys"].([]any)
		if status != 200 || len(keys) == 0 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		if k := keys[0].(map[string]any); k["kid"] == "" || k["issuer"] != issuer || k["kty"] != "RSA" {
			t.Errorf("%s: key %v", path, k)
		}
	}
}

// TestDiscoveryErrors covers what has no metadata: unknown policies and
// tenants, and what the query form must leave to Entra's endpoints.
func TestDiscoveryErrors(t *testing.T) {
	env := startB2C(t, "")
	tests := []struct {
		name, path string
		status     int
		error      string
		desc       string
	}{
		{"unknown policy", "/" + domain + "/B2C_1_nope/v2.0/.well-known/openid-configuration", 404, "invalid_request",
			"AADB2C90022: Unable to return metadata for the policy 'b2c_1_nope' in tenant '" + domain + "'."},
		{"unknown policy, query form", "/" + domain + "/v2.0/.well-known/openid-configuration?p=B2C_1_nope", 404, "invalid_request", "AADB2C90022"},
		{"unknown policy, keys", "/tfp/" + domain + "/B2C_1_nope/discovery/v2.0/keys", 404, "invalid_request", "AADB2C90022"},
		{"unknown tenant", "/nowhere.onmicrosoft.com/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration", 400, "invalid_tenant",
			"AADSTS90002: Tenant 'nowhere.onmicrosoft.com' not found."},
		{"an Entra tenant has no user flows", "/" + e2e.Domain + "/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration", 404, "invalid_request", "AADB2C90022"},
		{"common is no B2C tenant", "/common/B2C_1_SignUpSignIn/v2.0/.well-known/openid-configuration", 400, "invalid_tenant", "AADSTS90002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, doc, body := getJSON(t, env, tt.path)
			desc, _ := doc["error_description"].(string)
			if status != tt.status || doc["error"] != tt.error || !strings.HasPrefix(desc, tt.desc) || !strings.Contains(desc, "\r\nCorrelation ID: ") {
				t.Errorf("got %d %s", status, body)
			}
		})
	}
	// ?p= on an Entra tenant is not B2C's: Entra's document answers.
	status, _, doc, _ := getJSON(t, env, "/"+e2e.Domain+"/v2.0/.well-known/openid-configuration?p=B2C_1_SignUpSignIn")
	if status != 200 || doc["issuer"] != env.Base+"/"+e2e.TenantID+"/v2.0" {
		t.Errorf("Entra tenant with ?p=: %d %v", status, doc["issuer"])
	}
	// A B2C tenant's own (Entra) document is still there without ?p=.
	status, _, doc, _ = getJSON(t, env, "/"+domain+"/v2.0/.well-known/openid-configuration")
	if status != 200 || doc["issuer"] != env.Base+"/"+tenantID+"/v2.0" {
		t.Errorf("B2C tenant without a policy: %d %v", status, doc["issuer"])
	}
}
