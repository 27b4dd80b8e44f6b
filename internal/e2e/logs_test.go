package e2e

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// Nothing secret reaches the logs: an `entrance serve` process logging at
// debug level (JSON) runs sign-ins with consent, code redemptions, refreshes,
// client credentials with secrets (right and wrong), a wrong password and
// Graph calls, and its whole log is then searched for every password,
// secret, code, token, cookie, PKCE verifier and key it saw.
func TestNoSecretsInLogs(t *testing.T) {
	dsn := ""
	if os.Getenv(storetest.PostgresEnv) != "" {
		dsn = storetest.NewPostgresDSN(t)
	}
	c := newCluster(t, 1, dsn, "--log-level", "debug", "--log-format", "json")
	a := c.replicas[0]
	ctx := context.Background()
	client := c.to(a)
	secrets := map[string]string{
		"password": Password, "web app secret": WebSecret, "pre-consented app secret": ConsentedSecret,
		"wrong password": "Wrong-Horse-9", "wrong secret": "wrong-secret-0123456789abcdefghijk",
	}
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "ENTRANCE_MASTER_KEY="); ok {
			secrets["master key"] = v
		}
	}
	keep := func(what, v string) {
		if v != "" {
			secrets[what+" "+v[:min(8, len(v))]] = v
		}
	}
	keepTokens := func(what string, tr loadgen.TokenResponse) {
		keep(what+" access token", tr.AccessToken)
		keep(what+" refresh token", tr.RefreshToken)
		keep(what+" ID token", tr.IDToken)
	}

	for _, appID := range []string{WebAppID, ConsentedAppID} { // with and without a consent page
		app := c.app(appID)
		jar, _ := cookiejar.New(nil)
		b := loadgen.NewBrowserWithTransport(c.via(func(*http.Request) *replica { return a }))
		b.Client.Jar = jar
		p := loadgen.NewPKCE()
		ar, err := b.Authorize(ctx, app.AuthorizeURL(p, "st", "n", nil), app.RedirectURI, loadgen.Credentials{Username: AliceUPN, Password: Password})
		if err != nil {
			t.Fatal(err)
		}
		keep("code", ar.Code())
		keep("PKCE verifier", p.Verifier)
		for _, ck := range jar.Cookies(&url.URL{Scheme: "https", Host: c.lb.Addr(), Path: "/"}) {
			keep("cookie "+ck.Name, ck.Value)
		}
		tr, err := app.RedeemCode(ctx, client, ar.Code(), p.Verifier)
		if err != nil {
			t.Fatal(err)
		}
		keepTokens("code", tr)
		next, err := app.Refresh(ctx, client, tr.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		keepTokens("refresh", next)
		// A code redeemed twice (AADSTS54005) and a refresh token of another client.
		if _, err := app.RedeemCode(ctx, client, ar.Code(), p.Verifier); err == nil {
			t.Error("a code was redeemed twice")
		}
		req, _ := http.NewRequest(http.MethodGet, c.public+"/oidc/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+next.AccessToken)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	// A wrong password, on the page.
	web := c.app(WebAppID)
	if _, err := web.SignIn(ctx, loadgen.NewBrowserWithTransport(c.via(func(*http.Request) *replica { return a })),
		loadgen.Credentials{Username: MalloryUPN, Password: secrets["wrong password"]}); err == nil {
		t.Error("a wrong password signed in")
	}
	// Client credentials: right secrets (basic and post), a wrong one.
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}
	for _, tc := range []struct {
		id, secret string
		auth       loadgen.ClientAuth
		ok         bool
	}{
		{ConsentedAppID, ConsentedSecret, loadgen.SecretPost, true},
		{WebAppID, WebSecret, loadgen.SecretBasic, true},
		{WebAppID, secrets["wrong secret"], loadgen.SecretPost, false},
	} {
		tr, err := loadgen.PostToken(ctx, client, web.TokenURL(), cc, tc.auth, tc.id, tc.secret)
		if (err == nil) != tc.ok {
			t.Errorf("client credentials as %s: %v", tc.id, err)
		}
		keepTokens("client credentials", tr)
	}

	a.stop() // flush everything: the log is complete once the process ended
	logs := a.logs.String()
	if !strings.Contains(logs, `"level":"DEBUG"`) || !strings.Contains(logs, "token request refused") {
		t.Fatalf("the log is not at debug level, or the flows did not run:\n%.2000s", logs)
	}
	for what, v := range secrets {
		for _, form := range []string{v, url.QueryEscape(v)} {
			if strings.Contains(logs, form) {
				t.Errorf("the log contains the %s", what)
			}
		}
		// A JWT's signature or claims alone would be as bad.
		if parts := strings.Split(v, "."); len(parts) == 3 {
			for _, p := range parts[1:] {
				if len(p) > 16 && strings.Contains(logs, p) {
					t.Errorf("the log contains part of the %s", what)
				}
			}
		}
	}
	for _, marker := range []string{"PRIVATE KEY", "BEGIN RSA", "client_secret=", "password="} {
		if strings.Contains(logs, marker) {
			t.Errorf("the log contains %q", marker)
		}
	}
	t.Logf("%d secrets searched for in %d lines of debug log", len(secrets), strings.Count(logs, "\n"))
}
