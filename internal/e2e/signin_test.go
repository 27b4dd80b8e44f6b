package e2e

import (
	"context"
	"slices"
	"testing"

	"github.com/entranceidp/entrance/internal/loadgen"
)

// The Go client the benchmarks use (cookie jar, no JavaScript) signs in
// through the pages and redeems the code; the second sign-in in the same
// jar is single sign-on, without pages.
func TestGoClientSignIn(t *testing.T) {
	env := Start(t, Options{})
	ctx := context.Background()
	alice := loadgen.Credentials{Username: AliceUPN, Password: Password}
	for _, tc := range []struct {
		name      string
		app       string
		firstRun  []string
		secondRun []string
	}{
		{"consent asked", WebAppID, []string{"username", "password", "consent"}, nil},
		{"consent granted by the admin", ConsentedAppID, []string{"username", "password"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := env.App(tc.app, TenantID)
			b := env.Browser()
			for i, want := range [][]string{tc.firstRun, tc.secondRun} {
				p := loadgen.NewPKCE()
				ar, err := b.Authorize(ctx, app.AuthorizeURL(p, "st", "n", nil), app.RedirectURI, alice)
				if err != nil {
					t.Fatalf("sign-in %d: %v", i+1, err)
				}
				if !slices.Equal(ar.Pages, want) || ar.Code() == "" || ar.Params.Get("state") != "st" {
					t.Fatalf("sign-in %d: pages %v, params %v; want pages %v and a code", i+1, ar.Pages, ar.Params, want)
				}
				tr, err := app.RedeemCode(ctx, b.Client, ar.Code(), p.Verifier)
				if err != nil {
					t.Fatalf("sign-in %d: redeem: %v", i+1, err)
				}
				if tr.IDToken == "" || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
					t.Errorf("sign-in %d: token response %+v", i+1, tr)
				}
			}
		})
	}
}

// The scenarios `entrance bench` runs (loadgen.Run over the flows) work
// against a real server: a few requests each, no errors.
func TestLoadgenScenarios(t *testing.T) {
	env := Start(t, Options{})
	ctx := context.Background()
	app := env.App(ConsentedAppID, TenantID)
	user := loadgen.Credentials{Username: BobUPN, Password: Password}
	raw, err := loadgen.NewRawClient(env.Base, env.TLS)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	refresh, err := loadgen.RefreshRedemptions(ctx, app, user, env.TLS, raw, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  loadgen.Request
		opts loadgen.Options
	}{
		{"password sign-ins", loadgen.PasswordSignIns(app, user, env.TLS), loadgen.Options{Concurrency: 2, MaxRequests: 4, Warmup: 1}},
		{"refresh redemptions", refresh, loadgen.Options{Concurrency: 3, MaxRequests: 30, Warmup: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := loadgen.Run(ctx, tc.opts, tc.req)
			if err != nil || res.Errors != 0 || res.Requests != tc.opts.MaxRequests {
				t.Errorf("%v: %s", err, res)
			}
		})
	}
}
