package directory

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func TestIsAlias(t *testing.T) {
	for seg, want := range map[string]bool{
		"common": true, "Organizations": true, "CONSUMERS": true,
		"contoso.onmicrosoft.com": false, "": false, ConsumersTenantID: false,
	} {
		if got := IsAlias(seg); got != want {
			t.Errorf("IsAlias(%q) = %v, want %v", seg, got, want)
		}
	}
}

func TestIsDomainName(t *testing.T) {
	for d, want := range map[string]bool{
		"contoso.onmicrosoft.com": true, "a-b.example": true, "Contoso.COM": true,
		"localhost": false, "-a.com": false, "a-.com": false, "a..com": false, "1.2.3.4": false,
		"a_b.com": false, "": false, strings.Repeat("a", 64) + ".com": false,
	} {
		if got := IsDomainName(d); got != want {
			t.Errorf("IsDomainName(%q) = %v, want %v", d, got, want)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		pw   string
		want string // "" = valid
	}{
		{"Correct-Horse-9", ""},
		{"abcDEF12", ""},
		{"abc def 1", ""}, // lower, digit, symbol (space)
		{"Ab1!", "at least 8"},
		{"abcdefgh1", "three of"},
		{"ABCDEFGH", "three of"},
		{"Pässwort-12", "ASCII"},
		{strings.Repeat("aA1", 86), "at most 256"},
	}
	for _, tt := range tests {
		err := ValidatePassword(tt.pw)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ValidatePassword(%q) = %v, want %q", tt.pw, err, tt.want)
		}
	}
}

func TestValidateRedirectURI(t *testing.T) {
	tests := []struct {
		p        Platform
		uri      string
		audience string
		want     string // "" = valid
	}{
		{PlatformWeb, "https://contoso.com/cb", "", ""},
		{PlatformWeb, "http://localhost:3000/api/auth/callback/microsoft-entra-id", "", ""},
		{PlatformWeb, "http://LOCALHOST/cb", "", ""},
		{PlatformWeb, "http://127.0.0.1:5000/cb", "", ""},
		{PlatformWeb, "https://localhost", "", ""},
		{PlatformWeb, "https://contoso.com/cb?x=1", store.AudienceMyOrg, ""},
		{PlatformSPA, "https://app.contoso.com", "", ""},
		{PlatformPublicClient, "msal6e74172b-be56-4843-9ff4-e66a39bb12e3://auth", "", ""},
		{PlatformPublicClient, "urn:ietf:wg:oauth:2.0:oob", "", ""},
		{PlatformPublicClient, "http://localhost", "", ""},
		{PlatformWeb, "http://x.com/cb", "", "must use https (http is allowed only for localhost)"},
		{PlatformPublicClient, "http://x.com/cb", "", "must use https"},
		{PlatformWeb, "https://contoso.com/cb#frag", "", "fragment"},
		{PlatformWeb, "https://*.contoso.com/cb", "", "wildcard"},
		{PlatformWeb, "https://contoso.com/a(b)", "", "not supported"},
		{PlatformWeb, "/relative/cb", "", "absolute"},
		{PlatformWeb, "https:///cb", "", "no host"},
		{PlatformWeb, "myapp://auth", "", "custom schemes"},
		{PlatformSPA, "myapp://auth", "", "custom schemes"},
		{PlatformWeb, "http://[::1]:8080/cb", "", "[::1]"},
		{PlatformWeb, "https://contoso.com/cb?x=1", store.AudienceMultipleOrgsAndPersonal, "query string"},
		{PlatformWeb, "https://contoso.com/" + strings.Repeat("a", 240), "", "at most 256"},
		{PlatformWeb, "", "", "empty"},
	}
	for _, tt := range tests {
		err := ValidateRedirectURI(tt.p, tt.uri, tt.audience)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ValidateRedirectURI(%s, %q) = %v, want %q", tt.p, tt.uri, err, tt.want)
		}
	}
}

var contoso = store.Tenant{ID: "8eaef023-2b34-4da1-9baa-8bc8c9d6a490", DisplayName: "Contoso", Type: store.TenantTypeAAD, Domains: []string{"contoso.onmicrosoft.com", "contoso.com"}}

func TestValidateTenant(t *testing.T) {
	if err := ValidateTenant(contoso); err != nil {
		t.Fatal(err)
	}
	bad := store.Tenant{ID: "x", Type: "ad", Domains: []string{"ok.com", "OK.com", "bad"}}
	err := ValidateTenant(bad)
	for _, want := range []string{"id: ", "displayName: is required", "type: ", "domains[1]: \"OK.com\" is listed twice", "domains[2]: \"bad\" is not a valid DNS name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateTenant: %v, want %q", err, want)
		}
	}
	if err := ValidateTenant(store.Tenant{ID: contoso.ID, DisplayName: "x", Type: "b2c"}); err == nil || !strings.Contains(err.Error(), "at least one domain") {
		t.Errorf("no domains: %v", err)
	}
}

func TestValidateUser(t *testing.T) {
	now := time.Now()
	ok := NewUser(contoso.ID, "abeli@contoso.com", "Abe", now)
	if err := ValidateUser(ok, contoso); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		edit func(*store.User)
		want string
	}{
		{func(u *store.User) { u.UserPrincipalName = "abeli@fabrikam.com" }, `userPrincipalName: "abeli@fabrikam.com": domain "fabrikam.com" is not a domain of tenant`},
		{func(u *store.User) { u.UserPrincipalName = "abeli" }, "not of the form user@domain"},
		{func(u *store.User) { u.UserPrincipalName = "a..b@contoso.com" }, "user name may use"},
		{func(u *store.User) { u.UserPrincipalName = "a b@contoso.com" }, "not of the form"},
		{func(u *store.User) { u.UserType = "Admin" }, "userType: "},
		{func(u *store.User) { u.Mail = "nope" }, "mail: "},
		{func(u *store.User) { u.UserType = store.UserTypeGuest }, "a Guest needs its home tenant"},
	}
	for _, tt := range tests {
		u := ok
		tt.edit(&u)
		if err := ValidateUser(u, contoso); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v, want %q", err, tt.want)
		}
	}
	fabrikam := store.Tenant{ID: "11111111-2222-4333-8444-555555555555", DisplayName: "Fabrikam", Type: "aad", Domains: []string{"fabrikam.com", "fabrikam.onmicrosoft.com"}}
	home := ok
	home.UserPrincipalName = "abeli@contoso.onmicrosoft.com"
	g := NewGuest(fabrikam, home, now)
	if g.UserPrincipalName != "abeli_contoso.onmicrosoft.com#EXT#@fabrikam.onmicrosoft.com" {
		t.Errorf("guest UPN %q", g.UserPrincipalName)
	}
	if err := ValidateUser(g, fabrikam); err != nil {
		t.Errorf("guest: %v", err)
	}
	if err := SetPassword(&g, "Correct-Horse-9", now); err == nil {
		t.Error("guest got a password")
	}
}

func TestSetPassword(t *testing.T) {
	u := NewUser(contoso.ID, "abeli@contoso.com", "Abe", time.Now())
	if err := SetPassword(&u, "short", time.Now()); err == nil {
		t.Fatal("short password accepted")
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := SetPassword(&u, "Correct-Horse-9", now); err != nil {
		t.Fatal(err)
	}
	if ok, err := secrets.VerifyPassword(u.PasswordHash, "Correct-Horse-9"); !ok || err != nil {
		t.Errorf("hash does not verify: %v %v", ok, err)
	}
	if !u.LastPasswordChangeDateTime.Equal(now) {
		t.Errorf("change time %v", u.LastPasswordChangeDateTime)
	}
}

func TestValidateGroup(t *testing.T) {
	g := NewGroup(contoso.ID, "Engineering", time.Now())
	u := NewUser(contoso.ID, "a@contoso.com", "", time.Now())
	g.Members = []store.DirectoryObjectRef{{ID: u.ID, Type: store.MemberTypeUser}, {ID: u.ID, Type: store.MemberTypeUser}, {ID: g.ID, Type: store.MemberTypeGroup}, {ID: "x", Type: "device"}}
	err := ValidateGroup(g)
	for _, want := range []string{"members[1]: is listed twice", "members[2]: a group cannot be a member of itself", "members[3]: member type"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateGroup: %v, want %q", err, want)
		}
	}
}

func testApp() store.Application {
	a := NewApplication(contoso.ID, "Tasks API", time.Now())
	v := 2
	a.API.RequestedAccessTokenVersion = &v
	a.IdentifierURIs = []string{"api://tasks", "https://contoso.com/tasks", "https://api.contoso.onmicrosoft.com"}
	a.API.OAuth2PermissionScopes = []store.PermissionScope{NewPermissionScope("access_as_user")}
	a.AppRoles = []store.AppRole{NewAppRole("Tasks.Read.All", AllowedMemberApplication)}
	a.Web.RedirectURIs = []string{"https://contoso.com/cb"}
	a.GroupMembershipClaims = "SecurityGroup, DirectoryRole"
	return a
}

func TestValidateApplication(t *testing.T) {
	if err := ValidateApplication(testApp(), contoso); err != nil {
		t.Fatal(err)
	}
	v3 := 3
	tests := []struct {
		edit func(*store.Application)
		want string
	}{
		{func(a *store.Application) { a.AppID = "nope" }, `appId: "nope" is not a GUID`},
		{func(a *store.Application) { a.SignInAudience = "Everyone" }, "signInAudience: "},
		{func(a *store.Application) { a.Web.RedirectURIs = []string{"http://x.com/cb"} }, `web.redirectUris[0]: "http://x.com/cb" must use https (http is allowed only for localhost)`},
		{func(a *store.Application) { a.SPA.RedirectURIs = []string{"https://contoso.com/cb"} }, "spa.redirectUris[0]: \"https://contoso.com/cb\" is already registered at web.redirectUris[0]"},
		{func(a *store.Application) { a.Web.LogoutURL = "http://contoso.com/logout" }, "web.logoutUrl: "},
		{func(a *store.Application) { a.IdentifierURIs = []string{"https://fabrikam.com/api"} }, "identifierUris[0]: \"https://fabrikam.com/api\": an http(s) identifier URI must use a verified domain"},
		{func(a *store.Application) { a.IdentifierURIs = []string{"api://x#y"} }, "identifierUris[0]: "},
		{func(a *store.Application) { a.IdentifierURIs = []string{"tasks"} }, "not an absolute URI"},
		{func(a *store.Application) { a.API.RequestedAccessTokenVersion = &v3 }, "api.requestedAccessTokenVersion: 3 is not 1 or 2"},
		{func(a *store.Application) {
			a.SignInAudience = store.AudienceMultipleOrgsAndPersonal
			a.API.RequestedAccessTokenVersion = nil
		}, "api.requestedAccessTokenVersion: must be 2"},
		{func(a *store.Application) { a.AppRoles[0].ID = a.API.OAuth2PermissionScopes[0].ID }, "appRoles[0].id: "},
		{func(a *store.Application) {
			a.AppRoles = append(a.AppRoles, NewAppRole("Tasks.Read.All", AllowedMemberUser))
		}, "appRoles[1].value: \"Tasks.Read.All\" is already used by appRoles[0]"},
		{func(a *store.Application) { a.AppRoles[0].AllowedMemberTypes = []string{"Robot"} }, "appRoles[0].allowedMemberTypes[0]: "},
		{func(a *store.Application) { a.API.OAuth2PermissionScopes[0].Value = "has space" }, "api.oauth2PermissionScopes[0].value: "},
		{func(a *store.Application) { a.API.OAuth2PermissionScopes[0].Type = "Everyone" }, "api.oauth2PermissionScopes[0].type: "},
		{func(a *store.Application) { a.GroupMembershipClaims = "Groups" }, "groupMembershipClaims: "},
		{func(a *store.Application) { a.GroupMembershipClaims = "All, SecurityGroup" }, "cannot be combined"},
		{func(a *store.Application) { a.OptionalClaims.IDToken = []store.OptionalClaim{{}} }, "optionalClaims.idToken[0].name: is required"},
		{func(a *store.Application) {
			a.RequiredResourceAccess = []store.RequiredResourceAccess{{ResourceAppID: "x", ResourceAccess: []store.ResourceAccess{{ID: "y", Type: "Delegated"}}}}
		}, "requiredResourceAccess[0].resourceAccess[0].type: "},
	}
	for _, tt := range tests {
		a := testApp()
		tt.edit(&a)
		if err := ValidateApplication(a, contoso); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("got %v\nwant %q", err, tt.want)
		}
	}
	var es Errors
	if !errors.As(ValidateApplication(store.Application{}, contoso), &es) || len(es) < 3 {
		t.Errorf("want typed Errors, got %v", es)
	}
}

func TestAddClientSecret(t *testing.T) {
	h := secrets.NewClientSecretHasher([]byte("pepper-pepper-pepper-pepper-1234"))
	a := testApp()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := AddClientSecret(&a, "too-short", "", time.Time{}, h, now); err == nil {
		t.Error("short secret accepted")
	}
	secret := secrets.GenerateClientSecret()
	c, err := AddClientSecret(&a, secret, "dev", time.Time{}, h, now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Hint != secret[:3] || !h.Verify(c.SecretHash, secret) || !c.EndDateTime.Equal(now.Add(DefaultClientSecretLifetime)) || len(a.PasswordCredentials) != 1 {
		t.Errorf("credential %+v", c)
	}
	if _, err := AddClientSecret(&a, secret, "again", time.Time{}, h, now); !errors.Is(err, ErrDuplicateCredential) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := AddClientSecret(&a, secrets.GenerateClientSecret(), "", now.Add(-time.Hour), h, now); err == nil {
		t.Error("past end accepted")
	}
	if err := ValidateApplication(a, contoso); err != nil {
		t.Error(err)
	}
}

// selfSigned returns a PEM certificate for key.
func selfSigned(t *testing.T, key any, pub any) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestAddCertificate(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	certPEM := selfSigned(t, key, &key.PublicKey)
	a := testApp()
	c, err := AddCertificate(&a, certPEM, "")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if string(c.CustomKeyIdentifier) != string(Thumbprint(block.Bytes)) || c.DisplayName != "CN=daemon" || c.EndDateTime.Year() != 2027 {
		t.Errorf("credential %+v", c)
	}
	if _, err := AddCertificate(&a, block.Bytes, "der"); !errors.Is(err, ErrDuplicateCredential) {
		t.Errorf("same cert as DER: %v", err)
	}
	if err := ValidateApplication(a, contoso); err != nil {
		t.Error(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if _, err := AddCertificate(&a, append(certPEM, keyPEM...), ""); err == nil || !strings.Contains(err.Error(), "private key") {
		t.Errorf("PEM with private key: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := AddCertificate(&a, selfSigned(t, ec, &ec.PublicKey), ""); err == nil || !strings.Contains(err.Error(), "not RSA") {
		t.Errorf("EC cert: %v", err)
	}
	if _, err := AddCertificate(&a, []byte("garbage"), ""); err == nil {
		t.Error("garbage accepted")
	}
}

func TestRoleTemplateID(t *testing.T) {
	if id, ok := RoleTemplateID("global administrator"); !ok || id != "62e90394-69f5-4237-9190-012177145e10" {
		t.Errorf("got %q %v", id, ok)
	}
	if id, ok := RoleTemplateID("62E90394-69F5-4237-9190-012177145E10"); !ok || id != "62e90394-69f5-4237-9190-012177145e10" {
		t.Errorf("GUID: %q", id)
	}
	if _, ok := RoleTemplateID("Supreme Leader"); ok {
		t.Error("unknown role resolved")
	}
}

func TestValidateServicePrincipal(t *testing.T) {
	a := testApp()
	other := store.Tenant{ID: "11111111-2222-4333-8444-555555555555"}
	sp := NewServicePrincipal(other.ID, a, time.Now())
	if err := ValidateServicePrincipal(sp, a, other); err == nil || !strings.Contains(err.Error(), "single-tenant") {
		t.Errorf("got %v", err)
	}
	a.SignInAudience = store.AudienceMultipleOrgs
	if err := ValidateServicePrincipal(sp, a, other); err != nil {
		t.Error(err)
	}
}

func TestResolveTenant(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	consumers := store.Tenant{ID: ConsumersTenantID, DisplayName: "Personal accounts", Type: "aad", Domains: []string{"live.com"}}
	for _, tn := range []store.Tenant{contoso, consumers} {
		if err := st.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	for seg, want := range map[string]string{
		contoso.ID: contoso.ID, strings.ToUpper(contoso.ID): contoso.ID, "contoso.onmicrosoft.com": contoso.ID,
		"Contoso.COM": contoso.ID, "consumers": ConsumersTenantID, "Consumers": ConsumersTenantID,
	} {
		if got, err := ResolveTenant(ctx, st, seg); err != nil || got.ID != want {
			t.Errorf("ResolveTenant(%q) = %q, %v; want %q", seg, got.ID, err, want)
		}
	}
	for _, seg := range []string{"common", "ORGANIZATIONS"} {
		if _, err := ResolveTenant(ctx, st, seg); !errors.Is(err, ErrTenantAlias) {
			t.Errorf("ResolveTenant(%q): %v, want ErrTenantAlias", seg, err)
		}
	}
	for _, seg := range []string{"fabrikam.com", "11111111-2222-4333-8444-555555555555", "not a tenant", ""} {
		if _, err := ResolveTenant(ctx, st, seg); !errors.Is(err, ErrTenantNotFound) || !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ResolveTenant(%q): %v, want ErrTenantNotFound", seg, err)
		}
	}
}

// TestParseCertificateDEREndingInWhiteSpace: DER is binary; a certificate
// whose signature ends in a byte that reads as white space (about one in
// forty) must parse as it is.
func TestParseCertificateDEREndingInWhiteSpace(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	for serial := range int64(2000) {
		// RSA PKCS #1 v1.5 signatures are deterministic: a new serial
		// number makes a new signature.
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial + 1), Subject: pkix.Name{CommonName: "daemon"},
			NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		switch der[len(der)-1] {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			if _, err := ParseCertificate(der); err != nil {
				t.Fatalf("DER ending in %#x: %v", der[len(der)-1], err)
			}
			return
		}
	}
	t.Fatal("no certificate ending in white space in 2000 tries")
}
