package e2e

// The "Must show": MSAL Go's public client signs in with the device
// code flow (AcquireTokenByDeviceCode) while a real browser (Chromium,
// driven by chromedp) enters the code at the device page, signs in and
// consents; the token MSAL gets verifies against Entrance's JWKS.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
)

func TestMSALGoDeviceCode(t *testing.T) {
	env := Start(t, Options{})
	devicePublicClient(t, env)
	browser := NewChrome(t, env)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	polls := &pollRecorder{next: &http.Transport{TLSClientConfig: env.TLS.Clone()}}
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: polls}
	pca, err := public.New(MSALAppID,
		public.WithAuthority(env.Base+"/"+TenantID),
		public.WithInstanceDiscovery(false), // MSAL would ask Microsoft about our host
		public.WithHTTPClient(httpClient),
	)
	if err != nil {
		t.Fatal(err)
	}
	scopes := []string{"https://graph.microsoft.com/User.Read"}
	// MSAL derives the device code URL from the token URL ("token" →
	// "devicecode") and adds openid, profile and offline_access.
	dc, err := pca.AcquireTokenByDeviceCode(ctx, scopes)
	if err != nil {
		t.Fatalf("AcquireTokenByDeviceCode: %v", err)
	}
	res := dc.Result
	if res.VerificationURL != env.Base+"/devicelogin" || len(res.UserCode) != 9 ||
		!strings.Contains(res.Message, res.UserCode) || !strings.Contains(res.Message, res.VerificationURL) {
		t.Fatalf("device code result: %+v", res)
	}

	// MSAL polls (authorization_pending, slow_down) until the user is done.
	type outcome struct {
		r   public.AuthResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		r, err := dc.AuthenticationResult(ctx)
		done <- outcome{r, err}
	}()

	browse(t, browser, "enter the code, sign in and consent",
		chromedp.Navigate(res.VerificationURL),
		chromedp.WaitVisible(chromedp.ID("otc")),
		chromedp.SendKeys(chromedp.ID("otc"), res.UserCode+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`button[value="continue"]`)),
		chromedp.Click(chromedp.CSS(`button[value="continue"]`)),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), AliceUPN+"\r"),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), Password+"\r"),
		chromedp.WaitVisible(chromedp.CSS(`button[value="consent"]`)),
		chromedp.Click(chromedp.CSS(`button[value="consent"]`)),
		chromedp.WaitVisible(chromedp.ID("device-signed-in")),
	)
	if text := read(t, browser, "result", chromedp.Text(chromedp.ID("device-signed-in"))); !strings.Contains(text, "You may now close this window") {
		t.Errorf("device page says %q", text)
	}

	var got outcome
	select {
	case got = <-done:
	case <-ctx.Done():
		t.Fatal("MSAL did not get a token in time")
	}
	if got.err != nil {
		t.Fatalf("AuthenticationResult: %v", got.err)
	}
	r := got.r
	// MSAL polls faster than the interval at first (50 ms, tripling up to
	// 5 s): it met both waiting answers, and kept going.
	if seen := polls.errors(); !slices.Contains(seen, "authorization_pending") || !slices.Contains(seen, "slow_down") {
		t.Errorf("MSAL's polls were answered %v; want authorization_pending and slow_down among them", seen)
	}
	if r.AccessToken == "" || r.IDToken.PreferredUsername != AliceUPN || r.IDToken.TenantID != TenantID ||
		r.Account.HomeAccountID != AliceID+"."+TenantID {
		t.Fatalf("result: token %t, ID token %+v, account %+v", r.AccessToken != "", r.IDToken, r.Account)
	}

	// Both tokens are signed with a key of the tenant's JWKS.
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(ctx, httpClient), env.Base+"/"+TenantID+"/discovery/v2.0/keys")
	for name, jwt := range map[string]string{"access token": r.AccessToken, "ID token": r.IDToken.RawToken} {
		if _, err := keys.VerifySignature(ctx, jwt); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// MSAL cached the account and its tokens: a silent request is served
	// from the cache.
	accounts, err := pca.Accounts(ctx)
	if err != nil || len(accounts) != 1 {
		t.Fatalf("accounts %v, %v", accounts, err)
	}
	silent, err := pca.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(accounts[0]))
	if err != nil || silent.AccessToken != r.AccessToken {
		t.Errorf("AcquireTokenSilent: %v (same token: %t)", err, silent.AccessToken == r.AccessToken)
	}
}

// pollRecorder is MSAL's transport: it notes the OAuth error of every
// token endpoint answer.
type pollRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (p *pollRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token") {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	p.mu.Lock()
	p.seen = append(p.seen, e.Error)
	p.mu.Unlock()
	return resp, nil
}

func (p *pollRecorder) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}
