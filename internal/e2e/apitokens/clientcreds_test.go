package apitokens

// The "Must show" for daemon apps: azidentity's ClientSecretCredential
// and ClientCertificateCredential, and MSAL Go's confidential client (secret
// and certificate), get app-only tokens from Entrance exactly as from Entra:
// custom authority host, instance discovery off, nothing else changed.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/entranceidp/entrance/internal/claims"
)

// azOptions is what an app changes to use Entrance with azidentity: the
// authority host, no instance discovery (it would ask Microsoft), and a
// transport trusting Entrance's development CA.
func (e *env) azOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: e.base + "/", Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}},
		Transport: e.client,
	}
}

// msalConfidential is an MSAL Go confidential client at tenant, as an app
// configures it for Entrance: the authority and instance discovery off.
func (e *env) msalConfidential(t testing.TB, tenant, clientID string, cred confidential.Credential, opts ...confidential.Option) confidential.Client {
	t.Helper()
	opts = append([]confidential.Option{confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(e.client)}, opts...)
	c, err := confidential.New(e.base+"/"+tenant, clientID, cred, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) spID(t testing.TB, tenant, appID string) string {
	t.Helper()
	sp, err := e.st.GetServicePrincipalByAppID(context.Background(), tenant, appID)
	if err != nil {
		t.Fatal(err)
	}
	return sp.ID
}

func expiresIn(on time.Time) int { return int(time.Until(on).Round(time.Second) / time.Second) }

func TestClientCredentials(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	daemonSP := e.spID(t, contosoID, daemonAppID)
	c := certs()

	t.Run("azidentity ClientSecretCredential, v2 resource", func(t *testing.T) {
		cred, err := azidentity.NewClientSecretCredential(contosoID, daemonAppID, daemonSecret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: e.azOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		at, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://v2api/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, at.Token, contosoID, claims.V2)
		wantClaims(t, tok, e.appToken(claims.V2, contosoID, daemonAppID, "1", v2APIAppID, "", daemonSP, []string{"Tasks.Read.All"}, true), expiresIn(at.ExpiresOn))
	})

	t.Run("azidentity ClientCertificateCredential, v1 resource", func(t *testing.T) {
		cred, err := azidentity.NewClientCertificateCredential(contosoID, daemonAppID, []*x509.Certificate{c.cert}, c.key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: e.azOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		at, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"api://v1api/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, at.Token, contosoID, claims.V1)
		wantClaims(t, tok, e.appToken(claims.V1, contosoID, daemonAppID, "2", v1APIAppID, "api://v1api", daemonSP, []string{"Data.Read.All"}, true), expiresIn(at.ExpiresOn))
	})

	t.Run("MSAL Go secret, resource by appId", func(t *testing.T) {
		cred, err := confidential.NewCredFromSecret(daemonSecret)
		if err != nil {
			t.Fatal(err)
		}
		// Client capabilities make MSAL send a claims parameter (xms_cc):
		// accepted and ignored.
		app := e.msalConfidential(t, contosoID, daemonAppID, cred, confidential.WithClientCapabilities([]string{"cp1"}))
		res, err := app.AcquireTokenByCredential(ctx, []string{v1APIAppID + "/.default"})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, res.AccessToken, contosoID, claims.V1)
		// v1's aud is the resource as the client named it: here the GUID.
		wantClaims(t, tok, e.appToken(claims.V1, contosoID, daemonAppID, "1", v1APIAppID, v1APIAppID, daemonSP, []string{"Data.Read.All"}, true), expiresIn(res.ExpiresOn))
		// The second call is served from MSAL's cache: no new request.
		again, err := app.AcquireTokenByCredential(ctx, []string{v1APIAppID + "/.default"})
		if err != nil || again.AccessToken != res.AccessToken {
			t.Errorf("second AcquireTokenByCredential: %v (same token: %v)", err, again.AccessToken == res.AccessToken)
		}
	})

	t.Run("MSAL Go certificate, Graph, then getMemberObjects", func(t *testing.T) {
		cred, err := confidential.NewCredFromCert([]*x509.Certificate{c.cert}, c.key)
		if err != nil {
			t.Fatal(err)
		}
		app := e.msalConfidential(t, contosoID, daemonAppID, cred)
		res, err := app.AcquireTokenByCredential(ctx, []string{"https://graph.microsoft.com/.default"})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.verify(t, res.AccessToken, contosoID, claims.V1)
		// Entrance's Graph has no idtyp optional claim.
		wantClaims(t, tok, e.appToken(claims.V1, contosoID, daemonAppID, "2", graphAppID, "https://graph.microsoft.com", daemonSP, []string{"User.Read.All"}, false), expiresIn(res.ExpiresOn))
		// User.Read.All lets the daemon read any user's groups.
		status, body := e.graph(t, "POST", "/v1.0/users/"+bobID+"/getMemberObjects", res.AccessToken, `{"securityEnabledOnly":false}`)
		if got := memberObjects(t, status, body); len(got) != bulkGroups {
			t.Errorf("getMemberObjects of Bob with an app token: %d groups", len(got))
		}
		// An app-only token has no /me.
		if status, body := e.graph(t, "POST", "/v1.0/me/getMemberObjects", res.AccessToken, `{"securityEnabledOnly":false}`); status != 400 {
			t.Errorf("/me/getMemberObjects with an app token: %d %s", status, body)
		}
	})

	t.Run("raw answers in Entra's shape", func(t *testing.T) {
		r := wantOK(t, e.post(t, tokenV2(contosoID), url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonAppID},
			"client_secret": {daemonSecret}, "scope": {"api://v2api/.default openid profile offline_access"}}))
		keysInOrder(t, r.body, "token_type", "expires_in", "ext_expires_in", "access_token")
		r = wantOK(t, e.post(t, tokenV1(contosoID), url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonAppID},
			"client_secret": {daemonSecret}, "resource": {"api://v1api"}}))
		keysInOrder(t, r.body, "token_type", "expires_in", "ext_expires_in", "expires_on", "not_before", "resource", "access_token")
		if r.str("resource") != "api://v1api" {
			t.Errorf("v1 resource %q", r.str("resource"))
		}
		tok := e.verify(t, r.str("access_token"), contosoID, claims.V1)
		if tok.payload["aud"] != "api://v1api" {
			t.Errorf("aud %v", tok.payload["aud"])
		}
	})

	t.Run("organizations means the client's home tenant", func(t *testing.T) {
		r := wantOK(t, e.post(t, tokenV2("organizations"), url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonAppID},
			"client_secret": {daemonSecret}, "scope": {"api://v2api/.default"}}))
		if tok := e.verify(t, r.str("access_token"), contosoID, claims.V2); tok.payload["tid"] != contosoID {
			t.Errorf("tid %v", tok.payload["tid"])
		}
	})

	t.Run("a client without roles gets a token without roles", func(t *testing.T) {
		r := wantOK(t, e.post(t, tokenV2(contosoID), url.Values{"grant_type": {"client_credentials"}, "client_id": {middleAppID},
			"client_secret": {middleSecret}, "scope": {"api://v2api/.default"}}))
		tok := e.verify(t, r.str("access_token"), contosoID, claims.V2)
		n := num(r.m["expires_in"])
		wantClaims(t, tok, e.appToken(claims.V2, contosoID, middleAppID, "1", v2APIAppID, "", e.spID(t, contosoID, middleAppID), nil, true), int(n))
	})
}

// memberObjects decodes a getMemberObjects answer.
func memberObjects(t testing.TB, status int, body []byte) []string {
	t.Helper()
	var out struct {
		Context string   `json:"@odata.context"`
		Value   []string `json:"value"`
	}
	if status != 200 || json.Unmarshal(body, &out) != nil || !strings.HasSuffix(out.Context, "/v1.0/$metadata#Collection(Edm.String)") {
		t.Fatalf("getMemberObjects: %d %.300s", status, body)
	}
	return out.Value
}

// keysInOrder checks that the JSON object b has exactly keys, in order.
func keysInOrder(t testing.TB, b []byte, keys ...string) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var got []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Errorf("keys %v, want %v", got, keys)
	}
}
