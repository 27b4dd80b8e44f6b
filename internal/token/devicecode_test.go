package token_test

// The device code flow over HTTPS: the device authorization endpoint (v2 and
// v1), and every answer of its polling grant. The user's approval at the
// device page is written to the store here as internal/authorize writes it
// (the page itself is tested end to end in internal/e2e).

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/token"
)

const (
	deviceScope    = "openid profile offline_access User.Read"
	deviceGrantURN = "urn:ietf:params:oauth:grant-type:device_code"
)

// publicNative makes the native app a public client for flows without a
// redirect URI (isFallbackPublicClient, "Allow public client flows").
func publicNative(t *testing.T, ts *testServer) {
	t.Helper()
	_, err := ts.st.UpdateApplication(context.Background(), nativeAppID, func(a store.Application) (store.Application, error) {
		a.IsFallbackPublicClient = true
		return a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func deviceCodePath(tenant string) string   { return "/" + tenant + "/oauth2/v2.0/devicecode" }
func deviceCodePathV1(tenant string) string { return "/" + tenant + "/oauth2/devicecode" }

// newDeviceCode asks the endpoint for a device code for the native app and
// returns the answer.
func (ts *testServer) newDeviceCode(t *testing.T, path string, form url.Values) response {
	t.Helper()
	r := ts.post(t, path, form)
	if r.status != 200 || r.str("device_code") == "" {
		t.Fatalf("device code request: %d %s", r.status, short(r.body))
	}
	return r
}

// decide writes the user's decision on a device code as the device page
// does: approved by alice (from a fresh session), or declined.
func (ts *testServer) decide(t *testing.T, deviceCode string, approve bool) {
	t.Helper()
	now := time.Now().UTC()
	_, err := ts.st.UpdateDeviceCode(context.Background(), store.HashToken(deviceCode), func(v store.DeviceCode) (store.DeviceCode, error) {
		if !approve {
			v.DeclinedAt = now
			return v, nil
		}
		v.TenantID, v.UserID, v.SessionID = tenantID, aliceID, ids.RandomToken(16)
		v.AuthTime, v.AuthMethods, v.ApprovedAt = now, []string{store.AuthMethodPassword}, now
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// editDeviceCode changes a stored device code (time passing).
func (ts *testServer) editDeviceCode(t *testing.T, deviceCode string, fn func(*store.DeviceCode)) {
	t.Helper()
	_, err := ts.st.UpdateDeviceCode(context.Background(), store.HashToken(deviceCode), func(v store.DeviceCode) (store.DeviceCode, error) {
		fn(&v)
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func pollForm(deviceCode string) url.Values {
	return url.Values{"grant_type": {deviceGrantURN}, "device_code": {deviceCode}, "client_id": {nativeAppID}}
}

var userCodeRE = regexp.MustCompile(`^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{9}$`)

func TestDeviceCodeResponse(t *testing.T) {
	ts := start(t)
	publicNative(t, ts)

	// v2: Entra's fields in Entra's order, numbers as numbers, no
	// verification_uri_complete.
	r := ts.newDeviceCode(t, deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}})
	keysInOrder(t, r.body, "user_code", "device_code", "verification_uri", "expires_in", "interval", "message")
	uc, dc := r.str("user_code"), r.str("device_code")
	if !userCodeRE.MatchString(uc) {
		t.Errorf("user_code %q: want 9 upper-case letters and digits", uc)
	}
	if len(dc) != 43 {
		t.Errorf("device_code %q: want 256 random bits (43 base64url characters)", dc)
	}
	if got, want := r.str("verification_uri"), ts.base+"/devicelogin"; got != want {
		t.Errorf("verification_uri %q, want %q", got, want)
	}
	if r.m["expires_in"] != 900.0 || r.m["interval"] != 5.0 {
		t.Errorf("expires_in %v, interval %v; want 900 and 5 (numbers)", r.m["expires_in"], r.m["interval"])
	}
	want := "To sign in, use a web browser to open the page " + ts.base + "/devicelogin and enter the code " + uc + " to authenticate."
	if r.str("message") != want {
		t.Errorf("message %q\nwant    %q", r.str("message"), want)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store, no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	// Stored by hash, with the user code as shown, for 15 minutes.
	rec, err := ts.st.GetDeviceCode(context.Background(), store.HashToken(dc))
	if err != nil {
		t.Fatal(err)
	}
	if rec.UserCode != uc || rec.ClientID != nativeAppID || rec.TenantID != tenantID || rec.Scope != deviceScope ||
		rec.EndpointVersion != "2.0" || d(rec.ExpiresAt.Sub(rec.IssuedAt)) != 15*time.Minute || !rec.ApprovedAt.IsZero() {
		t.Errorf("stored device code %+v", rec)
	}
	if _, err := ts.st.GetDeviceCode(context.Background(), dc); err == nil {
		t.Error("the device code itself is a record ID; only its hash should be")
	}
	// Each request gets codes of its own.
	if r2 := ts.newDeviceCode(t, deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}}); r2.str("user_code") == uc || r2.str("device_code") == dc {
		t.Error("two requests got the same codes")
	}

	// v1: ADAL's verification_url, numbers as strings, resource=.
	r = ts.newDeviceCode(t, deviceCodePathV1(domain), url.Values{"client_id": {nativeAppID}, "resource": {"https://graph.microsoft.com"}})
	keysInOrder(t, r.body, "user_code", "device_code", "verification_url", "expires_in", "interval", "message")
	if r.m["expires_in"] != "900" || r.m["interval"] != "5" || r.str("verification_url") != ts.base+"/devicelogin" {
		t.Errorf("v1 answer %s", r.body)
	}
	rec, err = ts.st.GetDeviceCode(context.Background(), store.HashToken(r.str("device_code")))
	if err != nil || rec.Resource != "https://graph.microsoft.com" || rec.EndpointVersion != "1.0" || rec.PathTenant != domain {
		t.Errorf("stored v1 device code %+v (%v)", rec, err)
	}
}

// d rounds a duration to the second (times round-trip through the store).
func d(v time.Duration) time.Duration { return v.Round(time.Second) }

func TestDeviceCodeRequestErrors(t *testing.T) {
	ts := start(t)
	publicNative(t, ts)
	for _, c := range []struct {
		name, path string
		form       url.Values
		code       int
		oauth      string
	}{
		{"no client_id", deviceCodePath(tenantID), url.Values{"scope": {deviceScope}}, 900144, "invalid_request"},
		{"unknown client", deviceCodePath(tenantID), url.Values{"client_id": {ids.NewGUID()}, "scope": {deviceScope}}, 700016, "unauthorized_client"},
		{"client_id not a GUID", deviceCodePath(tenantID), url.Values{"client_id": {"my-app"}, "scope": {deviceScope}}, 700016, "unauthorized_client"},
		{"app of another tenant", deviceCodePath(otherTenant), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}}, 700016, "unauthorized_client"},
		{"single-tenant app on common", deviceCodePath("common"), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}}, 50194, "invalid_request"},
		{"unknown tenant", deviceCodePath("nowhere.example.com"), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}}, 90002, "invalid_tenant"},
		{"no scope", deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}}, 900144, "invalid_request"},
		{"v1 without resource", deviceCodePathV1(tenantID), url.Values{"client_id": {nativeAppID}}, 900144, "invalid_request"},
		{"unknown scope", deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {"api://tasks/nope"}}, 70011, "invalid_scope"},
		{"two resources", deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {"User.Read api://tasks/access_as_user"}}, 700022, "invalid_scope"},
		{"unknown resource", deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {"api://nowhere/read"}}, 500011, "invalid_resource"},
		{"claims not JSON", deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}, "claims": {"{"}}, 90023, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.post(t, c.path, c.form)
			wantError(t, r, c.code, 400, c.oauth)
			if _, ok := r.m["device_code"]; ok {
				t.Error("an error answer carried a device_code")
			}
		})
	}
}

func TestDeviceCodePolling(t *testing.T) {
	ts := start(t)
	publicNative(t, ts)
	newCode := func() string {
		return ts.newDeviceCode(t, deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}}).str("device_code")
	}

	// Waiting: authorization_pending; again at once: slow_down; after the
	// interval, pending again. Both grant_type spellings, and ADAL's code=.
	dc := newCode()
	wantError(t, ts.post(t, tokenPath(tenantID), pollForm(dc)), 70016, 400, "authorization_pending")
	wantError(t, ts.post(t, tokenPath(tenantID), pollForm(dc)), 70016, 400, "slow_down")
	ts.editDeviceCode(t, dc, func(v *store.DeviceCode) { v.LastPolledAt = v.LastPolledAt.Add(-6 * time.Second) })
	bare := pollForm(dc)
	bare.Set("grant_type", "device_code")
	wantError(t, ts.post(t, tokenPath(tenantID), bare), 70016, 400, "authorization_pending")
	ts.editDeviceCode(t, dc, func(v *store.DeviceCode) { v.LastPolledAt = v.LastPolledAt.Add(-6 * time.Second) })
	adal := url.Values{"grant_type": {"device_code"}, "code": {dc}, "client_id": {nativeAppID}}
	wantError(t, ts.post(t, tokenPath(tenantID), adal), 70016, 400, "authorization_pending")

	// Approved: the tokens, once. The ID token because of openid, the
	// refresh token because of offline_access.
	ts.decide(t, dc, true)
	form := pollForm(dc)
	form.Set("scope", deviceScope) // as MSAL sends it with every poll
	form.Set("client_info", "1")
	r := ts.post(t, tokenPath(tenantID), form)
	wantTokens(t, r)
	keysInOrder(t, r.body, "token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token", "id_token", "client_info")
	_, at := jwtParts(t, r.str("access_token"))
	_, idt := jwtParts(t, r.str("id_token"))
	if at["oid"] != aliceID || at["tid"] != tenantID || at["appid"] != nativeAppID || at["appidacr"] != "0" {
		t.Errorf("access token claims %v", at)
	}
	if idt["aud"] != nativeAppID || idt["oid"] != aliceID || idt["ver"] != "2.0" {
		t.Errorf("ID token claims %v", idt)
	}
	// A second poll gets nothing.
	wantError(t, ts.post(t, tokenPath(tenantID), form), 70000, 400, "invalid_grant")
	// The refresh token works like any public client's.
	rr := ts.post(t, tokenPath(tenantID), url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}, "client_id": {nativeAppID}, "scope": {deviceScope},
	})
	wantTokens(t, rr)

	// Declined at the device page.
	dc = newCode()
	ts.decide(t, dc, false)
	wantError(t, ts.post(t, tokenPath(tenantID), pollForm(dc)), 65004, 400, "authorization_declined")

	// Not finished within 15 minutes.
	dc = newCode()
	ts.editDeviceCode(t, dc, func(v *store.DeviceCode) { v.ExpiresAt = time.Now().Add(-time.Second) })
	wantError(t, ts.post(t, tokenPath(tenantID), pollForm(dc)), 70020, 400, "expired_token")

	// Codes this request cannot know: made up, another client's, asked at
	// another tenant.
	wantError(t, ts.post(t, tokenPath(tenantID), pollForm(ids.RandomToken(32))), 70018, 400, "bad_verification_code")
	dc = newCode()
	other := pollForm(dc)
	other.Set("client_id", webAppID)
	other.Set("client_secret", webSecret)
	wantError(t, ts.post(t, tokenPath(tenantID), other), 70018, 400, "bad_verification_code")
	wantError(t, ts.post(t, tokenPath(otherTenant), pollForm(dc)), 70018, 400, "bad_verification_code")
	// …nor a poll without a device code.
	wantError(t, ts.post(t, tokenPath(tenantID), url.Values{"grant_type": {deviceGrantURN}, "client_id": {nativeAppID}}), 900144, 400, "invalid_request")

	// A public client sends no secret.
	withSecret := pollForm(dc)
	withSecret.Set("client_secret", "anything")
	wantError(t, ts.post(t, tokenPath(tenantID), withSecret), 700025, 401, "invalid_client")
}

// TestDeviceCodeConfidentialClient: an app that is not a public client
// (isFallbackPublicClient false) must authenticate when it polls, as at
// Entra (7000218 is what users of "Allow public client flows: No" see).
func TestDeviceCodeConfidentialClient(t *testing.T) {
	ts := start(t)
	dc := ts.newDeviceCode(t, deviceCodePath(tenantID), url.Values{"client_id": {webAppID}, "scope": {"openid offline_access User.Read"}}).str("device_code")
	ts.decide(t, dc, true)
	form := url.Values{"grant_type": {deviceGrantURN}, "device_code": {dc}, "client_id": {webAppID}}
	wantError(t, ts.post(t, tokenPath(tenantID), form), 7000218, 401, "invalid_client")
	form.Set("client_secret", "wrong")
	wantError(t, ts.post(t, tokenPath(tenantID), form), 7000215, 401, "invalid_client")
	form.Set("client_secret", webSecret)
	r := ts.post(t, tokenPath(tenantID), form)
	wantTokens(t, r)
	if _, at := jwtParts(t, r.str("access_token")); at["appidacr"] != "1" {
		t.Errorf("appidacr %v, want 1 (secret)", at["appidacr"])
	}
}

// TestDeviceCodeV1 polls the v1 token endpoint with a v1 device code:
// numbers as strings, the resource echoed.
func TestDeviceCodeV1(t *testing.T) {
	ts := start(t)
	publicNative(t, ts)
	dc := ts.newDeviceCode(t, deviceCodePathV1(tenantID), url.Values{"client_id": {nativeAppID}, "resource": {"https://graph.microsoft.com"}}).str("device_code")
	ts.decide(t, dc, true)
	r := ts.post(t, tokenPathV1(tenantID), url.Values{"grant_type": {"device_code"}, "code": {dc}, "client_id": {nativeAppID}, "resource": {"https://graph.microsoft.com"}})
	wantTokens(t, r)
	if _, ok := r.m["expires_in"].(string); !ok || r.str("resource") != "https://graph.microsoft.com" || r.str("id_token") == "" {
		t.Errorf("v1 answer %s", short(r.body))
	}
}

// TestDeviceCodeRedeemedOnce: polls racing after the approval; exactly one
// gets tokens, and no refresh token of the others stays valid.
func TestDeviceCodeRedeemedOnce(t *testing.T) {
	ts := start(t)
	publicNative(t, ts)
	dc := ts.newDeviceCode(t, deviceCodePath(tenantID), url.Values{"client_id": {nativeAppID}, "scope": {deviceScope}}).str("device_code")
	ts.decide(t, dc, true)
	const n = 8
	results := make([]response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	startLine := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-startLine
			results[i], errs[i] = ts.tryPost(tokenPath(tenantID), pollForm(dc))
		})
	}
	close(startLine)
	wg.Wait()
	var winners []response
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		switch {
		case r.status == 200:
			winners = append(winners, r)
		case r.errorCode() != 70000:
			t.Errorf("a losing poll got %d %s, want AADSTS70000", r.status, short(r.body))
		}
	}
	if len(winners) != 1 {
		t.Fatalf("%d of %d concurrent polls got tokens, want 1", len(winners), n)
	}
	// Only the winner's refresh token redeems.
	rt := ts.post(t, tokenPath(tenantID), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {winners[0].str("refresh_token")}, "client_id": {nativeAppID}})
	wantTokens(t, rt)
}

// TestDeviceCodeGrantTypes: the exported grant_type values, and a near
// miss is no device code grant.
func TestDeviceCodeGrantTypes(t *testing.T) {
	if token.GrantDeviceCode != deviceGrantURN || token.GrantDeviceCodeShort != "device_code" {
		t.Errorf("grant types %q, %q", token.GrantDeviceCode, token.GrantDeviceCodeShort)
	}
	ts := start(t)
	wantError(t, ts.post(t, tokenPath(tenantID), url.Values{"grant_type": {strings.TrimSuffix(deviceGrantURN, "e")}, "client_id": {nativeAppID}}), 70003, 400, "unsupported_grant_type")
}
