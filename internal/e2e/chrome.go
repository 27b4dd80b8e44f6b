package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// NewChrome starts a headless Chromium for one test, with a fresh profile,
// that trusts exactly the server's certificate: Chromium on Linux reads its
// trust store from NSS, so instead of installing the development CA the
// certificate's public key is pinned with --ignore-certificate-errors-spki-list
// (which Chromium honours only with --user-data-dir). Certificate errors on
// any other site still fail.
//
// Without Chromium the test is skipped, unless CI is set: then it fails, so
// CI can never pass by skipping the browser.
func NewChrome(t testing.TB, env *Env) context.Context {
	t.Helper()
	return newChrome(t, env, t.TempDir())
}

// NewChromeThirdPartyCookies is NewChrome with third-party cookies allowed,
// as in Chrome's regular windows: Chromium's fresh profile here blocks them,
// and silent renewal in a hidden iframe needs the SSO cookie in a
// third-party context (a browser that blocks them gets login_required, as
// with Entra).
func NewChromeThirdPartyCookies(t testing.TB, env *Env) context.Context {
	t.Helper()
	dir := t.TempDir()
	prefs := []byte(`{"profile":{"cookie_controls_mode":0}}`) // 0: allow third-party cookies
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), prefs, 0o600); err != nil {
		t.Fatal(err)
	}
	return newChrome(t, env, dir)
}

func newChrome(t testing.TB, env *Env, profile string) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found (CI is set, so this fails instead of skipping): install Debian's chromium (apt-get install -y chromium)", ChromiumPath)
		}
		t.Skipf("%s not found: install Debian's chromium (apt-get install -y chromium) to run the browser tests", ChromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("ignore-certificate-errors-spki-list", env.SPKIHash),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	// Start the browser now, so a broken installation fails here clearly.
	// (The context of the first Run decides the browser's lifetime, so it
	// gets no timeout of its own.)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}
