package e2e

// The benchmarks, against a real server over HTTPS in this process
// (client and server share the machine's cores, as with `entrance bench`):
//
//	go test -run '^$' -bench 'Ceilings|PasswordSignIn|RefreshRedemption' -benchtime 10s ./internal/e2e
//
// BenchmarkCeilings measures, in the same run, what the two flows are
// compared with: argon2id hashes/s (one per password sign-in) and RS256
// signatures/s (one per token).

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/loadgen"
)

func BenchmarkCeilings(b *testing.B) {
	var c loadgen.Ceilings
	for b.Loop() {
		var err error
		if c, err = loadgen.MeasureCeilings(2 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(c.Argon2idPerSec, "argon2id/s")
	b.ReportMetric(c.RS256PerSecond, "RS256/s")
}

// BenchmarkPasswordSignIn: full password sign-ins — authorize, username
// page, password page, code, token — each in a fresh cookie jar (no SSO),
// consent granted by the admin beforehand.
func BenchmarkPasswordSignIn(b *testing.B) {
	env := Start(b, Options{})
	app := env.App(ConsentedAppID, TenantID)
	user := loadgen.Credentials{Username: BobUPN, Password: Password}
	req := loadgen.PasswordSignIns(app, user, env.TLS)
	if err := req(context.Background(), 0); err != nil { // one to check the flow works
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetParallelism(2) // argon2id holds a core; two in flight per core keep them busy
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		worker := int(next.Add(1))
		for pb.Next() {
			if err := req(context.Background(), worker); err != nil {
				b.Error(err)
				return
			}
		}
	})
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "signins/s")
	if c, ok := ceilingsNow(b); ok {
		b.ReportMetric(100*rate/c.Argon2idPerSec, "%argon2id")
	}
}

// ceilingsNow measures the ceilings right after a long enough run (the
// last round of b.N), so that a benchmark and the ceiling it is compared
// with see the same load from the machine's other users.
func ceilingsNow(b *testing.B) (loadgen.Ceilings, bool) {
	if b.Elapsed() < time.Second {
		return loadgen.Ceilings{}, false
	}
	b.StopTimer()
	c, err := loadgen.MeasureCeilings(2 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	return c, true
}

// BenchmarkRefreshRedemption: refresh-token redemptions with a client
// secret (client_secret_basic), each worker rotating its own token. With
// openid in the granted scope Entra answers with an ID token too (two RS256
// signatures per redemption); an app that asked only for API scopes gets an
// access token and a refresh token (one signature).
func BenchmarkRefreshRedemption(b *testing.B) {
	for _, bc := range []struct{ name, scope string }{
		{"with-id-token", "openid profile offline_access User.Read"},
		{"access-token-only", "offline_access User.Read"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			env := Start(b, Options{})
			app := env.App(ConsentedAppID, TenantID)
			app.Scope = bc.scope
			user := loadgen.Credentials{Username: BobUPN, Password: Password}
			raw, err := loadgen.NewRawClient(env.Base, env.TLS)
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			const parallelism = 4
			workers := parallelism * runtime.GOMAXPROCS(0)
			req, err := loadgen.RefreshRedemptions(context.Background(), app, user, env.TLS, raw, workers)
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism(parallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				worker := int(next.Add(1)-1) % workers
				for pb.Next() {
					if err := req(context.Background(), worker); err != nil {
						b.Error(err)
						return
					}
				}
			})
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "refreshes/s")
			if c, ok := ceilingsNow(b); ok {
				b.ReportMetric(100*rate/c.RS256PerSecond, "%RS256")
			}
		})
	}
}
