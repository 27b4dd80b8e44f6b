package protocol_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/protocol"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/sqlite"
)

const (
	base     = "https://login.test:8443"
	contoso  = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	fabrikam = "3f1d2c4b-5a69-4e7d-8c0b-1a2b3c4d5e6f"
	ownKeyID = "6e74172b-be56-4843-9ff4-e66a39bb12e3" // app with its own signing key
	plainID  = "2d4d11a2-f814-46a7-890a-274a72a7309e" // app without
)

type fixture struct {
	st   store.Store
	keys *keys.Manager
	h    *protocol.Handlers
	mux  *http.ServeMux
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "entrance.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mk, err := sealbox.ParseMasterKeys(sealbox.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New(mk...)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tn := range []store.Tenant{
		{ID: contoso, DisplayName: "Contoso", Type: store.TenantTypeAAD, Domains: []string{"contoso.onmicrosoft.com"}, CreatedDateTime: now},
		{ID: fabrikam, DisplayName: "Fabrikam", Type: store.TenantTypeAAD, Domains: []string{"fabrikam.onmicrosoft.com"}, CreatedDateTime: now},
	} {
		if err := st.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []store.Application{
		{ID: "11111111-1111-4111-8111-111111111111", AppID: ownKeyID, TenantID: contoso, DisplayName: "Own key", SignInAudience: store.AudienceMyOrg, UseOwnSigningKey: true, CreatedDateTime: now},
		{ID: "22222222-2222-4222-8222-222222222222", AppID: plainID, TenantID: contoso, DisplayName: "Plain", SignInAudience: store.AudienceMyOrg, CreatedDateTime: now},
	} {
		if err := st.CreateApplication(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.DiscardHandler)
	km := keys.NewManager(st, box, keys.Options{Logger: logger})
	h := protocol.New(protocol.Options{
		Store:       st,
		Keys:        km,
		URLs:        protocol.URLs{Public: base, V1IssuerBase: "https://sts.login.test"},
		HostAliases: []string{"login.alias.test", "other.test:9443"},
		Logger:      logger,
	})
	mux := http.NewServeMux()
	h.Register(mux)
	return &fixture{st: st, keys: km, h: h, mux: mux}
}

func (f *fixture) get(t *testing.T, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}

func TestDiscoveryDocuments(t *testing.T) {
	f := newFixture(t)
	tenantV2 := `{"token_endpoint":"https://login.test:8443/` + contoso + `/oauth2/v2.0/token","token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],"jwks_uri":"https://login.test:8443/` + contoso + `/discovery/v2.0/keys","response_modes_supported":["query","fragment","form_post"],"subject_types_supported":["pairwise"],"id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["code","id_token","code id_token","id_token token"],"scopes_supported":["openid","profile","email","offline_access"],"issuer":"https://login.test:8443/` + contoso + `/v2.0","request_uri_parameter_supported":false,"userinfo_endpoint":"https://login.test:8443/oidc/userinfo","authorization_endpoint":"https://login.test:8443/` + contoso + `/oauth2/v2.0/authorize","device_authorization_endpoint":"https://login.test:8443/` + contoso + `/oauth2/v2.0/devicecode","http_logout_supported":true,"frontchannel_logout_supported":true,"end_session_endpoint":"https://login.test:8443/` + contoso + `/oauth2/v2.0/logout","claims_supported":["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"],"tenant_region_scope":"WW","cloud_instance_name":"login.test","cloud_graph_host_name":"graph.windows.net","msgraph_host":"graph.microsoft.com","rbac_url":"https://pas.windows.net"}`
	commonV2 := `{"token_endpoint":"https://login.test:8443/common/oauth2/v2.0/token","token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],"jwks_uri":"https://login.test:8443/common/discovery/v2.0/keys","response_modes_supported":["query","fragment","form_post"],"subject_types_supported":["pairwise"],"id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["code","id_token","code id_token","id_token token"],"scopes_supported":["openid","profile","email","offline_access"],"issuer":"https://login.test:8443/{tenantid}/v2.0","request_uri_parameter_supported":false,"userinfo_endpoint":"https://login.test:8443/oidc/userinfo","authorization_endpoint":"https://login.test:8443/common/oauth2/v2.0/authorize","device_authorization_endpoint":"https://login.test:8443/common/oauth2/v2.0/devicecode","http_logout_supported":true,"frontchannel_logout_supported":true,"end_session_endpoint":"https://login.test:8443/common/oauth2/v2.0/logout","claims_supported":["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"],"tenant_region_scope":null,"cloud_instance_name":"login.test","cloud_graph_host_name":"graph.windows.net","msgraph_host":"graph.microsoft.com","rbac_url":"https://pas.windows.net"}`
	tenantV1 := `{"token_endpoint":"https://login.test:8443/` + contoso + `/oauth2/token","token_endpoint_auth_methods_supported":["client_secret_post","private_key_jwt","client_secret_basic"],"jwks_uri":"https://login.test:8443/` + contoso + `/discovery/keys","response_modes_supported":["query","fragment","form_post"],"subject_types_supported":["pairwise"],"id_token_signing_alg_values_supported":["RS256"],"response_types_supported":["code","id_token","code id_token","token id_token","token"],"scopes_supported":["openid"],"issuer":"https://sts.login.test/` + contoso + `/","microsoft_multi_refresh_token":true,"authorization_endpoint":"https://login.test:8443/` + contoso + `/oauth2/authorize","device_authorization_endpoint":"https://login.test:8443/` + contoso + `/oauth2/devicecode","http_logout_supported":true,"frontchannel_logout_supported":true,"end_session_endpoint":"https://login.test:8443/` + contoso + `/oauth2/logout","claims_supported":["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","amr","nonce","email","given_name","family_name","nickname"],"userinfo_endpoint":"https://login.test:8443/oidc/userinfo","tenant_region_scope":"WW","cloud_instance_name":"login.test","cloud_graph_host_name":"graph.windows.net","msgraph_host":"graph.microsoft.com","rbac_url":"https://pas.windows.net"}`

	for _, tc := range []struct {
		path string
		want string
	}{
		{"/" + contoso + "/v2.0/.well-known/openid-configuration", tenantV2},
		{"/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", tenantV2},
		{"/CONTOSO.onmicrosoft.COM/v2.0/.well-known/openid-configuration", tenantV2},
		{"/" + strings.ToUpper(contoso) + "/v2.0/.well-known/openid-configuration", tenantV2},
		{"/common/v2.0/.well-known/openid-configuration", commonV2},
		{"/Common/v2.0/.well-known/openid-configuration", commonV2},
		{"/organizations/v2.0/.well-known/openid-configuration", strings.ReplaceAll(commonV2, "/common/", "/organizations/")},
		{"/consumers/v2.0/.well-known/openid-configuration", strings.ReplaceAll(commonV2, "/common/", "/consumers/")},
		{"/" + contoso + "/.well-known/openid-configuration", tenantV1},
		{"/contoso.onmicrosoft.com/.well-known/openid-configuration", tenantV1},
		{"/" + contoso + "/v2.0/.well-known/openid-configuration?appid=" + ownKeyID,
			strings.Replace(tenantV2, "/discovery/v2.0/keys", "/discovery/v2.0/keys?appid="+ownKeyID, 1)},
		{"/" + contoso + "/.well-known/openid-configuration?appid=" + strings.ToUpper(plainID),
			strings.Replace(tenantV1, "/discovery/keys", "/discovery/keys?appid="+plainID, 1)},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for range 2 { // built, then from the cache
				rec := f.get(t, tc.path)
				if rec.Code != 200 || rec.Body.String() != tc.want {
					t.Fatalf("%d\n got %s\nwant %s", rec.Code, rec.Body, tc.want)
				}
				for k, v := range map[string]string{
					"Content-Type":                 "application/json; charset=utf-8",
					"Cache-Control":                "max-age=86400, private",
					"Access-Control-Allow-Origin":  "*",
					"Access-Control-Allow-Methods": "GET, OPTIONS",
				} {
					if got := rec.Header().Get(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		path   string
		status int
		oauth  string
		code   int
		desc   string
	}{
		{"/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration", 400, "invalid_tenant", 90002, "AADSTS90002: Tenant 'nope.onmicrosoft.com' not found."},
		{"/00000000-0000-4000-8000-000000000000/discovery/v2.0/keys", 400, "invalid_tenant", 90002, "AADSTS90002: Tenant '00000000-0000-4000-8000-000000000000' not found."},
		{"/not_a_tenant/.well-known/openid-configuration", 400, "invalid_tenant", 90002, "AADSTS90002:"},
		{"/" + contoso + "/v2.0/.well-known/openid-configuration?appid=9f1d2c4b-5a69-4e7d-8c0b-1a2b3c4d5e6f", 400, "unauthorized_client", 700016, "AADSTS700016: Application with identifier '9f1d2c4b-5a69-4e7d-8c0b-1a2b3c4d5e6f' was not found in the directory '" + contoso + "'."},
		{"/common/discovery/instance?api-version=1.1&authorization_endpoint=https://evil.test/common/oauth2/v2.0/authorize", 400, "invalid_instance", 50049, "AADSTS50049: Unknown or invalid instance."},
		{"/common/discovery/instance?api-version=1.1", 400, "invalid_request", 900144, "AADSTS900144: The request body must contain the following parameter: 'authorization_endpoint'."},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := f.get(t, tc.path)
			var body struct {
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
				ErrorCodes       []int  `json:"error_codes"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err, rec.Body)
			}
			if rec.Code != tc.status || body.Error != tc.oauth || len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != tc.code ||
				!strings.HasPrefix(body.ErrorDescription, tc.desc) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if rec.Header().Get("Cache-Control") != "no-store, no-cache" || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
}

type jwks struct {
	Keys []struct {
		Kty, Use, Kid, X5t, N, E, Issuer string
		X5c                              []string
	}
}

func (f *fixture) jwks(t *testing.T, path string) (jwks, string) {
	t.Helper()
	rec := f.get(t, path)
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	var j jwks
	if err := json.Unmarshal(rec.Body.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	return j, rec.Body.String()
}

func kidIssuers(j jwks) map[string]string {
	m := map[string]string{}
	for _, k := range j.Keys {
		m[k.Kid] = k.Issuer
	}
	return m
}

func TestKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	contosoV2, raw := f.jwks(t, "/"+contoso+"/discovery/v2.0/keys")
	if len(contosoV2.Keys) != 2 { // current and next
		t.Fatalf("contoso keys: %s", raw)
	}
	for _, k := range contosoV2.Keys {
		if k.Kty != "RSA" || k.Use != "sig" || k.Kid == "" || k.X5t != k.Kid || k.E != "AQAB" || len(k.X5c) != 1 ||
			k.Issuer != base+"/"+contoso+"/v2.0" {
			t.Errorf("entry %+v", k)
		}
	}
	if !strings.HasPrefix(raw, `{"keys":[{"kty":"RSA","use":"sig","kid":`) {
		t.Errorf("key order: %s", raw)
	}
	byDomain, raw2 := f.jwks(t, "/Contoso.onmicrosoft.com/discovery/v2.0/keys")
	if raw2 != raw {
		t.Errorf("domain form differs:\n%s\n%s", raw, raw2)
	}
	_ = byDomain

	v1, _ := f.jwks(t, "/"+contoso+"/discovery/keys")
	for _, k := range v1.Keys {
		if k.Issuer != "https://sts.login.test/"+contoso+"/" {
			t.Errorf("v1 issuer %q", k.Issuer)
		}
	}

	// The aliases publish every tenant's keys, each with its own tenant's issuer.
	fabrikamV2, _ := f.jwks(t, "/"+fabrikam+"/discovery/v2.0/keys")
	common, _ := f.jwks(t, "/common/discovery/v2.0/keys")
	want := kidIssuers(contosoV2)
	for kid, iss := range kidIssuers(fabrikamV2) {
		want[kid] = iss
	}
	got := kidIssuers(common)
	if len(got) != 4 || len(want) != 4 {
		t.Fatalf("common has %d keys, want 4", len(got))
	}
	for kid, iss := range want {
		if got[kid] != iss {
			t.Errorf("common: kid %s issuer %q, want %q", kid, got[kid], iss)
		}
	}

	// ?appid= of an app with its own key: that key set; of another app: the tenant's.
	own, _ := f.jwks(t, "/"+contoso+"/discovery/v2.0/keys?appid="+ownKeyID)
	plain, _ := f.jwks(t, "/"+contoso+"/discovery/v2.0/keys?appid="+plainID)
	if len(own.Keys) != 2 || own.Keys[0].Kid == contosoV2.Keys[0].Kid || own.Keys[0].Issuer != base+"/"+contoso+"/v2.0" {
		t.Errorf("own key set %+v", own)
	}
	if plain.Keys[0].Kid != contosoV2.Keys[0].Kid {
		t.Errorf("plain app should get the tenant's keys")
	}
	sk, err := f.keys.SigningKey(ctx, contoso, ownKeyID)
	if err != nil || sk.KID() != own.Keys[0].Kid {
		t.Errorf("signing kid %v, published first %s", err, own.Keys[0].Kid)
	}

	// Served from memory until invalidated.
	if err := f.keys.Rotate(ctx, contoso, ""); err != nil {
		t.Fatal(err)
	}
	if _, again := f.jwks(t, "/"+contoso+"/discovery/v2.0/keys"); again != raw {
		t.Error("document rebuilt without invalidation")
	}
	f.h.Invalidate()
	rotated, _ := f.jwks(t, "/"+contoso+"/discovery/v2.0/keys")
	if len(rotated.Keys) != 3 || rotated.Keys[0].Kid != contosoV2.Keys[1].Kid {
		t.Errorf("after rotation: next must become current and a previous stay published: %+v", rotated.Keys)
	}
}

// Watch notices writes made behind the handlers' back (another replica).
func TestWatchInvalidates(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, before := f.jwks(t, "/"+fabrikam+"/discovery/v2.0/keys")
	done := make(chan struct{})
	go func() { f.h.Watch(ctx, 20*time.Millisecond); close(done) }()
	time.Sleep(50 * time.Millisecond) // let Watch read the starting version
	if err := f.keys.Rotate(ctx, fabrikam, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, now := f.jwks(t, "/"+fabrikam+"/discovery/v2.0/keys"); now != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("JWKS not rebuilt after the store changed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestInstanceDiscovery(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ endpoint, tenant string }{
		{"https://login.test:8443/common/oauth2/v2.0/authorize", "common"},
		{"https://LOGIN.test:8443/" + contoso + "/oauth2/v2.0/authorize", contoso},
		{"https://login.alias.test/contoso.onmicrosoft.com/oauth2/v2.0/authorize", "contoso.onmicrosoft.com"},
		{"https://login.alias.test:443/organizations/oauth2/v2.0/authorize", "organizations"},
		{"https://other.test:9443/common/oauth2/authorize", "common"},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			rec := f.get(t, "/common/discovery/instance?api-version=1.1&authorization_endpoint="+tc.endpoint)
			want := `{"tenant_discovery_endpoint":"https://login.test:8443/` + tc.tenant + `/v2.0/.well-known/openid-configuration","api-version":"1.1","metadata":[{"preferred_network":"login.test:8443","preferred_cache":"login.test:8443","aliases":["login.test:8443","login.alias.test","other.test:9443"]}]}`
			if rec.Code != 200 || rec.Body.String() != want {
				t.Fatalf("%d\n got %s\nwant %s", rec.Code, rec.Body, want)
			}
			if rec.Header().Get("Cache-Control") != "max-age=86400, private" {
				t.Errorf("headers %v", rec.Header())
			}
		})
	}
	for _, endpoint := range []string{
		"https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
		"https://login.test:9999/common/oauth2/v2.0/authorize",
		"https://other.test/common/oauth2/v2.0/authorize", // alias registered with another port
		"not%20a%20url",
	} {
		if rec := f.get(t, "/common/discovery/instance?authorization_endpoint="+endpoint); rec.Code != 400 ||
			!strings.Contains(rec.Body.String(), `"error":"invalid_instance"`) {
			t.Errorf("%s: %d %s", endpoint, rec.Code, rec.Body)
		}
	}
}

func TestPreflight(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, httptest.NewRequest("OPTIONS", "/common/v2.0/.well-known/openid-configuration", nil))
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	if b, _ := io.ReadAll(rec.Body); len(b) != 0 {
		t.Fatalf("body %q", b)
	}
}

// discardWriter is a minimal ResponseWriter, so the benchmark measures the
// handler, not httptest's recorder.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

func BenchmarkCachedDocuments(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	for _, path := range []string{
		"/" + contoso + "/v2.0/.well-known/openid-configuration",
		"/" + contoso + "/discovery/v2.0/keys",
		"/common/discovery/v2.0/keys",
	} {
		b.Run(path, func(b *testing.B) {
			r := httptest.NewRequest("GET", path, nil)
			f.mux.ServeHTTP(httptest.NewRecorder(), r) // build once
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					f.mux.ServeHTTP(w, r)
				}
			})
		})
	}
}

func TestErrorPage(t *testing.T) {
	f := newFixture(t)
	rec := f.get(t, "/error?code=90002")
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "AADSTS90002  error=invalid_tenant  HTTP 400\n\nTenant '…' not found.") ||
		!strings.Contains(rec.Body.String(), "How to fix it: ") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	for _, q := range []string{"/error", "/error?code=1", "/error?code=%3Cscript%3E"} {
		if rec := f.get(t, q); rec.Code != 404 || strings.Contains(rec.Body.String(), "<") {
			t.Errorf("%s: %d %s", q, rec.Code, rec.Body)
		}
	}
}
