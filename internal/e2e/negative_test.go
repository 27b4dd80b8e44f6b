package e2e

// The "Must show": a negative test for every AADSTS code issue 3
// names, each through the whole server over HTTPS the way a client meets
// it — a browser at the authorize endpoint (cookie jar, real pages), an app
// at the token endpoint with a code from a real sign-in — asserting the
// code, the HTTP status and that nothing was issued.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/store"
)

// outcome is what a client saw.
type outcome struct {
	Status int
	Code   int    // AADSTS code
	Error  string // OAuth error; "page" for Entrance's error page or a form showing an error
	Issued bool   // a code or a token came back
}

var reAADSTS = regexp.MustCompile(`AADSTS(\d+)`)

// authorizeOutcome is what a browser sees after an authorize request.
func authorizeOutcome(t *testing.T, ar loadgen.AuthResponse, err error) outcome {
	t.Helper()
	var pe *loadgen.PageError
	if errors.As(err, &pe) {
		return outcome{Status: pe.Status, Code: pe.Code, Error: "page"}
	}
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	o := outcome{Status: ar.Status, Error: ar.Params.Get("error"),
		Issued: ar.Code() != "" || ar.Params.Get("id_token") != "" || ar.Params.Get("access_token") != ""}
	if m := reAADSTS.FindStringSubmatch(ar.Params.Get("error_description")); m != nil {
		o.Code, _ = strconv.Atoi(m[1])
	}
	return o
}

// tokenOutcome is what an app sees after a token request.
func tokenOutcome(t *testing.T, tr loadgen.TokenResponse, err error) outcome {
	t.Helper()
	var te *loadgen.TokenError
	if errors.As(err, &te) {
		return outcome{Status: te.Status, Code: te.Code(), Error: te.Err,
			Issued: strings.Contains(te.Body, "access_token") || strings.Contains(te.Body, "refresh_token")}
	}
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	return outcome{Status: http.StatusOK, Issued: tr.AccessToken != "" || tr.RefreshToken != "" || tr.IDToken != ""}
}

// negEnv signs Alice in once per app (then single sign-on) to get codes.
type negEnv struct {
	*Env
	browsers map[string]*loadgen.Browser
}

var alice = loadgen.Credentials{Username: AliceUPN, Password: Password}

// code signs Alice in to appID at its home tenant and returns the app, a
// fresh code and its PKCE verifier.
func (e *negEnv) code(t *testing.T, appID string) (loadgen.App, string, string) {
	t.Helper()
	app := e.App(appID, TenantID)
	b := e.browsers[appID]
	if b == nil {
		b = e.Browser()
		e.browsers[appID] = b
	}
	p := loadgen.NewPKCE()
	ar, err := b.Authorize(context.Background(), app.AuthorizeURL(p, "s", "n", nil), app.RedirectURI, alice)
	if err != nil || ar.Code() == "" {
		t.Fatalf("sign-in to %s: %v %v", appID, err, ar.Params)
	}
	return app, ar.Code(), p.Verifier
}

func redeem(ctx context.Context, e *negEnv, tokenURL string, app loadgen.App, code, verifier string, auth loadgen.ClientAuth, secret string) (loadgen.TokenResponse, error) {
	return loadgen.PostToken(ctx, e.Client, tokenURL, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {app.RedirectURI}, "code_verifier": {verifier},
	}, auth, app.ClientID, secret)
}

func TestNegativeAADSTS(t *testing.T) {
	e := &negEnv{Env: Start(t, Options{}), browsers: map[string]*loadgen.Browser{}}
	ctx := context.Background()
	tokenURL := func(tenant string) string { return e.Base + "/" + tenant + "/oauth2/v2.0/token" }
	authorize := func(t *testing.T, app loadgen.App, extra url.Values, user loadgen.Credentials) outcome {
		t.Helper()
		p := loadgen.NewPKCE()
		ar, err := e.Browser().Authorize(ctx, app.AuthorizeURL(p, "s", "n", extra), app.RedirectURI, user)
		return authorizeOutcome(t, ar, err)
	}

	tests := []struct {
		name string
		run  func(t *testing.T) outcome
		want outcome
	}{
		{"50194 single-tenant app on /common", func(t *testing.T) outcome {
			return authorize(t, e.App(WebAppID, "common"), nil, alice)
		}, outcome{Status: 400, Code: 50194, Error: "page"}},

		{"700016 app of another tenant", func(t *testing.T) outcome {
			return authorize(t, e.App(WebAppID, OtherTenantID), nil, alice)
		}, outcome{Status: 400, Code: 700016, Error: "page"}},

		{"700016 unknown client_id", func(t *testing.T) outcome {
			app := e.App(WebAppID, TenantID)
			app.ClientID = "0badc0de-0000-4000-8000-000000000000"
			return authorize(t, app, nil, alice)
		}, outcome{Status: 400, Code: 700016, Error: "page"}},

		{"700016 unknown client_id at the token endpoint", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, WebAppID)
			app.ClientID = "0badc0de-0000-4000-8000-000000000000"
			tr, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.SecretPost, WebSecret)
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 400, Code: 700016, Error: "unauthorized_client"}},

		{"50011 redirect URI not registered: error page, no redirect", func(t *testing.T) outcome {
			app := e.App(WebAppID, TenantID)
			sent := e.RP.URL + "/not-registered"
			app.RedirectURI = sent
			p := loadgen.NewPKCE()
			_, err := e.Browser().Authorize(ctx, app.AuthorizeURL(p, "s", "n", nil), sent, alice)
			var pe *loadgen.PageError
			if errors.As(err, &pe) && !strings.Contains(pe.Message, sent) {
				t.Errorf("error page message %q does not name the redirect URI sent", pe.Message)
			}
			return authorizeOutcome(t, loadgen.AuthResponse{}, err)
		}, outcome{Status: 400, Code: 50011, Error: "page"}},

		{"700054 id_token not enabled for the app", func(t *testing.T) outcome {
			return authorize(t, e.App(WebAppID, TenantID), url.Values{
				"response_type": {"id_token"}, "scope": {"openid"}, "code_challenge": nil, "code_challenge_method": nil,
			}, alice)
		}, outcome{Status: 302, Code: 700054, Error: "unsupported_response_type"}},

		{"54005 code replayed, and the first redemption's refresh token is revoked", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, WebAppID)
			first, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.SecretBasic, WebSecret)
			if err != nil || first.RefreshToken == "" {
				t.Fatalf("first redemption: %v", err)
			}
			tr, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.SecretBasic, WebSecret)
			replay := tokenOutcome(t, tr, err)
			// The replay is treated as theft: what the first redemption
			// issued stops working.
			rtr, err := app.Refresh(ctx, e.Client, first.RefreshToken)
			if got := tokenOutcome(t, rtr, err); got.Status != 400 || got.Error != "invalid_grant" || got.Issued {
				t.Errorf("refresh with the first redemption's refresh token after the replay: %+v, want 400 invalid_grant", got)
			}
			return replay
		}, outcome{Status: 400, Code: 54005, Error: "invalid_grant"}},

		{"501481 wrong code_verifier", func(t *testing.T) outcome {
			app, code, _ := e.code(t, WebAppID)
			tr, err := redeem(ctx, e, tokenURL(TenantID), app, code, loadgen.NewPKCE().Verifier, loadgen.SecretBasic, WebSecret)
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 400, Code: 501481, Error: "invalid_grant"}},

		{"700005 code redeemed at another tenant", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, MultiAppID) // multi-tenant: the client is fine at Fabrikam
			tr, err := redeem(ctx, e, tokenURL(OtherTenantID), app, code, verifier, loadgen.SecretBasic, MultiSecret)
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 400, Code: 700005, Error: "invalid_grant"}},

		{"7000222 expired client secret", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, ExpiredAppID)
			tr, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.SecretBasic, ExpiredSecret)
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 401, Code: 7000222, Error: "invalid_client"}},

		{"7000215 wrong client secret", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, WebAppID)
			tr, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.SecretPost, "not-the-secret-0123456789abcdefghijk")
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 401, Code: 7000215, Error: "invalid_client"}},

		{"7000218 no client credential", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, WebAppID)
			tr, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.NoSecret, "")
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 401, Code: 7000218, Error: "invalid_client"}},

		{"700082 refresh token inactive too long", func(t *testing.T) outcome {
			app, code, verifier := e.code(t, WebAppID)
			first, err := redeem(ctx, e, tokenURL(TenantID), app, code, verifier, loadgen.SecretBasic, WebSecret)
			if err != nil || first.RefreshToken == "" {
				t.Fatalf("redemption: %v", err)
			}
			// 91 days pass without the token being used (Entra's
			// inactivity limit is 90).
			if _, err := e.Store.UpdateRefreshToken(ctx, store.HashToken(first.RefreshToken), func(rt store.RefreshToken) (store.RefreshToken, error) {
				ago := 91 * 24 * time.Hour
				rt.IssuedAt, rt.FamilyCreatedAt, rt.AuthTime = rt.IssuedAt.Add(-ago), rt.FamilyCreatedAt.Add(-ago), rt.AuthTime.Add(-ago)
				rt.ExpiresAt = time.Now().Add(-24 * time.Hour).UTC()
				return rt, nil
			}); err != nil {
				t.Fatal(err)
			}
			tr, err := app.Refresh(ctx, e.Client, first.RefreshToken)
			return tokenOutcome(t, tr, err)
		}, outcome{Status: 400, Code: 700082, Error: "invalid_grant"}},

		{"50053 account locked after repeated wrong passwords", func(t *testing.T) outcome {
			app := e.App(WebAppID, TenantID)
			wrong := loadgen.Credentials{Username: MalloryUPN, Password: "Wrong-Horse-1"}
			var got outcome
			for i := 1; i <= 20 && got.Code != 50053; i++ {
				got = authorize(t, app, nil, wrong)
				if got.Code != 50126 && got.Code != 50053 {
					t.Fatalf("wrong password %d: %+v, want AADSTS50126 or 50053 on the password page", i, got)
				}
			}
			// Locked: even the right password is refused, and no code
			// reaches the app.
			return authorize(t, app, nil, loadgen.Credentials{Username: MalloryUPN, Password: Password})
		}, outcome{Status: 200, Code: 50053, Error: "page"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.run(t); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
