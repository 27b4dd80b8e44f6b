package e2e

// The benchmarks, against a real server over HTTPS in this process
// (client and server share the machine's cores, as with `entrance bench`):
//
//	go test -run '^$' -bench 'PasswordSignIn|RefreshRedemption' -benchtime 1x ./internal/e2e
//
// Each reports its share of what it is compared with, measured in the same
// run: argon2id hashes/s (one per password sign-in) and RS256 signatures/s
// (one per token). BenchmarkCeilings measures both on their own.

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/server"
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

// The two measurements alternate load slices with ceiling slices
// (loadgen.Interleave): rounds × slice of load, each after half a slice of
// the ceiling on every core.
//
// The server runs in this process: the benchmarks set the garbage
// collector as `entrance serve` does (server.TuneGC).
const (
	benchRounds = 5
	benchSlice  = 3 * time.Second
)

// BenchmarkPasswordSignIn: full password sign-ins — authorize, username
// page, password page, code, token — each in a fresh cookie jar (no SSO),
// consent granted by the admin beforehand; two in flight per core, since
// argon2id holds a core while the rest of a sign-in waits on the network.
func BenchmarkPasswordSignIn(b *testing.B) {
	server.TuneGC()
	env := Start(b, Options{})
	app := env.App(ConsentedAppID, TenantID)
	user := loadgen.Credentials{Username: BobUPN, Password: Password}
	req := loadgen.PasswordSignIns(app, user, env.TLS)
	ctx := context.Background()
	opts := loadgen.Options{Concurrency: benchConc(2) * runtime.GOMAXPROCS(0), Duration: benchSlice}
	var share loadgen.Share
	for b.Loop() {
		if _, err := loadgen.Run(ctx, loadgen.Options{Concurrency: opts.Concurrency, MaxRequests: 1, Warmup: 1}, req); err != nil {
			b.Fatal(err)
		}
		var err error
		if share, err = loadgen.Interleave(ctx, opts, req, benchRounds, benchSlice/2, loadgen.Argon2idOp); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("sign-ins: %s", share)
	b.ReportMetric(share.Rate(), "signins/s")
	b.ReportMetric(share.CeilingRate(), "argon2id/s")
	b.ReportMetric(share.Percent(), "%argon2id")
}

// BenchmarkRefreshRedemption: refresh-token redemptions with a client
// secret (client_secret_basic), each worker rotating its own token. With
// openid in the granted scope Entra answers with an ID token too (two RS256
// signatures per redemption); an app that asked only for API scopes gets an
// access token and a refresh token (one signature).
func BenchmarkRefreshRedemption(b *testing.B) {
	server.TuneGC()
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
			opts := loadgen.Options{Concurrency: benchConc(8) * runtime.GOMAXPROCS(0), Duration: benchSlice}
			ctx := context.Background()
			req, err := loadgen.RefreshRedemptions(ctx, app, user, env.TLS, raw, opts.Concurrency)
			if err != nil {
				b.Fatal(err)
			}
			sign, err := loadgen.RS256Op()
			if err != nil {
				b.Fatal(err)
			}
			var share loadgen.Share
			for b.Loop() {
				if _, err := loadgen.Run(ctx, loadgen.Options{Concurrency: opts.Concurrency, MaxRequests: 1, Warmup: 5}, req); err != nil {
					b.Fatal(err)
				}
				if share, err = loadgen.Interleave(ctx, opts, req, benchRounds, benchSlice/2, sign); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("refresh (%s): %s", bc.name, share)
			b.ReportMetric(share.Rate(), "refreshes/s")
			b.ReportMetric(share.CeilingRate(), "RS256/s")
			b.ReportMetric(share.Percent(), "%RS256")
		})
	}
}

// benchConc is the refresh benchmark's workers per core:
// ENTRANCE_BENCH_WORKERS_PER_CORE, else def.
func benchConc(def int) int {
	if n, err := strconv.Atoi(os.Getenv("ENTRANCE_BENCH_WORKERS_PER_CORE")); err == nil {
		return n
	}
	return def
}
