package token_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/token"
)

// redeem redeems a fresh code and returns the refresh token (web app unless
// public, then the native app through its publicClient redirect URI).
func (ts *testServer) refreshTokenFor(t testing.TB, public bool, o codeOpts) string {
	t.Helper()
	form := codeForm("")
	if public {
		o.client, o.redirect, o.platform = nativeAppID, nativeRedirect, store.PlatformPublicClient
		form = url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {nativeRedirect}, "client_id": {nativeAppID}}
	}
	form.Set("code", ts.newCode(t, o))
	r := ts.post(t, tokenPath(tenantID), form)
	wantTokens(t, r)
	if r.str("refresh_token") == "" {
		t.Fatalf("no refresh token: %s", short(r.body))
	}
	return r.str("refresh_token")
}

func refreshForm(rt string, public bool) url.Values {
	if public {
		return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {nativeAppID}}
	}
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {webAppID}, "client_secret": {webSecret}}
}

func TestRefreshRotationAndScopes(t *testing.T) {
	ts := start(t)
	rt1 := ts.refreshTokenFor(t, false, codeOpts{})

	r := ts.post(t, tokenPath(tenantID), refreshForm(rt1, false))
	wantTokens(t, r)
	rt2 := r.str("refresh_token")
	if rt2 == "" || rt2 == rt1 || r.str("id_token") == "" {
		t.Fatalf("rotation: %s", short(r.body))
	}
	keysInOrder(t, r.body, "token_type", "scope", "expires_in", "ext_expires_in", "access_token", "refresh_token", "id_token")
	// The family, auth time and methods carry over.
	old, _ := ts.st.GetRefreshToken(context.Background(), store.HashToken(rt1))
	next, _ := ts.st.GetRefreshToken(context.Background(), store.HashToken(rt2))
	if next.FamilyID != old.FamilyID || !next.AuthTime.Equal(old.AuthTime) || !next.Confidential || next.ID == old.ID {
		t.Errorf("old %+v\nnew %+v", old, next)
	}
	// Entra keeps a used refresh token valid.
	wantTokens(t, ts.post(t, tokenPath(tenantID), refreshForm(rt1, false)))

	// Another resource the client may use: a v2.0 token for the Tasks API.
	form := refreshForm(rt2, false)
	form.Set("scope", "api://tasks/access_as_user offline_access")
	form.Set("client_info", "1")
	r = ts.post(t, tokenPath(tenantID), form)
	wantTokens(t, r)
	hdr, at := jwtParts(t, r.str("access_token"))
	if at["aud"] != apiAppID || at["ver"] != "2.0" || at["scp"] != "access_as_user" || at["azp"] != webAppID || at["azpacr"] != "1" || hdr["x5t"] != nil {
		t.Errorf("Tasks API token header %v claims %v", hdr, at)
	}
	if r.str("client_info") == "" || r.str("refresh_token") == "" {
		t.Errorf("refresh answer %s", short(r.body))
	}
}

func TestRefreshErrors(t *testing.T) {
	ts := start(t)
	ctx := context.Background()
	setUser := func(t *testing.T, fn func(*store.User)) {
		t.Helper()
		if _, err := ts.st.UpdateUser(ctx, tenantID, aliceID, func(u store.User) (store.User, error) { fn(&u); return u, nil }); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("missing refresh_token", func(t *testing.T) {
		f := refreshForm("", false)
		f.Del("refresh_token")
		wantError(t, ts.post(t, tokenPath(tenantID), f), 900144, 400, "invalid_request")
	})
	t.Run("unknown refresh token", func(t *testing.T) {
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm("garbage", false)), 9002313, 400, "invalid_grant")
	})
	t.Run("another client's refresh token", func(t *testing.T) {
		rt := ts.refreshTokenFor(t, true, codeOpts{})
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm(rt, false)), 70000, 400, "invalid_grant")
	})
	t.Run("confidential client without its secret", func(t *testing.T) {
		f := refreshForm(ts.refreshTokenFor(t, false, codeOpts{}), false)
		f.Del("client_secret")
		wantError(t, ts.post(t, tokenPath(tenantID), f), 7000218, 401, "invalid_client")
	})
	t.Run("public client with a secret", func(t *testing.T) {
		f := refreshForm(ts.refreshTokenFor(t, true, codeOpts{}), true)
		f.Set("client_secret", webSecret)
		wantError(t, ts.post(t, tokenPath(tenantID), f), 700025, 401, "invalid_client")
	})
	t.Run("inactive for too long", func(t *testing.T) {
		rt := ts.refreshTokenFor(t, false, codeOpts{})
		if _, err := ts.st.UpdateRefreshToken(ctx, store.HashToken(rt), func(r store.RefreshToken) (store.RefreshToken, error) {
			r.IssuedAt = time.Now().Add(-91 * 24 * time.Hour)
			r.ExpiresAt = r.IssuedAt.Add(90 * 24 * time.Hour)
			return r, nil
		}); err != nil {
			t.Fatal(err)
		}
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm(rt, false)), 700082, 400, "invalid_grant")
	})
	for _, sc := range []struct {
		name, scope string
		code        int
		err         string
	}{
		{"scope without consent", "api://tasks/access_as_user offline_access", 65001, "invalid_grant"},
		{"unknown resource", "api://nope/read", 500011, "invalid_resource"},
		{"two resources", "api://tasks/access_as_user User.Read", 700022, "invalid_scope"},
		{"unknown scope", "api://tasks/delete_everything", 70011, "invalid_scope"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			f := refreshForm(ts.refreshTokenFor(t, true, codeOpts{}), true)
			f.Set("scope", sc.scope)
			wantError(t, ts.post(t, tokenPath(tenantID), f), sc.code, 400, sc.err)
		})
	}
	t.Run("other tenant's endpoint", func(t *testing.T) {
		rt := ts.refreshTokenFor(t, false, codeOpts{})
		wantError(t, ts.post(t, tokenPath(otherTenant), refreshForm(rt, false)), 70000, 400, "invalid_grant")
	})

	// Seed 002: a password change revokes the password-based refresh
	// tokens of public clients; confidential clients' tokens stay valid.
	t.Run("password change", func(t *testing.T) {
		public := ts.refreshTokenFor(t, true, codeOpts{})
		confidential := ts.refreshTokenFor(t, false, codeOpts{})
		setUser(t, func(u *store.User) { u.LastPasswordChangeDateTime = time.Now().UTC() })
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm(public, true)), 50173, 400, "invalid_grant")
		wantTokens(t, ts.post(t, tokenPath(tenantID), refreshForm(confidential, false)))
		// Signing in again after the change works.
		fresh := ts.refreshTokenFor(t, true, codeOpts{authTime: time.Now().Add(time.Second)})
		wantTokens(t, ts.post(t, tokenPath(tenantID), refreshForm(fresh, true)))
	})
	// An admin "revoke sessions" revokes everything issued before it.
	t.Run("revoke sessions", func(t *testing.T) {
		public := ts.refreshTokenFor(t, true, codeOpts{})
		confidential := ts.refreshTokenFor(t, false, codeOpts{})
		setUser(t, func(u *store.User) { u.SignInSessionsValidFromDateTime = time.Now().UTC() })
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm(public, true)), 50173, 400, "invalid_grant")
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm(confidential, false)), 50173, 400, "invalid_grant")
	})
	t.Run("disabled account", func(t *testing.T) {
		rt := ts.refreshTokenFor(t, false, codeOpts{authTime: time.Now().Add(time.Second)})
		setUser(t, func(u *store.User) { u.AccountEnabled = false })
		defer setUser(t, func(u *store.User) { u.AccountEnabled = true })
		wantError(t, ts.post(t, tokenPath(tenantID), refreshForm(rt, false)), 50057, 400, "invalid_grant")
	})
}

// A SPA's refresh tokens live 24 hours from the first of the family, not
// extended by rotation (AADSTS700084 after).
func TestSPARefreshLifetime(t *testing.T) {
	ts := start(t)
	form := url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {spaRedirect}, "client_id": {webAppID},
		"code": {ts.newCode(t, codeOpts{redirect: spaRedirect, platform: store.PlatformSPA})}}
	r := ts.post(t, tokenPath(tenantID), form, "Origin", "https://spa.contoso.com")
	wantTokens(t, r)
	rt := r.str("refresh_token")
	rec, err := ts.st.GetRefreshToken(context.Background(), store.HashToken(rt))
	if err != nil || rec.Confidential || !rec.ExpiresAt.Equal(rec.FamilyCreatedAt.Add(24*time.Hour)) {
		t.Fatalf("SPA refresh token %+v %v", rec, err)
	}
	spaRefresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {webAppID}}
	r = ts.post(t, tokenPath(tenantID), spaRefresh, "Origin", "https://spa.contoso.com")
	wantTokens(t, r)
	next, _ := ts.st.GetRefreshToken(context.Background(), store.HashToken(r.str("refresh_token")))
	if !next.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Errorf("rotation moved the SPA expiry: %v → %v", rec.ExpiresAt, next.ExpiresAt)
	}
	if _, err := ts.st.UpdateRefreshToken(context.Background(), next.ID, func(t store.RefreshToken) (store.RefreshToken, error) {
		t.ExpiresAt = time.Now().Add(-time.Minute)
		return t, nil
	}); err != nil {
		t.Fatal(err)
	}
	spaRefresh.Set("refresh_token", r.str("refresh_token"))
	wantError(t, ts.post(t, tokenPath(tenantID), spaRefresh, "Origin", "https://spa.contoso.com"), 700084, 400, "invalid_grant")
}

// With Options.SingleUseRefreshTokens a refresh token works once: reuse is
// AADSTS70008, and of concurrent redemptions exactly one wins.
func TestSingleUseRefreshTokens(t *testing.T) {
	ts := start(t)
	strict := ts.withHandler(t, token.Options{SingleUseRefreshTokens: true})
	rt1 := ts.refreshTokenFor(t, false, codeOpts{})
	r := strict.post(t, tokenPath(tenantID), refreshForm(rt1, false))
	wantTokens(t, r)
	rt2 := r.str("refresh_token")
	wantError(t, strict.post(t, tokenPath(tenantID), refreshForm(rt1, false)), 70008, 400, "invalid_grant")
	wantTokens(t, strict.post(t, tokenPath(tenantID), refreshForm(rt2, false)))

	rt := ts.refreshTokenFor(t, false, codeOpts{})
	const n = 6
	results := make(chan response, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := strict.tryPost(tokenPath(tenantID), refreshForm(rt, false))
			results <- r
			errs <- err
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	won := 0
	for r := range results {
		switch {
		case r.status == 200:
			won++
			// The winner's new refresh token is live; the losers' were revoked.
			wantTokens(t, strict.post(t, tokenPath(tenantID), refreshForm(r.str("refresh_token"), false)))
		case r.errorCode() != 70008:
			t.Errorf("concurrent redemption: %d %s", r.status, short(r.body))
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent redemptions won, want 1", won)
	}
}

// BenchmarkRefreshTokenRedemption measures refresh redemptions over HTTPS
// (keep-alive, GOMAXPROCS parallel clients): each signs an access and an
// ID token and stores a refresh token. The load benchmarks proper are
// `entrance bench`'s.
func BenchmarkRefreshTokenRedemption(b *testing.B) {
	ts := start(b)
	rt := ts.refreshTokenFor(b, false, codeOpts{})
	form := refreshForm(rt, false)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := ts.tryPost(tokenPath(tenantID), form)
			if err != nil || r.status != 200 {
				b.Errorf("%v %d %s", err, r.status, short(r.body))
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "redemptions/s")
}
