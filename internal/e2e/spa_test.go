package e2e

// Issue 5's "Must show" for browser apps: Chromium (chromedp) runs the
// single-page app of spa_site_test.go against Entrance over HTTPS — the
// implicit flow with its tokens in the fragment, silent renewal in a hidden
// iframe before and after sign-out, and the code flow with PKCE whose token
// requests are fetch calls from another origin (real CORS), then a refresh.

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// startSPA runs Entrance with the SPA's apps, the site, and Chromium.
func startSPA(t *testing.T) (*Env, *spaSite, context.Context) {
	site := newSPASite(t)
	env := Start(t, Options{Applications: spaApplications(site.URL)})
	site.configure(env)
	return env, site, NewChromeThirdPartyCookies(t, env)
}

// signInAlice answers Entrance's pages: username, password, consent; then
// waits for the app's page to show its outcome.
func signInAlice(t *testing.T, ctx context.Context, start string) map[string]any {
	t.Helper()
	browse(t, ctx, "sign in from "+start,
		chromedp.Navigate(start),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), AliceUPN),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), Password+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`button[value="consent"]`)),
		chromedp.Click(chromedp.CSS(`button[value="consent"]`)),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	return parseOutcome(t, read(t, ctx, "outcome", chromedp.Text(chromedp.ID("result"))))
}

// open navigates to a page of the site and returns its outcome.
func open(t *testing.T, ctx context.Context, u string) map[string]any {
	t.Helper()
	browse(t, ctx, "open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("result")))
	return parseOutcome(t, read(t, ctx, "outcome", chromedp.Text(chromedp.ID("result"))))
}

func TestSPAImplicitFlowAndSilentRenewal(t *testing.T) {
	env, site, ctx := startSPA(t)
	nav := watchNavigations(t, ctx)

	// 1. The implicit flow: id_token token in the fragment, in Entra's
	// parameters; the ID token checks out (signature, iss, aud, exp,
	// nonce, at_hash) and the access token opens the API.
	out := signInAlice(t, ctx, site.URL+"/implicit")
	p := fragmentValues(out["params"])
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range p {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"access_token", "expires_in", "id_token", "scope", "session_state", "state", "token_type"}; !slices.Equal(keys, want) {
		t.Errorf("fragment parameters %v, want %v", keys, want)
	}
	if out["stateOK"] != true || p.Get("token_type") != "Bearer" || p.Get("expires_in") == "" ||
		!strings.Contains(p.Get("scope"), "api://tasks/access_as_user") {
		t.Errorf("implicit response: %v", out)
	}
	if v, _ := out["validation"].(map[string]any); v["ok"] != true {
		t.Fatalf("ID token validation: %v", out["validation"])
	}
	api, _ := out["api"].(map[string]any)
	if out["apiStatus"] != float64(200) || api["oid"] != AliceID || api["azp"] != SPAAppID {
		t.Errorf("API call: %v %v", out["apiStatus"], out["api"])
	}
	idt := site.Validated()[0]
	if idt["aud"] != SPAAppID || idt["at_hash"] == nil || idt["c_hash"] != nil || idt["preferred_username"] != AliceUPN {
		t.Errorf("ID token claims %v", idt)
	}

	// 2. Silent renewal in a hidden iframe (the app's page stays where it
	// is): fresh tokens from the SSO session, in the fragment and by
	// form_post, without a page of Entrance's in the main frame.
	for _, mode := range []string{"fragment", "form_post"} {
		mark := nav.len()
		out := open(t, ctx, site.URL+"/silent?mode="+mode+"&login_hint="+url.QueryEscape(AliceUPN))
		p := fragmentValues(out["params"])
		v, _ := out["validation"].(map[string]any)
		if out["stateOK"] != true || p.Get("access_token") == "" || v["ok"] != true || out["apiStatus"] != float64(200) {
			t.Errorf("silent renewal (%s): %v", mode, out)
		}
		for _, u := range nav.since(mark) {
			if !strings.HasPrefix(u, site.URL) {
				t.Errorf("silent renewal (%s) navigated the page to %s", mode, u)
			}
		}
	}
	if n := len(site.Validated()); n != 3 {
		t.Errorf("%d ID tokens validated, want 3", n)
	}

	// 3. Sign-out ends the session: silent renewal now fails at once with
	// login_required (AADSTS50058), in the iframe, with no tokens.
	browse(t, ctx, "sign out",
		chromedp.Navigate(env.Base+"/"+TenantID+"/oauth2/v2.0/logout"),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	)
	for _, mode := range []string{"fragment", "form_post"} {
		start := time.Now()
		out := open(t, ctx, site.URL+"/silent?mode="+mode+"&login_hint="+url.QueryEscape(AliceUPN))
		p := fragmentValues(out["params"])
		if p.Get("error") != "login_required" || !strings.HasPrefix(p.Get("error_description"), "AADSTS50058:") ||
			out["stateOK"] != true || p.Get("access_token") != "" || p.Get("id_token") != "" {
			t.Errorf("silent renewal after sign-out (%s): %v", mode, out)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("silent renewal after sign-out took %v: it must fail at once", d)
		}
	}
}

func TestSPACodeFlowWithFetch(t *testing.T) {
	env, site, ctx := startSPA(t)

	// 1. Code + PKCE; the page redeems the code and refreshes with fetch
	// from its own origin, which is not Entrance's: the browser preflights
	// (client-request-id) and lets the page read the answers.
	out := signInAlice(t, ctx, site.URL+"/code")
	redeem, _ := out["redeem"].(map[string]any)
	refresh, _ := out["refresh"].(map[string]any)
	rb, _ := redeem["body"].(map[string]any)
	fb, _ := refresh["body"].(map[string]any)
	if out["stateOK"] != true || redeem["status"] != float64(200) || rb["access_token"] == nil || rb["id_token"] == nil || rb["token_type"] != "Bearer" {
		t.Fatalf("code redemption by fetch: %v", out)
	}
	if refresh["status"] != float64(200) || fb["access_token"] == nil || fb["refresh_token"] == nil || fb["refresh_token"] == rb["refresh_token"] {
		t.Fatalf("refresh by fetch: %v", refresh)
	}
	if out["apiStatus"] != float64(200) {
		t.Errorf("API with the refreshed access token: %v", out["apiStatus"])
	}
	if _, err := site.idTokens.Verify(site.ctx, rb["id_token"].(string)); err != nil {
		t.Errorf("ID token from the code: %v", err)
	}
	first, second := rb["refresh_token"].(string), fb["refresh_token"].(string)

	// SPA refresh tokens live 24 hours from the first sign-in; rotation
	// does not extend them.
	r1, err := env.Store.GetRefreshToken(context.Background(), tokens.NewRefreshTokenID(first))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := env.Store.GetRefreshToken(context.Background(), tokens.NewRefreshTokenID(second))
	if err != nil {
		t.Fatal(err)
	}
	if r1.Platform != store.PlatformSPA || !r2.ExpiresAt.Equal(r1.ExpiresAt) || r1.ExpiresAt.Sub(r1.FamilyCreatedAt) != 24*time.Hour {
		t.Errorf("SPA refresh tokens: first expires %v (family from %v), rotated one %v", r1.ExpiresAt, r1.FamilyCreatedAt, r2.ExpiresAt)
	}

	// 2. The same refresh from a page on an origin no SPA registered: the
	// browser refuses the page the answer (the preflight gets no
	// Access-Control-Allow-Origin).
	probe := newCORSProbe(t, env)
	if o := open(t, ctx, probe+"/?rt="+url.QueryEscape(second)); !strings.Contains(asString(o["fetchError"]), "Failed to fetch") {
		t.Errorf("fetch from %s: %v, want the browser to refuse it", probe, o)
	}
	// The SPA's own origin still may.
	if o := open(t, ctx, site.URL+"/refresh?rt="+url.QueryEscape(second)); nested(o, "refresh", "status") != float64(200) {
		t.Errorf("refresh from the SPA's origin: %v", o)
	}

	// 3. After 24 hours: AADSTS700084, which the page can read (errors
	// carry the CORS header too).
	ageRefreshToken(t, env, second, 25*time.Hour)
	o := open(t, ctx, site.URL+"/refresh?rt="+url.QueryEscape(second))
	if nested(o, "refresh", "status") != float64(400) || nested(o, "refresh", "body", "error") != "invalid_grant" ||
		!strings.HasPrefix(asString(nested(o, "refresh", "body", "error_description")), "AADSTS700084:") {
		t.Errorf("refresh after 24 hours: %v", o)
	}
}

// ageRefreshToken moves a refresh token's family start (and so its fixed
// SPA expiry) into the past, as if it had been issued age ago.
func ageRefreshToken(t *testing.T, env *Env, rt string, age time.Duration) {
	t.Helper()
	_, err := env.Store.UpdateRefreshToken(context.Background(), tokens.NewRefreshTokenID(rt), func(r store.RefreshToken) (store.RefreshToken, error) {
		shift := age - time.Since(r.FamilyCreatedAt)
		r.FamilyCreatedAt = r.FamilyCreatedAt.Add(-shift)
		r.IssuedAt = r.IssuedAt.Add(-shift)
		r.ExpiresAt = r.ExpiresAt.Add(-shift)
		return r, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// nested walks a decoded JSON object.
func nested(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

func asString(v any) string { s, _ := v.(string); return s }
