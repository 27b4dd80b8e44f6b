package apitokens

// User tokens for APIs: the password grant (MSAL Go's public client and a
// confidential client), on-behalf-of (MSAL Go's confidential client, secret
// and certificate), groups (3, and 201: the overage and getMemberObjects),
// directory roles, app roles, and a B2B guest signing in to the inviting
// tenant's app through the sign-in pages.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/store"
)

// msalPublic is an MSAL Go public client at tenant, as a desktop app
// configures it for Entrance.
func (e *env) msalPublic(t testing.TB, tenant, clientID string, opts ...public.Option) public.Client {
	t.Helper()
	opts = append([]public.Option{public.WithAuthority(e.base + "/" + tenant), public.WithInstanceDiscovery(false), public.WithHTTPClient(e.client)}, opts...)
	c, err := public.New(clientID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ropc is a raw password grant by the public desktop app.
func (e *env) ropc(t testing.TB, tenant, username, scope string) response {
	t.Helper()
	return e.post(t, tokenV2(tenant), url.Values{"grant_type": {"password"}, "client_id": {nativeAppID},
		"username": {username}, "password": {password}, "scope": {scope}})
}

func TestPasswordGrant(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	alice := e.alice()

	t.Run("MSAL Go public client, v1 resource, three groups", func(t *testing.T) {
		app := e.msalPublic(t, contosoID, nativeAppID)
		res, err := app.AcquireTokenByUsernamePassword(ctx, []string{"api://v1api/user_impersonation"}, aliceUPN, password)
		if err != nil {
			t.Fatal(err)
		}
		if res.Account.PreferredUsername != aliceUPN || res.IDToken.Oid != aliceID {
			t.Errorf("account %+v, ID token oid %q", res.Account, res.IDToken.Oid)
		}
		tok := e.verify(t, res.AccessToken, contosoID, claims.V1)
		p := alice
		// groupMembershipClaims All: every group, transitively (Staff holds
		// Engineering), and the directory roles.
		p.groups, p.wids, p.roles = []string{engineeringID, staffID, socialID}, []string{globalAdmin}, []string{"Data.Admin"}
		wantClaims(t, tok, e.userTokenV1(p, nativeAppID, "0", v1APIAppID, "api://v1api", "user_impersonation"), expiresIn(res.ExpiresOn))

		// The sign-in log has it, as a desktop client's sign-in.
		log, err := e.st.ListSignIns(ctx, store.SignInFilter{TenantID: contosoID, UserID: aliceID, AppID: nativeAppID})
		if err != nil || len(log) == 0 || log[0].ErrorCode != 0 || log[0].ClientAppUsed != "Mobile Apps and Desktop clients" {
			t.Errorf("sign-in log: %v %+v", err, log)
		}
	})

	t.Run("MSAL Go at organizations finds the tenant from the username", func(t *testing.T) {
		// Client capabilities go out as a claims parameter: ignored.
		app := e.msalPublic(t, "organizations", nativeAppID, public.WithClientCapabilities([]string{"cp1"}))
		res, err := app.AcquireTokenByUsernamePassword(ctx, []string{"api://v2api/access_as_user"}, aliceUPN, password)
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, res.AccessToken, contosoID, claims.V2)
		p := alice
		p.groups = []string{engineeringID, staffID} // SecurityGroup: no Social, no wids
		wantClaims(t, tok, e.userTokenV2(p, nativeAppID, "0", v2APIAppID, "access_as_user"), expiresIn(res.ExpiresOn))
	})

	t.Run("confidential client with its secret, then refresh", func(t *testing.T) {
		form := url.Values{"grant_type": {"password"}, "client_id": {ropcWebAppID}, "client_secret": {ropcSecret},
			"username": {aliceUPN}, "password": {password}, "scope": {"api://v2api/access_as_user offline_access"}}
		r := wantOK(t, e.post(t, tokenV2(contosoID), form))
		keysInOrder(t, r.body, "token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token")
		p := alice
		p.groups = []string{engineeringID, staffID}
		wantClaims(t, e.verify(t, r.str("access_token"), contosoID, claims.V2), e.userTokenV2(p, ropcWebAppID, "1", v2APIAppID, "access_as_user"), int(num(r.m["expires_in"])))
		rr := wantOK(t, e.post(t, tokenV2(contosoID), url.Values{"grant_type": {"refresh_token"}, "client_id": {ropcWebAppID},
			"client_secret": {ropcSecret}, "refresh_token": {r.str("refresh_token")}}))
		if tok := e.verify(t, rr.str("access_token"), contosoID, claims.V2); tok.payload["oid"] != aliceID {
			t.Errorf("refreshed token: %v", tok.payload)
		}
	})

	t.Run("v1 endpoint at common, v2 resource", func(t *testing.T) {
		r := wantOK(t, e.post(t, tokenV1("common"), url.Values{"grant_type": {"password"}, "client_id": {nativeAppID},
			"username": {aliceUPN}, "password": {password}, "resource": {"api://v2api"}}))
		// The resource decides the format: a v2.0 token from the v1 endpoint.
		tok := e.verify(t, r.str("access_token"), contosoID, claims.V2)
		if tok.payload["ver"] != "2.0" || tok.payload["aud"] != v2APIAppID || r.str("refresh_token") == "" || r.str("id_token") == "" {
			t.Errorf("v1 answer %s, token %v", r.body, tok.payload)
		}
	})

	t.Run("UserRealm", func(t *testing.T) {
		for _, tc := range []struct{ path, want string }{
			{"/common/UserRealm/" + aliceUPN + "?api-version=1.0", `{"ver":"1.0","account_type":"Managed","domain_name":"` + contoso + `","cloud_instance_name":"127.0.0.1","cloud_audience_urn":"urn:federation:MicrosoftOnline"}`},
			{"/" + contosoID + "/UserRealm/nobody@" + fabrikam + "?api-version=1.0", `{"ver":"1.0","account_type":"Managed","domain_name":"` + fabrikam + `","cloud_instance_name":"127.0.0.1","cloud_audience_urn":"urn:federation:MicrosoftOnline"}`},
			{"/common/UserRealm/someone@example.org?api-version=1.0", `{"ver":"1.0","account_type":"Unknown","cloud_instance_name":"127.0.0.1","cloud_audience_urn":"urn:federation:MicrosoftOnline"}`},
			{"/common/UserRealm/" + aliceUPN + "?api-version=2.0", `{"NameSpaceType":"Managed","Login":"` + aliceUPN + `","DomainName":"` + contoso + `","FederationBrandName":"Contoso","TenantBrandingInfo":null,"cloud_instance_name":"127.0.0.1"}`},
		} {
			resp, err := e.client.Get(e.base + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != tc.want {
				t.Errorf("GET %s: %d %s\nwant %s", tc.path, resp.StatusCode, b, tc.want)
			}
		}
	})
}

func TestOnBehalfOf(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	alice := e.alice()
	// The desktop app signs Alice in for the middle tier; this is the token
	// the middle tier receives and exchanges.
	up := wantOK(t, e.ropc(t, contosoID, aliceUPN, "api://middle/access_as_user"))
	assertion := up.str("access_token")

	t.Run("MSAL Go with a secret, to a v1 API", func(t *testing.T) {
		cred, err := confidential.NewCredFromSecret(middleSecret)
		if err != nil {
			t.Fatal(err)
		}
		app := e.msalConfidential(t, contosoID, middleAppID, cred)
		res, err := app.AcquireTokenOnBehalfOf(ctx, assertion, []string{"api://v1api/user_impersonation"})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, res.AccessToken, contosoID, claims.V1)
		// The user stays; the middle tier is the client.
		p := alice
		p.groups, p.wids, p.roles = []string{engineeringID, staffID, socialID}, []string{globalAdmin}, []string{"Data.Admin"}
		wantClaims(t, tok, e.userTokenV1(p, middleAppID, "1", v1APIAppID, "api://v1api", "user_impersonation"), expiresIn(res.ExpiresOn))
	})

	t.Run("MSAL Go with a certificate, to Graph, then getMemberObjects", func(t *testing.T) {
		c := certs()
		cred, err := confidential.NewCredFromCert([]*x509.Certificate{c.cert}, c.key)
		if err != nil {
			t.Fatal(err)
		}
		app := e.msalConfidential(t, contosoID, middleAppID, cred)
		res, err := app.AcquireTokenOnBehalfOf(ctx, assertion, []string{"User.Read"})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, res.AccessToken, contosoID, claims.V1)
		if tok.payload["appid"] != middleAppID || tok.payload["appidacr"] != "2" || tok.payload["oid"] != aliceID {
			t.Errorf("Graph token %v", tok.payload)
		}
		all := e.memberObjects(t, "/v1.0/me/getMemberObjects", res.AccessToken, `{"securityEnabledOnly":false}`)
		sec := e.memberObjects(t, "/v1.0/users/"+aliceUPN+"/getMemberObjects", res.AccessToken, `{"securityEnabledOnly":true}`)
		if !slices.Equal(all, []string{engineeringID, staffID, socialID}) || !slices.Equal(sec, []string{engineeringID, staffID}) {
			t.Errorf("Alice's groups: all %v, security %v", all, sec)
		}
		// A user reads their own groups only.
		if status, body := e.graph(t, "POST", "/v1.0/users/"+bobID+"/getMemberObjects", res.AccessToken, `{"securityEnabledOnly":false}`); status != 403 {
			t.Errorf("Alice reading Bob's groups: %d %s", status, body)
		}
	})

	t.Run("v1 endpoint with resource, offline_access gives a refresh token", func(t *testing.T) {
		r := wantOK(t, e.post(t, tokenV1(contosoID), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
			"requested_token_use": {"on_behalf_of"}, "assertion": {assertion}, "client_id": {middleAppID},
			"client_secret": {middleSecret}, "resource": {v1APIAppID}}))
		if r.str("refresh_token") == "" || r.str("resource") != v1APIAppID {
			t.Errorf("v1 OBO answer %s", r.body)
		}
		if tok := e.verify(t, r.str("access_token"), contosoID, claims.V1); tok.payload["aud"] != v1APIAppID {
			t.Errorf("aud %v", tok.payload["aud"])
		}
	})

	obo := func(assertion, scope string, extra ...string) url.Values {
		f := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
			"assertion": {assertion}, "client_id": {middleAppID}, "client_secret": {middleSecret}, "scope": {scope}}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return f
	}
	forV2API := wantOK(t, e.ropc(t, contosoID, aliceUPN, "api://v2api/access_as_user")).str("access_token")
	appOnly := wantOK(t, e.post(t, tokenV2(contosoID), url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonAppID},
		"client_secret": {daemonSecret}, "scope": {"api://middle/.default"}})).str("access_token")
	expired := e.signed(t, contosoID, map[string]any{"aud": middleAppID, "iss": e.srv.URLs().IssuerV2(contosoID), "tid": contosoID,
		"oid": aliceID, "azp": nativeAppID, "scp": "access_as_user", "ver": "2.0",
		"iat": time.Now().Add(-3 * time.Hour).Unix(), "nbf": time.Now().Add(-3 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
	otherTenant := e.signed(t, fabrikamID, map[string]any{"aud": middleAppID, "iss": e.srv.URLs().IssuerV2(contosoID), "tid": contosoID,
		"oid": aliceID, "azp": nativeAppID, "scp": "access_as_user", "ver": "2.0",
		"iat": time.Now().Unix(), "nbf": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()})
	// Tampered: the payload of another (valid) token under this one's
	// signature. Malformed: not three base64url parts.
	parts, other := strings.Split(assertion, "."), strings.Split(forV2API, ".")
	tampered := parts[0] + "." + other[1] + "." + parts[2]
	malformed := parts[0] + "." + parts[1] + "x." + parts[2]
	for _, tc := range []struct {
		name   string
		form   url.Values
		code   int
		status int
	}{
		{"token for another API", obo(forV2API, "api://v1api/user_impersonation"), 500131, 400},
		{"app-only token", obo(appOnly, "api://v1api/user_impersonation"), 7000114, 400},
		{"expired token", obo(expired, "api://v1api/user_impersonation"), 500133, 400},
		{"signed by another tenant's key", obo(otherTenant, "api://v1api/user_impersonation"), 50013, 400},
		{"tampered token", obo(tampered, "api://v1api/user_impersonation"), 50013, 400},
		{"malformed token", obo(malformed, "api://v1api/user_impersonation"), 50013, 400},
		{"no consent for the downstream API", obo(assertion, "api://v2api/access_as_user"), 65001, 400},
		{"no requested_token_use", obo(assertion, "api://v1api/user_impersonation", "requested_token_use", ""), 900144, 400},
		{"no client credential", obo(assertion, "api://v1api/user_impersonation", "client_secret", ""), 7000218, 401},
		{"wrong secret", obo(assertion, "api://v1api/user_impersonation", "client_secret", "nope-0123456789abcdefghijklmnopqrst"), 7000215, 401},
		{"itself by App ID URI", obo(assertion, "api://middle/access_as_user"), 90009, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.form
			for k, v := range f {
				if len(v) == 1 && v[0] == "" {
					f.Del(k)
				}
			}
			wantError(t, e.post(t, tokenV2(contosoID), f), tc.code, tc.status)
		})
	}
}

// signed signs claims with tenant's current key: a token Entrance could
// have issued, for the cases no request produces (an expired one).
func (e *env) signed(t testing.TB, tenant string, c map[string]any) string {
	t.Helper()
	k, err := e.srv.Keys().SigningKey(context.Background(), tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := k.SignJWT(c, false)
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

// memberObjects posts a getMemberObjects request and decodes the answer.
func (e *env) memberObjects(t testing.TB, path, token, body string) []string {
	t.Helper()
	status, b := e.graph(t, "POST", path, token, body)
	return memberObjects(t, status, b)
}

func TestGroupsAndGuests(t *testing.T) {
	e := start(t)
	ctx := context.Background()

	t.Run("201 groups: an overage, then getMemberObjects returns all 201", func(t *testing.T) {
		r := wantOK(t, e.ropc(t, contosoID, bobUPN, "api://v1api/user_impersonation"))
		tok := e.verify(t, r.str("access_token"), contosoID, claims.V1)
		endpoint := e.base + "/v1.0/users/" + bobID + "/getMemberObjects"
		bob := person{tenant: contosoID, oid: bobID, upn: bobUPN, username: bobUPN, name: "Bob Jones", given: "Bob", fam: "Jones"}
		want := e.userTokenV1(bob, nativeAppID, "0", v1APIAppID, "api://v1api", "user_impersonation")
		want["_claim_names"] = map[string]any{"groups": "src1"}
		want["_claim_sources"] = map[string]any{"src1": map[string]any{"endpoint": endpoint}}
		wantClaims(t, tok, want, int(num(r.m["expires_in"])))

		// The API follows the claim source with a Graph token of Bob's.
		graphTok := wantOK(t, e.ropc(t, contosoID, bobUPN, "User.Read")).str("access_token")
		got := e.memberObjects(t, strings.TrimPrefix(endpoint, e.base), graphTok, `{"securityEnabledOnly":true}`)
		groups, err := e.st.ListGroups(ctx, contosoID)
		if err != nil {
			t.Fatal(err)
		}
		var want201 []string
		for _, g := range groups {
			if strings.HasPrefix(g.DisplayName, "Bulk ") {
				want201 = append(want201, g.ID)
			}
		}
		slices.Sort(want201)
		if len(got) != bulkGroups || !slices.Equal(got, want201) {
			t.Errorf("getMemberObjects: %d groups, want the %d Bulk groups", len(got), len(want201))
		}
		// 200 is still inline: drop Bob from one group.
		if _, err := e.st.UpdateGroup(ctx, contosoID, want201[0], func(g store.Group) (store.Group, error) {
			g.Members = nil
			return g, nil
		}); err != nil {
			t.Fatal(err)
		}
		r = wantOK(t, e.ropc(t, contosoID, bobUPN, "api://v1api/user_impersonation"))
		tok = e.verify(t, r.str("access_token"), contosoID, claims.V1)
		if gs, _ := tok.payload["groups"].([]any); len(gs) != 200 || tok.payload["_claim_names"] != nil {
			t.Errorf("200 groups: %d inline, _claim_names %v", len(gs), tok.payload["_claim_names"])
		}
	})

	// Alice of Contoso, a guest in Fabrikam, signs in to Fabrikam's web app
	// on its sign-in pages with her home username and password.
	fab := loadgen.App{BaseURL: e.base, Tenant: fabrikamID, ClientID: fabWebAppID, ClientSecret: fabWebSecret,
		RedirectURI: fabWebReply, Scope: "openid profile offline_access api://fabapi/user_impersonation"}
	tr, err := fab.SignIn(ctx, loadgen.NewBrowser(e.tls), loadgen.Credentials{Username: aliceUPN, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	guest := e.guestAlice(t)
	guest.groups = []string{partnersID}

	t.Run("guest, v1 resource", func(t *testing.T) {
		tok := e.verify(t, tr.AccessToken, fabrikamID, claims.V1)
		wantClaims(t, tok, e.userTokenV1(guest, fabWebAppID, "1", fabAPIAppID, "api://fabapi", "user_impersonation"), tr.ExpiresIn)
	})

	t.Run("guest, v2 resource (refresh to another API)", func(t *testing.T) {
		r := wantOK(t, e.post(t, tokenV2(fabrikamID), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken},
			"client_id": {fabWebAppID}, "client_secret": {fabWebSecret}, "scope": {"api://fabapi2/access_as_user"}}))
		tok := e.verify(t, r.str("access_token"), fabrikamID, claims.V2)
		wantClaims(t, tok, e.userTokenV2(guest, fabWebAppID, "1", fabAPI2AppID, "access_as_user"), int(num(r.m["expires_in"])))
	})

	t.Run("guest ID token and client_info name the home account", func(t *testing.T) {
		var id map[string]any
		parts := strings.Split(tr.IDToken, ".")
		if len(parts) != 3 || json.Unmarshal(mustB64(t, parts[1]), &id) != nil {
			t.Fatalf("ID token %q", tr.IDToken)
		}
		if id["tid"] != fabrikamID || id["oid"] != guestID || id["idp"] != e.srv.URLs().IssuerV1(contosoID) {
			t.Errorf("guest ID token %v", id)
		}
	})

	t.Run("guests cannot use the password grant", func(t *testing.T) {
		wantError(t, e.post(t, tokenV2(fabrikamID), url.Values{"grant_type": {"password"}, "client_id": {fabWebAppID},
			"client_secret": {fabWebSecret}, "username": {aliceUPN}, "password": {password}, "scope": {"api://fabapi/user_impersonation"}}), 50020, 400)
	})
}
