package e2e

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/store"
)

// The race tests run on the embedded SQLite database, and on PostgreSQL in
// CI's second pass (ENTRANCE_TEST_POSTGRES), like every test using Start.
// (Two replicas rotating keys at once are raced in internal/keys:
// TestReplicasRotateOnceAndAgree, on both databases.)

const racers = 20

// raceOutcome is one racer's answer: tokens, or the token endpoint's error.
type raceOutcome struct {
	tokens loadgen.TokenResponse
	err    error
}

// race runs fn racers times at once (all released together) and returns
// what each got.
func race(fn func() (loadgen.TokenResponse, error)) []raceOutcome {
	out := make([]raceOutcome, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			<-start
			out[i].tokens, out[i].err = fn()
		})
	}
	close(start)
	wg.Wait()
	return out
}

// winners returns the successful outcomes, and fails the test on any error
// other than the one every loser must get (HTTP 400, invalid_grant, code).
func winners(t *testing.T, outcomes []raceOutcome, loserCode int) []loadgen.TokenResponse {
	t.Helper()
	var won []loadgen.TokenResponse
	for _, o := range outcomes {
		var te *loadgen.TokenError
		switch {
		case o.err == nil:
			won = append(won, o.tokens)
		case errors.As(o.err, &te) && te.Status == 400 && te.Err == "invalid_grant" && te.Code() == loserCode:
		default:
			t.Errorf("racer got %v, want tokens or AADSTS%d", o.err, loserCode)
		}
	}
	return won
}

// signInCode signs Alice in to the pre-consented app and returns a fresh
// code and its verifier.
func signInCode(t *testing.T, env *Env, app loadgen.App) (code, verifier string) {
	t.Helper()
	p := loadgen.NewPKCE()
	ar, err := env.Browser().Authorize(context.Background(), app.AuthorizeURL(p, "s", "n", nil), app.RedirectURI,
		loadgen.Credentials{Username: AliceUPN, Password: Password})
	if err != nil || ar.Code() == "" {
		t.Fatalf("sign-in: %v %v", err, ar.Params)
	}
	return ar.Code(), p.Verifier
}

// Twenty redemptions of one code at once: exactly one gets tokens, the
// others AADSTS54005. A second redemption is treated as theft, so the
// winner's refresh token ends up revoked too (whichever request the
// database served first), and none of the losers' survives either: no
// refresh token comes out of a raced code alive.
func TestRaceCodeRedemption(t *testing.T) {
	env := Start(t, Options{})
	ctx := context.Background()
	app := env.App(ConsentedAppID, TenantID)
	code, verifier := signInCode(t, env, app)

	won := winners(t, race(func() (loadgen.TokenResponse, error) {
		return app.RedeemCode(ctx, env.Client, code, verifier)
	}), 54005)
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent redemptions got tokens, want exactly 1", len(won), racers)
	}
	if won[0].AccessToken == "" || won[0].RefreshToken == "" {
		t.Fatalf("the winner's answer lacks tokens: %+v", won[0])
	}
	_, err := app.Refresh(ctx, env.Client, won[0].RefreshToken)
	if te := (*loadgen.TokenError)(nil); !errors.As(err, &te) || te.Code() != 70008 {
		t.Errorf("refresh with the winner's refresh token after the replays: %v, want AADSTS70008", err)
	}
	rt, err := env.Store.GetRefreshToken(ctx, store.HashToken(won[0].RefreshToken))
	if err != nil || !rt.Revoked {
		t.Errorf("the winner's refresh token is not revoked: %+v %v", rt, err)
	}
}

// With single-use refresh tokens, twenty redemptions of one refresh token
// at once: exactly one gets tokens, the others AADSTS70008; the winner's
// new refresh token works, in the same family.
func TestRaceSingleUseRefreshToken(t *testing.T) {
	env := Start(t, Options{Configure: func(c *config.Config) { c.SingleUseRefreshTokens = true }})
	ctx := context.Background()
	app := env.App(ConsentedAppID, TenantID)
	code, verifier := signInCode(t, env, app)
	first, err := app.RedeemCode(ctx, env.Client, code, verifier)
	if err != nil {
		t.Fatal(err)
	}

	won := winners(t, race(func() (loadgen.TokenResponse, error) {
		return app.Refresh(ctx, env.Client, first.RefreshToken)
	}), 70008)
	if len(won) != 1 {
		t.Fatalf("%d of %d concurrent refreshes got tokens, want exactly 1", len(won), racers)
	}
	family := familyOf(t, env, first.RefreshToken)
	if got := familyOf(t, env, won[0].RefreshToken); got != family {
		t.Errorf("the new refresh token is of family %s, want %s (no family split)", got, family)
	}
	if _, err := app.Refresh(ctx, env.Client, won[0].RefreshToken); err != nil {
		t.Errorf("the winner's refresh token: %v", err)
	}
	if _, err := app.Refresh(ctx, env.Client, first.RefreshToken); err == nil {
		t.Error("the redeemed refresh token still works")
	}
}

// By default a redeemed refresh token stays valid, as in Entra (clients
// that refresh from several processes at once rely on it): all twenty
// concurrent redemptions get tokens, every new refresh token is of the
// original family (no family split) and works, and so does the old one.
func TestRaceReusableRefreshToken(t *testing.T) {
	env := Start(t, Options{})
	ctx := context.Background()
	app := env.App(ConsentedAppID, TenantID)
	code, verifier := signInCode(t, env, app)
	first, err := app.RedeemCode(ctx, env.Client, code, verifier)
	if err != nil {
		t.Fatal(err)
	}

	won := winners(t, race(func() (loadgen.TokenResponse, error) {
		return app.Refresh(ctx, env.Client, first.RefreshToken)
	}), 0)
	if len(won) != racers {
		t.Fatalf("%d of %d concurrent refreshes got tokens, want all", len(won), racers)
	}
	family := familyOf(t, env, first.RefreshToken)
	seen := map[string]bool{}
	for _, w := range won {
		if seen[w.RefreshToken] {
			t.Error("two redemptions got the same refresh token")
		}
		seen[w.RefreshToken] = true
		if got := familyOf(t, env, w.RefreshToken); got != family {
			t.Errorf("a new refresh token is of family %s, want %s", got, family)
		}
	}
	for _, rt := range []string{won[0].RefreshToken, first.RefreshToken} {
		if _, err := app.Refresh(ctx, env.Client, rt); err != nil {
			t.Errorf("refresh after the race: %v", err)
		}
	}
}

func familyOf(t *testing.T, env *Env, refreshToken string) string {
	t.Helper()
	rt, err := env.Store.GetRefreshToken(context.Background(), store.HashToken(refreshToken))
	if err != nil {
		t.Fatalf("refresh token not stored: %v", err)
	}
	return rt.FamilyID
}
