package token_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/entranceidp/entrance/internal/store"
)

// The flow every web app runs: golang.org/x/oauth2 redeems a code with PKCE
// and client_secret_basic (a secret that needs url-encoding), go-oidc
// verifies the ID token against the discovery document, and the refresh
// token is redeemed with rotation.
func TestCodeFlowOAuth2AndGoOIDC(t *testing.T) {
	ts := start(t)
	ctx := oidc.ClientContext(context.Background(), ts.client)
	provider, err := oidc.NewProvider(ctx, ts.base+"/"+tenantID+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	ep := provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	conf := oauth2.Config{ClientID: webAppID, ClientSecret: webSecret, Endpoint: ep, RedirectURL: webRedirect,
		Scopes: []string{"openid", "profile", "email", "offline_access", "User.Read"}}

	verifier := oauth2.GenerateVerifier()
	code := ts.newCode(t, codeOpts{challenge: oauth2.S256ChallengeFromVerifier(verifier), method: "S256", nonce: "n-0S6_WzA2Mj"})
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idTok, err := provider.Verifier(&oidc.Config{ClientID: webAppID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	var c struct {
		Nonce, Tid, Oid, Name, Email, Ver string
		PreferredUsername                 string `json:"preferred_username"`
	}
	if err := idTok.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if c.Nonce != "n-0S6_WzA2Mj" || c.Tid != tenantID || c.Oid != aliceID || c.Name != "Alice Smith" ||
		c.Email != "alice@"+domain || c.PreferredUsername != "alice@"+domain || c.Ver != "2.0" || len(idTok.Subject) != 43 {
		t.Errorf("ID token claims %+v, sub %q", c, idTok.Subject)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 55*time.Minute {
		t.Fatalf("token %+v", tok)
	}

	// Refresh through oauth2's TokenSource: a new refresh token each time.
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == old {
		t.Fatalf("refresh did not rotate: %+v", fresh)
	}
	// As in Entra, the old refresh token stays valid after use; the new one
	// works too.
	for _, rt := range []string{old, fresh.RefreshToken} {
		r := ts.post(t, tokenPath(tenantID), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {webAppID}, "client_secret": {webSecret}})
		wantTokens(t, r)
	}
}

// The v2 success body: Entra's keys in Entra's order, never cached, the
// request and correlation ids, lifetimes that agree with the token.
func TestSuccessShapeV2(t *testing.T) {
	ts := start(t)
	form := codeForm(ts.newCode(t, codeOpts{}))
	form.Set("client_info", "1")
	corr := "aaaa0000-bb11-2222-33cc-444444dddddd"
	r := ts.post(t, tokenPath(tenantID), form, "client-request-id", corr)
	wantTokens(t, r)
	keysInOrder(t, r.body, "token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token", "id_token", "client_info")
	for k, v := range map[string]string{"Cache-Control": "no-store, no-cache", "Pragma": "no-cache",
		"Content-Type": "application/json; charset=utf-8", "Client-Request-Id": corr} {
		if got := r.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if r.header.Get("X-Ms-Request-Id") == "" {
		t.Error("no x-ms-request-id")
	}
	if r.str("token_type") != "Bearer" || r.str("scope") != "email openid profile User.Read" {
		t.Errorf("token_type %q scope %q", r.str("token_type"), r.str("scope"))
	}
	in, _ := r.m["expires_in"].(float64)
	ext, _ := r.m["ext_expires_in"].(float64)
	if in < 3600 || in > 5400 || ext != in {
		t.Errorf("expires_in %v ext_expires_in %v, want equal, 60-90 minutes", in, ext)
	}
	// Graph takes v1.0 access tokens: x5t in the header, exp - iat =
	// lifetime + the 5 minutes iat is back-dated. Bare scopes name Graph by
	// its appId.
	hdr, at := jwtParts(t, r.str("access_token"))
	if scp, _ := at["scp"].(string); hdr["x5t"] == nil || at["ver"] != "1.0" || at["aud"] != "00000003-0000-0000-c000-000000000000" || !strings.Contains(scp, "User.Read") {
		t.Errorf("access token header %v claims %v", hdr, at)
	}
	if exp, iat := at["exp"].(float64), at["iat"].(float64); exp-iat != in+300 {
		t.Errorf("exp - iat = %v, expires_in %v", exp-iat, in)
	}
	idHdr, id := jwtParts(t, r.str("id_token"))
	if idHdr["x5t"] != nil || id["ver"] != "2.0" || id["aud"] != webAppID {
		t.Errorf("v2 ID token header %v claims %v", idHdr, id)
	}
	ci, err := base64.RawURLEncoding.DecodeString(r.str("client_info"))
	if err != nil || string(ci) != `{"uid":"`+aliceID+`","utid":"`+tenantID+`"}` {
		t.Errorf("client_info %q (%v)", ci, err)
	}
	// Without client_info=1, none.
	r = ts.post(t, tokenPath(tenantID), codeForm(ts.newCode(t, codeOpts{})))
	if _, ok := r.m["client_info"]; ok {
		t.Error("client_info without client_info=1")
	}
}

// The v1 endpoint: resource= instead of scopes, numbers as strings,
// expires_on, not_before and resource, a v1 ID token.
func TestSuccessShapeV1(t *testing.T) {
	ts := start(t)
	code := ts.newCode(t, codeOpts{resource: "https://graph.microsoft.com", scope: "openid", version: "1.0"})
	form := codeForm(code)
	form.Set("resource", "https://graph.microsoft.com")
	r := ts.post(t, tokenPathV1(tenantID), form)
	wantTokens(t, r)
	keysInOrder(t, r.body, "token_type", "scope", "expires_in", "ext_expires_in", "expires_on", "not_before", "resource", "access_token", "refresh_token", "id_token")
	in, err := strconv.Atoi(r.str("expires_in"))
	if err != nil || r.str("ext_expires_in") != r.str("expires_in") || in < 3600 || in > 5400 {
		t.Errorf("expires_in %q ext_expires_in %q", r.m["expires_in"], r.m["ext_expires_in"])
	}
	on, err1 := strconv.ParseInt(r.str("expires_on"), 10, 64)
	nb, err2 := strconv.ParseInt(r.str("not_before"), 10, 64)
	if err1 != nil || err2 != nil || on-nb != int64(in)+300 || r.str("resource") != "https://graph.microsoft.com" {
		t.Errorf("expires_on %q not_before %q resource %q", r.m["expires_on"], r.m["not_before"], r.m["resource"])
	}
	_, at := jwtParts(t, r.str("access_token"))
	if int64(at["exp"].(float64)) != on {
		t.Errorf("exp %v, expires_on %d", at["exp"], on)
	}
	hdr, id := jwtParts(t, r.str("id_token"))
	if hdr["x5t"] == nil || id["ver"] != "1.0" || id["iss"] != ts.base+"/"+tenantID+"/" || id["upn"] != "alice@"+domain {
		t.Errorf("v1 ID token header %v claims %v", hdr, id)
	}
	// A v1 refresh without resource= keeps the resource.
	r = ts.post(t, tokenPathV1(tenantID), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")},
		"client_id": {webAppID}, "client_secret": {webSecret}})
	wantTokens(t, r)
	if r.str("resource") != "https://graph.microsoft.com" {
		t.Errorf("v1 refresh resource %q", r.str("resource"))
	}
}

// Codes issued to a publicClient redirect URI are redeemed by a public
// client: without a credential, and never with one (AADSTS700025).
func TestPublicClientRedemption(t *testing.T) {
	ts := start(t)
	code := ts.newCode(t, codeOpts{client: nativeAppID, redirect: nativeRedirect, platform: store.PlatformPublicClient})
	r := ts.post(t, tokenPath(tenantID), url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {nativeRedirect}, "client_id": {nativeAppID}})
	wantTokens(t, r)
	_, at := jwtParts(t, r.str("access_token"))
	if at["appidacr"] != "0" {
		t.Errorf("appidacr %v, want 0 for a public client", at["appidacr"])
	}

	// The web app's code through its publicClient URI, with its secret.
	code = ts.newCode(t, codeOpts{redirect: nativeRedirect, platform: store.PlatformPublicClient})
	form := codeForm(code)
	form.Set("redirect_uri", nativeRedirect)
	wantError(t, ts.post(t, tokenPath(tenantID), form), 700025, 401, "invalid_client")
}

// Browser (SPA) redemptions: only cross-origin, and only SPA codes.
func TestOriginRules(t *testing.T) {
	ts := start(t)
	spa := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {spaRedirect}, "client_id": {webAppID},
			"code": {ts.newCode(t, codeOpts{redirect: spaRedirect, platform: store.PlatformSPA})}}
	}
	r := ts.post(t, tokenPath(tenantID), spa(), "Origin", "https://spa.contoso.com")
	wantTokens(t, r)
	if r.header.Get("Access-Control-Allow-Origin") != "https://spa.contoso.com" {
		t.Errorf("CORS header %q", r.header.Get("Access-Control-Allow-Origin"))
	}
	wantError(t, ts.post(t, tokenPath(tenantID), spa()), 9002327, 400, "invalid_request")
	wantError(t, ts.post(t, tokenPath(tenantID), codeForm(ts.newCode(t, codeOpts{})), "Origin", "https://evil.example"), 9002326, 400, "invalid_request")
}

// Every way a code redemption fails, each with its AADSTS code, status,
// and no token.
func TestCodeRedemptionErrors(t *testing.T) {
	ts := start(t)
	verifier := oauth2.GenerateVerifier()
	for _, tc := range []struct {
		name   string
		path   string
		form   func() url.Values
		code   int
		status int
		err    string
	}{
		{"missing grant_type", "", func() url.Values { f := codeForm("x"); f.Del("grant_type"); return f }, 900144, 400, "invalid_request"},
		{"missing code", "", func() url.Values { f := codeForm("x"); f.Del("code"); return f }, 900144, 400, "invalid_request"},
		{"missing redirect_uri", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{}))
			f.Del("redirect_uri")
			return f
		}, 900144, 400, "invalid_request"},
		{"missing client_id", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{}))
			f.Del("client_id")
			return f
		}, 900144, 400, "invalid_request"},
		{"unsupported grant", "", func() url.Values {
			return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:saml1_1-bearer"}, "client_id": {webAppID}, "client_secret": {webSecret}, "scope": {"api://tasks/.default"}}
		}, 70003, 400, "unsupported_grant_type"},
		{"unknown tenant", tokenPath("nope.onmicrosoft.com"), func() url.Values { return codeForm(ts.newCode(t, codeOpts{})) }, 90002, 400, "invalid_tenant"},
		{"unknown client", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{}))
			f.Set("client_id", "11111111-2222-4333-8444-555555555555")
			return f
		}, 700016, 400, "unauthorized_client"},
		{"unknown code", "", func() url.Values { return codeForm("not-a-code-we-issued") }, 9002313, 400, "invalid_grant"},
		{"another client's code", "", func() url.Values {
			return codeForm(ts.newCode(t, codeOpts{client: nativeAppID, redirect: nativeRedirect, platform: store.PlatformPublicClient}))
		}, 70000, 400, "invalid_grant"},
		{"other tenant's endpoint", tokenPath(otherTenant), func() url.Values { return codeForm(ts.newCode(t, codeOpts{})) }, 700005, 400, "invalid_grant"},
		{"expired code", "", func() url.Values { return codeForm(ts.newCode(t, codeOpts{expired: true})) }, 70008, 400, "invalid_grant"},
		{"redirect_uri mismatch", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{}))
			f.Set("redirect_uri", webRedirect+"/other")
			return f
		}, 50011, 400, "invalid_grant"},
		{"wrong code_verifier", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{challenge: oauth2.S256ChallengeFromVerifier(verifier), method: "S256"}))
			f.Set("code_verifier", oauth2.GenerateVerifier())
			return f
		}, 501481, 400, "invalid_grant"},
		{"missing code_verifier", "", func() url.Values {
			return codeForm(ts.newCode(t, codeOpts{challenge: oauth2.S256ChallengeFromVerifier(verifier), method: "S256"}))
		}, 501481, 400, "invalid_grant"},
		{"plain challenge, S256 verifier", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{challenge: oauth2.S256ChallengeFromVerifier(verifier)}))
			f.Set("code_verifier", verifier)
			return f
		}, 501481, 400, "invalid_grant"},
		{"disabled user", "", func() url.Values { return codeForm(ts.newCode(t, codeOpts{user: disabledID})) }, 50057, 400, "invalid_grant"},
		{"wrong secret", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{}))
			f.Set("client_secret", "wrong-secret-wrong-secret-wrong-secret")
			return f
		}, 7000215, 401, "invalid_client"},
		{"no credential", "", func() url.Values {
			f := codeForm(ts.newCode(t, codeOpts{}))
			f.Del("client_secret")
			return f
		}, 7000218, 401, "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = tokenPath(tenantID)
			}
			wantError(t, ts.post(t, path, tc.form()), tc.code, tc.status, tc.err)
		})
	}

	t.Run("JSON body", func(t *testing.T) {
		r := ts.post(t, tokenPath(tenantID), nil, "Content-Type", "application/json")
		wantError(t, r, 900144, 400, "invalid_request")
	})
	t.Run("plain PKCE and /common", func(t *testing.T) {
		f := codeForm(ts.newCode(t, codeOpts{challenge: verifier, method: "plain"}))
		f.Set("code_verifier", verifier)
		f.Set("unknown_field", "ignored")
		wantTokens(t, ts.post(t, tokenPath("common"), f))
	})
	t.Run("by domain, upper case", func(t *testing.T) {
		wantTokens(t, ts.post(t, "/CONTOSO.onmicrosoft.com/OAuth2/V2.0/Token", codeForm(ts.newCode(t, codeOpts{}))))
	})
}

// A code redeemed twice is stolen: the second redemption fails with
// AADSTS54005 and the refresh token of the first is revoked.
func TestCodeReplayRevokes(t *testing.T) {
	ts := start(t)
	code := ts.newCode(t, codeOpts{})
	first := ts.post(t, tokenPath(tenantID), codeForm(code))
	wantTokens(t, first)
	wantError(t, ts.post(t, tokenPath(tenantID), codeForm(code)), 54005, 400, "invalid_grant")
	r := ts.post(t, tokenPath(tenantID), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")},
		"client_id": {webAppID}, "client_secret": {webSecret}})
	wantError(t, r, 70008, 400, "invalid_grant")
	rt, err := ts.st.GetRefreshToken(context.Background(), store.HashToken(first.str("refresh_token")))
	if err != nil || !rt.Revoked {
		t.Errorf("refresh token after replay: %+v %v", rt, err)
	}
}
