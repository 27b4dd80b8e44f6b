package apitokens

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/store"
)

// jwks fetches a tenant's published keys the way an API does: from the
// jwks_uri of its discovery document.
func (e *env) jwks(t testing.TB, tenant string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := e.client.Get(e.base + "/" + tenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.JWKSURI == "" {
		t.Fatalf("discovery of %s: %v", tenant, err)
	}
	resp, err = e.client.Get(doc.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// token is a verified JWT: header and payload.
type token struct {
	raw     string
	header  map[string]any
	payload map[string]any
}

// verify checks jwt against tenant's JWKS (RS256 only) and the header of
// version ver (v1: typ, alg, x5t, kid; v2: typ, alg, kid), and decodes it.
func (e *env) verify(t testing.TB, jwt, tenant, ver string) token {
	t.Helper()
	jws, err := jose.ParseSigned(jwt, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("not an RS256 compact JWS: %v", err)
	}
	set := e.jwks(t, tenant)
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not in %s's JWKS", jws.Signatures[0].Header.KeyID, tenant)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature does not verify with the published key: %v", err)
	}
	tok := token{raw: jwt}
	parts := strings.Split(jwt, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(hb, &tok.header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &tok.payload); err != nil {
		t.Fatal(err)
	}
	wantHdr := []string{"alg", "kid", "typ"}
	if ver == claims.V1 {
		wantHdr = []string{"alg", "kid", "typ", "x5t"}
		if tok.header["x5t"] != tok.header["kid"] {
			t.Errorf("v1 header: x5t %v != kid %v", tok.header["x5t"], tok.header["kid"])
		}
	}
	if got := sortedKeys(tok.header); !slices.Equal(got, wantHdr) || tok.header["alg"] != "RS256" || tok.header["typ"] != "JWT" {
		t.Errorf("header %v, want the keys %v", tok.header, wantHdr)
	}
	return tok
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Opaque claims are checked for their shape only.
var (
	utiRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	aioRE = regexp.MustCompile(`^[A-Za-z0-9+/]+=*$`)
	rhRE  = regexp.MustCompile(`^0\.[A-Za-z0-9_-]{51}\.$`)
	subRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// wantClaims compares tok's payload with want, field by field: the payload
// has exactly the keys of want plus iat, nbf, exp, aio, rh and uti, whose
// values are checked for their shape and (times) against expiresIn, the
// answer's expires_in.
func wantClaims(t testing.TB, tok token, want map[string]any, expiresIn int) {
	t.Helper()
	p := tok.payload
	for k, v := range want {
		got, ok := p[k]
		if !ok {
			t.Errorf("claim %s missing (want %v)", k, v)
			continue
		}
		if !sameJSON(got, v) {
			t.Errorf("claim %s = %v, want %v", k, got, v)
		}
	}
	for k := range p {
		switch k {
		case "iat", "nbf", "exp", "aio", "rh", "uti":
			continue
		}
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected claim %s = %v", k, p[k])
		}
	}
	iat, nbf, exp := num(p["iat"]), num(p["nbf"]), num(p["exp"])
	now := time.Now().Unix()
	// iat and nbf are back-dated five minutes; exp matches expires_in.
	if iat != nbf || iat > now-290 || iat < now-330 || d(exp-iat-300-int64(expiresIn)) > 3 {
		t.Errorf("times: iat %d nbf %d exp %d now %d expires_in %d", iat, nbf, exp, now, expiresIn)
	}
	if expiresIn < 3600 || expiresIn > 5400 {
		t.Errorf("expires_in %d is outside Entra's 60-90 minutes", expiresIn)
	}
	aio, _ := p["aio"].(string)
	rh, _ := p["rh"].(string)
	uti, _ := p["uti"].(string)
	if !aioRE.MatchString(aio) || !rhRE.MatchString(rh) || !utiRE.MatchString(uti) {
		t.Errorf("opaque claims: aio %q rh %q uti %q", aio, rh, uti)
	}
	if sub, ok := p["sub"].(string); ok && !subRE.MatchString(sub) && sub != p["oid"] {
		t.Errorf("sub %q is neither pairwise nor the object id", sub)
	}
}

func d(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// sameJSON compares a decoded JSON value with an expected Go value by their
// JSON encodings' decoded forms.
func sameJSON(got, want any) bool {
	b, err := json.Marshal(want)
	if err != nil {
		return false
	}
	var w any
	if err := json.Unmarshal(b, &w); err != nil {
		return false
	}
	return reflect.DeepEqual(got, w)
}

// person is a user as tokens show them.
type person struct {
	tenant, oid      string
	upn, username    string // username: what preferred_username and unique_name carry
	name, given, fam string
	mail             string
	guest            bool
	homeTenant       string
	groups, wids     []string // as the resource's groupMembershipClaims gives them
	roles            []string
}

func (e *env) alice() person {
	return person{tenant: contosoID, oid: aliceID, upn: aliceUPN, username: aliceUPN, name: "Alice Smith",
		given: "Alice", fam: "Smith", mail: aliceUPN}
}

// guestAlice is Alice's guest object in Fabrikam; apply copies the names
// the file leaves out from her home account, as an invitation does.
func (e *env) guestAlice(t testing.TB) person {
	t.Helper()
	u, err := e.st.GetUser(context.Background(), fabrikamID, guestID)
	if err != nil {
		t.Fatal(err)
	}
	if u.UserType != store.UserTypeGuest || u.HomeTenantID != contosoID || u.HomeUserID != aliceID {
		t.Fatalf("guest object %+v", u)
	}
	return person{tenant: fabrikamID, oid: guestID, username: aliceUPN, name: "Alice Smith (Contoso)",
		given: u.GivenName, fam: u.Surname, mail: aliceUPN, guest: true, homeTenant: contosoID}
}

// userTokenV1 is the v1.0 access token table for p, issued to client
// (authenticated as acr) for resource, which the client named aud.
func (e *env) userTokenV1(p person, client, acr, resource, aud, scp string) map[string]any {
	m := map[string]any{
		"aud": aud, "iss": e.srv.URLs().IssuerV1(p.tenant), "acr": "1", "amr": []string{"pwd"},
		"appid": client, "appidacr": acr, "ipaddr": "127.0.0.1", "name": p.name, "oid": p.oid, "scp": scp,
		"sub": e.sub(p.tenant, resource, p.oid), "tid": p.tenant, "unique_name": p.username, "ver": "1.0",
	}
	e.personal(m, p, true)
	return m
}

// userTokenV2 is the v2.0 access token table: aud is always the GUID.
func (e *env) userTokenV2(p person, client, acr, resource, scp string) map[string]any {
	m := map[string]any{
		"aud": resource, "iss": e.srv.URLs().IssuerV2(p.tenant), "azp": client, "azpacr": acr,
		"name": p.name, "oid": p.oid, "preferred_username": p.username, "scp": scp,
		"sub": e.sub(p.tenant, resource, p.oid), "tid": p.tenant, "ver": "2.0",
	}
	e.personal(m, p, false)
	return m
}

// personal adds what depends on the person: names (v1), upn (v1 members),
// idp and email (guests), groups, wids, roles.
func (e *env) personal(m map[string]any, p person, v1 bool) {
	if v1 {
		if p.given != "" {
			m["given_name"] = p.given
		}
		if p.fam != "" {
			m["family_name"] = p.fam
		}
		if !p.guest {
			m["upn"] = p.upn
		}
	}
	if p.guest {
		// Guests carry their home tenant's issuer (v1 form, as Entra's
		// sts.windows.net) and their email.
		m["idp"] = e.srv.URLs().IssuerV1(p.homeTenant)
		m["email"] = p.mail
	}
	if len(p.groups) > 0 {
		m["groups"] = p.groups
	}
	if len(p.wids) > 0 {
		m["wids"] = p.wids
	}
	if len(p.roles) > 0 {
		m["roles"] = p.roles
	}
}

// appToken is the table of an app-only token for client's service
// principal spID: roles, no scp; v1 has idp = the issuer.
func (e *env) appToken(ver, tenant, client, acr, resource, aud, spID string, roles []string, idtyp bool) map[string]any {
	m := map[string]any{"oid": spID, "sub": spID, "tid": tenant, "ver": ver}
	if ver == claims.V1 {
		m["aud"], m["iss"], m["appid"], m["appidacr"], m["idp"] = aud, e.srv.URLs().IssuerV1(tenant), client, acr, e.srv.URLs().IssuerV1(tenant)
	} else {
		m["aud"], m["iss"], m["azp"], m["azpacr"] = resource, e.srv.URLs().IssuerV2(tenant), client, acr
	}
	if len(roles) > 0 {
		m["roles"] = roles
	}
	if idtyp {
		m["idtyp"] = "app"
	}
	return m
}

// sub is the pairwise subject of a user for a resource.
func (e *env) sub(tenant, resource, oid string) string {
	return claims.PairwiseSubject(e.srv.Secrets().PairwiseSubjectKey, tenant, resource, oid)
}
