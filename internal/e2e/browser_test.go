package e2e

// The "Must show": a real browser (Chromium, driven by chromedp)
// signs in to a relying party through Entrance over HTTPS, single sign-on
// works silently, and sign-out ends it everywhere.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// navigations records the URLs the browser's main frame commits (redirects
// that only pass through are not committed), so a test can tell whether
// Entrance showed a page.
type navigations struct {
	mu   sync.Mutex
	urls []string
}

func watchNavigations(t *testing.T, ctx context.Context) *navigations {
	n := &navigations{}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventFrameNavigated); ok && e.Frame.ParentID == "" {
			n.mu.Lock()
			n.urls = append(n.urls, e.Frame.URL)
			n.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// since returns the URLs committed after the first i.
func (n *navigations) since(i int) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.urls[i:]...)
}

func (n *navigations) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.urls)
}

// browse runs steps with a time limit, and on failure reports where the
// browser is and what it shows.
func browse(t *testing.T, ctx context.Context, step string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\nbrowser at %s\n%.2000s", step, err, loc, body)
	}
}

// read runs one action that returns a value, with a time limit.
func read[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("read %s: %v", what, err)
	}
	return v
}

func TestBrowserSignInSSOAndSignOut(t *testing.T) {
	env := Start(t, Options{})
	ctx := NewChrome(t, env)
	nav := watchNavigations(t, ctx)

	// 1. A full interactive sign-in: RP → authorize → username → password →
	// consent → back at the RP, which redeems the code (x/oauth2, PKCE,
	// client_secret_basic) and verifies the ID token (go-oidc, nonce).
	browse(t, ctx, "open the relying party",
		chromedp.Navigate(env.RP.URL+"/web/login"),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	if title := read(t, ctx, "title", chromedp.Title()); !strings.Contains(title, "Sign in") {
		t.Errorf("sign-in page title %q", title)
	}
	browse(t, ctx, "username and password",
		chromedp.SendKeys(chromedp.ID("username"), AliceUPN),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("password")),
		// Enter in the password field signs in, as people do it.
		chromedp.SendKeys(chromedp.ID("password"), Password+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`button[value="consent"]`)),
	)
	if perms := read(t, ctx, "permissions", chromedp.Text(chromedp.CSS("ul.permissions"))); !strings.Contains(perms, "profile") {
		t.Errorf("consent page lists %q, want Graph's sign-in and profile permissions", perms)
	}
	browse(t, ctx, "consent",
		chromedp.Click(chromedp.CSS(`button[value="consent"]`)),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	first, ok := env.RP.Last("web")
	if !ok || !first.OK() {
		t.Fatalf("relying party after sign-in: %+v", first)
	}
	for k, want := range map[string]string{"preferred_username": AliceUPN, "tid": TenantID, "oid": AliceID, "name": "Alice Smith", "email": AliceUPN} {
		if got, _ := first.Claims[k].(string); got != want {
			t.Errorf("ID token %s = %q, want %q", k, got, want)
		}
	}
	if first.Token.RefreshToken == "" || first.Token.AccessToken == "" {
		t.Errorf("token response lacks tokens: %+v", first.Token)
	}
	entrancePages := 0
	for _, u := range nav.since(0) {
		if strings.HasPrefix(u, env.Base) {
			entrancePages++
		}
	}
	if entrancePages != 3 {
		t.Errorf("Entrance showed %d pages, want 3 (username, password, consent): %v", entrancePages, nav.since(0))
	}

	// 2. prompt=none: a new code from the SSO session, no page shown.
	mark := nav.len()
	browse(t, ctx, "prompt=none",
		chromedp.Navigate(env.RP.URL+"/web/login?prompt=none"),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	silent, _ := env.RP.Last("web")
	if !silent.OK() || silent.Code == first.Code {
		t.Fatalf("prompt=none: %+v", silent)
	}
	if sid := first.Claims["sid"]; sid != nil && silent.Claims["sid"] != sid {
		t.Errorf("silent sign-in sid %v, want the session's %v", silent.Claims["sid"], sid)
	}
	for _, u := range nav.since(mark) {
		if strings.HasPrefix(u, env.Base) {
			t.Errorf("prompt=none showed an Entrance page: %s", u)
		}
	}

	// 3. Sign-out: the session ends, the signed-out page loads the app's
	// front-channel logout URL in a hidden iframe, then returns to
	// post_logout_redirect_uri with the state.
	browse(t, ctx, "sign-out",
		chromedp.Navigate(env.RP.URL+"/web/signout"),
		chromedp.WaitVisible(chromedp.ID("signedout")),
	)
	if !WaitFor(10*time.Second, func() bool { return len(env.RP.FrontChannelLogouts()) > 0 }) {
		t.Fatal("the relying party's front-channel logout URL was not called")
	}
	if calls := env.RP.FrontChannelLogouts(); len(calls) != 1 || !strings.HasPrefix(calls[0], webPath+"/frontchannel-logout") {
		t.Errorf("front-channel logout calls %v, want one", calls)
	}
	if got := env.RP.SignedOut(); len(got) != 1 || got[0] != "state=bye" {
		t.Errorf("post_logout_redirect_uri received %v, want [state=bye]", got)
	}

	// 4. prompt=none again: no session, so login_required at the app.
	browse(t, ctx, "prompt=none after sign-out",
		chromedp.Navigate(env.RP.URL+"/web/login?prompt=none"),
		chromedp.WaitVisible(chromedp.ID("result")),
	)
	after, _ := env.RP.Last("web")
	if after.Error != "login_required" || after.Code != "" || !strings.Contains(after.ErrorDescription, "AADSTS50058") {
		t.Errorf("prompt=none after sign-out: %+v; want login_required (AADSTS50058) and no code", after)
	}
}
