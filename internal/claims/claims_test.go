package claims

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// counter is a deterministic randomness source for golden files.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

const (
	tenantID   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	homeTenant = "fa15d692-e9c7-4460-a743-29f2956fd429"
)

var (
	now    = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	pwKey  = []byte("0123456789abcdef0123456789abcdef")
	member = store.User{
		ID: "690222be-ff1a-4d56-abd1-7e4f7d38e474", TenantID: tenantID, UserPrincipalName: "abeli@contoso.com",
		DisplayName: "Abe Lincoln", GivenName: "Abe", Surname: "Lincoln", Mail: "abe.lincoln@contoso.com",
		AccountEnabled: true, UserType: store.UserTypeMember,
	}
	guest = store.User{
		ID: "02223b6b-aa1d-42d4-9ec0-1b2bb9194438", TenantID: tenantID,
		UserPrincipalName: "abeli_fabrikam.com#EXT#@contoso.onmicrosoft.com", DisplayName: "abeli",
		GivenName: "Abe (MSFT)", Surname: "Lincoln", Mail: "AbeLi@fabrikam.com", AccountEnabled: true,
		UserType: store.UserTypeGuest, HomeTenantID: homeTenant, HomeUserID: "05833b6b-aa1d-42d4-9ec0-1b2bb9194438",
	}
	webApp = store.Application{AppID: "6e74172b-be56-4843-9ff4-e66a39bb12e3", TenantID: tenantID, DisplayName: "Web"}
	v2     = 2
	apiV2  = store.Application{AppID: "ef1da9d4-ff77-4c3e-a005-840c3f830745", TenantID: tenantID, DisplayName: "Tasks API",
		IdentifierURIs: []string{"api://tasks"}, API: store.APIApplication{RequestedAccessTokenVersion: &v2}}
	apiV1 = store.Application{AppID: "75dbe77f-10a3-4e59-85fd-8c127544f17c", TenantID: tenantID, DisplayName: "Legacy API",
		IdentifierURIs: []string{"https://legacy.contoso.com"}}
)

// base is a user sign-in through webApp with a code, like the token
// endpoint's authorization_code grant.
func base(u store.User) Input {
	return Input{
		Now: now, Lifetime: time.Hour, TenantID: tenantID, User: &u,
		Client: webApp, ClientAuth: ClientAuthSecret,
		RequestScopes: []string{"openid", "profile", "email", "offline_access"},
		Nonce:         "678910", AuthTime: now.Add(-time.Minute), AuthMethods: []string{"pwd"},
		SessionID: SessionSID("session-record"), IPAddress: "203.0.113.7",
		GroupsEndpoint: "https://login.example/v1.0/users/" + u.ID + "/getMemberObjects",
		PairwiseKey:    pwKey, Rand: &counter{},
	}
}

func guestInput() Input {
	in := base(guest)
	in.HomeIssuer = "https://sts.windows.net/" + homeTenant + "/"
	return in
}

func TestGolden(t *testing.T) {
	issV1 := "https://sts.windows.net/" + tenantID + "/"
	issV2 := "https://login.example/" + tenantID + "/v2.0"
	manyGroups := make([]string, 201)
	for i := range manyGroups {
		manyGroups[i] = strings.Replace("00000000-0000-4000-8000-000000000000", "0000", string(rune('a'+i%26))+"abc", 1)
	}
	tests := []struct {
		name string
		make func() any
	}{
		{"id_v2", func() any {
			in := base(member)
			in.Issuer, in.Code = issV2, "0.AXoA-authorization-code"
			in.Roles, in.Groups = []string{"Admin"}, []string{"c5a0d2c4-22b5-4b1a-9b9a-1c0a3bb4a6f1"}
			return BuildIDTokenV2(in)
		}},
		{"id_v2_openid_only", func() any {
			in := base(member)
			in.Issuer, in.RequestScopes, in.Nonce, in.SessionID = issV2, []string{"openid"}, "", ""
			return BuildIDTokenV2(in)
		}},
		{"id_v2_optional_claims", func() any {
			in := guestInput()
			in.Issuer, in.Country, in.AccessToken = issV2, "FR", "eyJ0eXAiOiJKV1QifQ.e30.sig"
			in.Client.OptionalClaims.IDToken = []store.OptionalClaim{{Name: "family_name"}, {Name: "given_name"},
				{Name: "login_hint"}, {Name: "auth_time"}, {Name: "ctry"}, {Name: "ipaddr"}, {Name: "acct"},
				{Name: "upn", AdditionalProperties: []string{"include_externally_authenticated_upn"}}}
			return BuildIDTokenV2(in)
		}},
		{"id_v1", func() any {
			in := base(member)
			in.Issuer = issV1
			return BuildIDTokenV1(in)
		}},
		{"id_v1_guest", func() any {
			in := guestInput()
			in.Issuer = issV1
			return BuildIDTokenV1(in)
		}},
		{"access_v2", func() any {
			in := base(member)
			in.Issuer, in.Resource, in.Scopes, in.Lifetime = issV2, apiV2, []string{"access_as_user"}, 75*time.Minute
			return BuildAccessTokenV2(in)
		}},
		{"access_v2_guest_optional", func() any {
			in := guestInput()
			in.Issuer, in.Resource, in.Scopes = issV2, apiV2, []string{"access_as_user", "Tasks.Write"}
			in.Resource.OptionalClaims.AccessToken = []store.OptionalClaim{{Name: "idtyp", AdditionalProperties: []string{"include_user_token"}},
				{Name: "sid"}, {Name: "ipaddr"}, {Name: "family_name"}, {Name: "given_name"}, {Name: "email"}}
			in.Roles, in.WIDs = []string{"Tasks.Admin"}, []string{"62e90394-69f5-4237-9190-012177145e10"}
			return BuildAccessTokenV2(in)
		}},
		{"access_v1", func() any {
			in := base(member)
			in.Issuer, in.Resource, in.Audience, in.Scopes = issV1, apiV1, "https://legacy.contoso.com", []string{"user_impersonation"}
			in.Groups = []string{"c5a0d2c4-22b5-4b1a-9b9a-1c0a3bb4a6f1", "0ad1c0c5-5d2e-4d8f-8a5c-3f8b6c2e1d00"}
			return BuildAccessTokenV1(in)
		}},
		{"access_v1_guest_overage", func() any {
			in := guestInput()
			in.Issuer, in.Resource, in.Audience, in.Scopes = issV1, apiV1, apiV1.AppID, []string{"user_impersonation"}
			in.Groups = manyGroups
			return BuildAccessTokenV1(in)
		}},
		{"access_v1_app", func() any {
			in := base(member)
			in.User, in.Issuer, in.Resource, in.Audience = nil, issV1, apiV1, "https://legacy.contoso.com"
			in.ClientServicePrincipalID, in.Roles = "db6e89f9-db16-4252-9429-c4d5e48adabd", []string{"Legacy.Read.All"}
			in.ClientAuth = ClientAuthCertificate
			return BuildAccessTokenV1(in)
		}},
		{"access_v2_app", func() any {
			in := base(member)
			in.User, in.Issuer, in.Resource = nil, issV2, apiV2
			in.Resource.OptionalClaims.AccessToken = []store.OptionalClaim{{Name: "idtyp"}}
			in.ClientServicePrincipalID, in.Roles = "db6e89f9-db16-4252-9429-c4d5e48adabd", []string{"Tasks.Read.All"}
			return BuildAccessTokenV2(in)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.make())
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("claims differ from %s\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
}

// TestKeyOrder checks every token struct against Entra's order: aud, iss,
// iat, nbf, exp, then the other claims in ASCII order.
func TestKeyOrder(t *testing.T) {
	for _, v := range []any{IDTokenV1{}, IDTokenV2{}, AccessTokenV1{}, AccessTokenV2{}} {
		typ := reflect.TypeOf(v)
		var names []string
		for i := range typ.NumField() {
			names = append(names, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
		}
		if got := strings.Join(names[:5], ","); got != "aud,iss,iat,nbf,exp" {
			t.Errorf("%s starts %s", typ.Name(), got)
		}
		for i := 6; i < len(names); i++ {
			if names[i-1] >= names[i] {
				t.Errorf("%s: %q before %q", typ.Name(), names[i-1], names[i])
			}
		}
	}
}

func keys(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAbsentValuesOmitted: a claim is present only when it has a value.
func TestAbsentValuesOmitted(t *testing.T) {
	bare := store.User{ID: member.ID, TenantID: tenantID, UserPrincipalName: member.UserPrincipalName, UserType: store.UserTypeMember}
	tests := []struct {
		name   string
		tok    func(in Input) any
		edit   func(in *Input)
		absent []string
	}{
		{"id v2 bare user", func(in Input) any { return BuildIDTokenV2(in) }, func(in *Input) {
			in.User, in.Nonce, in.SessionID = &bare, "", ""
		}, []string{"name", "nonce", "sid", "email", "given_name", "family_name", "groups", "roles", "wids", "idp", "at_hash", "c_hash", "auth_time", "login_hint", "_claim_names", "hasgroups", "upn", "ipaddr"}},
		{"id v2 no email scope", func(in Input) any { return BuildIDTokenV2(in) }, func(in *Input) {
			in.RequestScopes = []string{"openid", "profile"}
		}, []string{"email"}},
		{"id v1 bare user", func(in Input) any { return BuildIDTokenV1(in) }, func(in *Input) {
			in.User, in.IPAddress, in.AuthMethods = &bare, "", nil
		}, []string{"name", "given_name", "family_name", "ipaddr", "amr", "email", "preferred_username", "idp"}},
		{"access v1 member", func(in Input) any { return BuildAccessTokenV1(in) }, func(in *Input) {
			in.Resource, in.IPAddress = apiV1, ""
		}, []string{"idp", "email", "ipaddr", "scp", "roles", "sid", "idtyp", "preferred_username", "auth_time", "ctry", "acct"}},
		{"access v1 guest has no upn", func(in Input) any { return BuildAccessTokenV1(in) }, func(in *Input) {
			in.User, in.Resource = &guest, apiV1
		}, []string{"upn"}},
		{"access v2 member", func(in Input) any { return BuildAccessTokenV2(in) }, func(in *Input) {
			in.Resource = apiV2
		}, []string{"amr", "acr", "family_name", "given_name", "ipaddr", "upn", "unique_name", "email", "idp", "sid"}},
		{"access v2 app-only", func(in Input) any { return BuildAccessTokenV2(in) }, func(in *Input) {
			in.User, in.Resource, in.Scopes = nil, apiV2, []string{"ignored"}
		}, []string{"scp", "name", "preferred_username", "idtyp", "idp", "email", "sid", "groups"}},
		{"implicit overage", func(in Input) any { return BuildIDTokenV2(in) }, func(in *Input) {
			in.Groups, in.GroupLimit, in.Implicit = []string{"a", "b", "c", "d", "e", "f"}, ImplicitGroupLimit, true
		}, []string{"groups", "_claim_names", "_claim_sources"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base(member)
			tt.edit(&in)
			m := keys(t, tt.tok(in))
			for _, k := range tt.absent {
				if v, ok := m[k]; ok {
					t.Errorf("%s = %v, want absent", k, v)
				}
			}
			for _, k := range []string{"aud", "iss", "iat", "nbf", "exp", "sub", "ver", "tid", "uti", "rh", "aio"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s missing", k)
				}
			}
		})
	}
}

func TestGroupLimits(t *testing.T) {
	groups := func(n int) []string { return make([]string, n) }
	for _, tt := range []struct {
		n        int
		implicit bool
		want     string // groups | hasgroups | _claim_names
	}{
		{200, false, "groups"}, {201, false, "_claim_names"},
		{5, true, "groups"}, {6, true, "hasgroups"},
	} {
		in := base(member)
		in.Groups, in.Implicit = groups(tt.n), tt.implicit
		if tt.implicit {
			in.GroupLimit = ImplicitGroupLimit
		}
		m := keys(t, BuildIDTokenV2(in))
		if _, ok := m[tt.want]; !ok {
			t.Errorf("%d groups (implicit %v): no %s in %v", tt.n, tt.implicit, tt.want, m)
		}
	}
}

func TestTimes(t *testing.T) {
	in := base(member)
	in.Resource, in.Lifetime = apiV2, 4000*time.Second
	tok := BuildAccessTokenV2(in)
	if tok.Iat != now.Unix()-300 || tok.Nbf != tok.Iat || tok.Exp != now.Unix()+4000 {
		t.Errorf("iat %d nbf %d exp %d, now %d", tok.Iat, tok.Nbf, tok.Exp, now.Unix())
	}
	in.Lifetime = 0
	if got := BuildIDTokenV1(in).Exp - now.Unix(); got != 3600 {
		t.Errorf("default ID token lifetime %ds", got)
	}
	if got := BuildAccessTokenV1(in).Exp - now.Unix(); got != 3600 {
		t.Errorf("default access token lifetime %ds", got)
	}
}

func TestAudience(t *testing.T) {
	in := base(member)
	in.Resource, in.Audience = apiV1, "https://legacy.contoso.com"
	if got := BuildAccessTokenV1(in).Aud; got != "https://legacy.contoso.com" {
		t.Errorf("v1 aud %q, want the identifier the client used", got)
	}
	in.Resource.OptionalClaims.AccessToken = []store.OptionalClaim{{Name: "aud", AdditionalProperties: []string{"use_guid"}}}
	if got := BuildAccessTokenV1(in).Aud; got != apiV1.AppID {
		t.Errorf("v1 aud with use_guid %q", got)
	}
	in.Resource, in.Audience = apiV2, "api://tasks"
	if got := BuildAccessTokenV2(in).Aud; got != apiV2.AppID {
		t.Errorf("v2 aud %q, want the resource GUID", got)
	}
	if got := BuildIDTokenV2(in).Aud; got != webApp.AppID {
		t.Errorf("ID token aud %q", got)
	}
}

func TestPairwiseSubject(t *testing.T) {
	a := PairwiseSubject(pwKey, tenantID, webApp.AppID, member.ID)
	if len(a) != 43 || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(a) {
		t.Fatalf("sub %q is not 43 base64url characters", a)
	}
	if b := PairwiseSubject(pwKey, strings.ToUpper(tenantID), strings.ToUpper(webApp.AppID), member.ID); b != a {
		t.Errorf("GUID case changes sub: %q vs %q", a, b)
	}
	for name, other := range map[string]string{
		"other app":    PairwiseSubject(pwKey, tenantID, apiV2.AppID, member.ID),
		"other tenant": PairwiseSubject(pwKey, homeTenant, webApp.AppID, member.ID),
		"other user":   PairwiseSubject(pwKey, tenantID, webApp.AppID, guest.ID),
		"other key":    PairwiseSubject([]byte("another key"), tenantID, webApp.AppID, member.ID),
	} {
		if other == a {
			t.Errorf("%s gives the same sub", name)
		}
	}
	// The ID token's sub is per client; the access token's per resource.
	in := base(member)
	in.Resource = apiV2
	if BuildIDTokenV2(in).Sub != a || BuildAccessTokenV2(in).Sub != PairwiseSubject(pwKey, tenantID, apiV2.AppID, member.ID) {
		t.Error("token sub is not the pairwise subject")
	}
}

func TestHalfHash(t *testing.T) {
	// The c_hash is OpenID Connect Core's example (appendix A.4); the
	// at_hash was computed independently (Python hashlib).
	if got := HalfHash("jHkWEdUXMU1BwAsC4vtUsZwnNcl8E8VQsFmSbQCvJBM"); got != "7axI8seYxHLNqKt3EsZ3Mw" {
		t.Errorf("at_hash %q", got)
	}
	if got := HalfHash("Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"); got != "LDktKdoQak3Pk0cnXxCltA" {
		t.Errorf("c_hash %q", got)
	}
}

func TestClientInfo(t *testing.T) {
	raw, err := base64.RawURLEncoding.DecodeString(ClientInfoFor(guest))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"uid":"` + guest.HomeUserID + `","utid":"` + homeTenant + `"}`; string(raw) != want {
		t.Errorf("client_info %s, want %s", raw, want)
	}
	raw, _ = base64.RawURLEncoding.DecodeString(ClientInfoFor(member))
	if want := `{"uid":"` + member.ID + `","utid":"` + tenantID + `"}`; string(raw) != want {
		t.Errorf("client_info %s, want %s", raw, want)
	}
}

func TestOpaqueShapes(t *testing.T) {
	for name, tt := range map[string]struct{ v, re string }{
		"uti":      {newUTI(nil), `^[A-Za-z0-9_-]{20}[AQgw]A$`},
		"aio user": {newAIO(nil, false), `^AXQAi/8IAAAA[A-Za-z0-9+/]{64}$`},
		"aio app":  {newAIO(nil, true), `^[A-Za-z0-9+/]{28}AA==$`},
		"rh":       {RH(tenantID, webApp.AppID), `^0\.A[A-Za-z0-9_-]{50}\.$`},
		"sid":      {SessionSID("x"), `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`},
		"hint":     {LoginHint(member.ID, tenantID, member.UserPrincipalName), `^O\.CiQ[A-Za-z0-9+/]+=*$`},
	} {
		if !regexp.MustCompile(tt.re).MatchString(tt.v) {
			t.Errorf("%s %q does not match %s", name, tt.v, tt.re)
		}
	}
	// rh carries the tenant and app GUIDs as Entra's does: a real token's
	// rh for tenant 61f237bd-… and client 9e7de22e-… decodes the same way.
	real := "0.ARsAvTfyYY-hL0yHRvj8q-6HVi7ifZ4XOv1Eh8fG7Osb7g4bAE4."
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Trim(real[2:], "."))
	if !bytes.Equal(raw[3:19], guidBytesLE("61f237bd-a18f-4c2f-8746-f8fcabee8756")) || !bytes.Equal(raw[19:35], guidBytesLE("9e7de22e-3a17-44fd-87c7-c6eceb1bee0e")) {
		t.Error("guidBytesLE does not match Entra's layout")
	}
	if SessionSID("a") == SessionSID("b") || SessionSID("a") != SessionSID("a") || SessionSID("") != "" {
		t.Error("SessionSID is not a stable function of the session")
	}
}

func TestLoginHintRoundTrip(t *testing.T) {
	oid, tid, user, ok := ParseLoginHint(LoginHint(guest.HomeUserID, homeTenant, "abeli@fabrikam.com"))
	if !ok || oid != guest.HomeUserID || tid != homeTenant || user != "abeli@fabrikam.com" {
		t.Errorf("ParseLoginHint = %q %q %q %v", oid, tid, user, ok)
	}
	for _, bad := range []string{"", "abeli@fabrikam.com", "O.!!", "O.CiQ=", "X." + LoginHint("a", "b", "c")[2:]} {
		if _, _, _, ok := ParseLoginHint(bad); ok {
			t.Errorf("ParseLoginHint(%q) accepted", bad)
		}
	}
}

func TestUsername(t *testing.T) {
	for _, tt := range []struct {
		u    store.User
		want string
	}{
		{member, "abeli@contoso.com"},
		{guest, "abeli@fabrikam.com"},
		{store.User{UserType: store.UserTypeGuest, UserPrincipalName: "first_last_x.org#EXT#@c.onmicrosoft.com"}, "first_last@x.org"},
		{store.User{UserType: store.UserTypeGuest, UserPrincipalName: "odd@c.com", Mail: "m@x.org"}, "m@x.org"},
	} {
		if got := Username(tt.u); got != tt.want {
			t.Errorf("Username(%s) = %q, want %q", tt.u.UserPrincipalName, got, tt.want)
		}
	}
}

func TestAccessTokenLifetime(t *testing.T) {
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		d := AccessTokenLifetime(nil, 0, 0)
		if d < 60*time.Minute || d > 90*time.Minute || d%time.Second != 0 {
			t.Fatalf("lifetime %v outside [60m, 90m] or not whole seconds", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct lifetimes in 200 draws", len(seen))
	}
	zeros := bytes.NewReader(make([]byte, 8))
	if d := AccessTokenLifetime(zeros, 10*time.Minute, 20*time.Minute); d != 10*time.Minute {
		t.Errorf("zero randomness gives %v, want the minimum", d)
	}
	if d := AccessTokenLifetime(nil, time.Hour, time.Minute); d != time.Hour {
		t.Errorf("max below min gives %v", d)
	}
}

func TestVersions(t *testing.T) {
	if !IncludeX5T(V1) || IncludeX5T(V2) {
		t.Error("IncludeX5T")
	}
	if AccessTokenVersion(apiV1) != V1 || AccessTokenVersion(apiV2) != V2 {
		t.Error("AccessTokenVersion")
	}
	if _, ok := IDToken(V1, base(member)).(IDTokenV1); !ok {
		t.Error("IDToken(V1)")
	}
	if _, ok := AccessToken(V2, base(member)).(AccessTokenV2); !ok {
		t.Error("AccessToken(V2)")
	}
}
