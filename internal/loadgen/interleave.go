package loadgen

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/secrets"
)

// Share is a scenario's rate next to a crypto ceiling measured in slices
// that alternate with the load's: whatever else the machine runs moves both
// alike, so the ratio holds still where back-to-back measurements do not.
type Share struct {
	Requests    int64
	LoadTime    time.Duration
	CeilingOps  int64
	CeilingTime time.Duration
	// P99s are the slices' p99 latencies, in order.
	P99s []time.Duration
}

// Rate is the scenario's successful requests/s over all load slices.
func (s Share) Rate() float64 { return perSecond(s.Requests, s.LoadTime) }

// CeilingRate is the ceiling's operations/s over all ceiling slices.
func (s Share) CeilingRate() float64 { return perSecond(s.CeilingOps, s.CeilingTime) }

// Percent is Rate as a percentage of CeilingRate.
func (s Share) Percent() float64 {
	if c := s.CeilingRate(); c > 0 {
		return 100 * s.Rate() / c
	}
	return 0
}

func (s Share) String() string {
	return fmt.Sprintf("%.1f req/s over %s; ceiling %.1f ops/s over %s; %.1f%% of it",
		s.Rate(), s.LoadTime.Round(time.Millisecond), s.CeilingRate(), s.CeilingTime.Round(time.Millisecond), s.Percent())
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Interleave runs rounds of load (opts, whose Duration is one slice) and of
// the ceiling op on every core (ceilingSlice each), alternating, and sums
// them. A failed request fails the whole measurement.
func Interleave(ctx context.Context, opts Options, req Request, rounds int, ceilingSlice time.Duration, op func()) (Share, error) {
	var s Share
	for range rounds {
		n, d := onEveryCore(ceilingSlice, op)
		s.CeilingOps, s.CeilingTime = s.CeilingOps+n, s.CeilingTime+d
		r, err := Run(ctx, opts, req)
		if err != nil {
			return s, err
		}
		if r.Errors > 0 {
			return s, fmt.Errorf("loadgen: %d errors, first: %s", r.Errors, r.FirstError)
		}
		s.Requests, s.LoadTime = s.Requests+r.Requests, s.LoadTime+r.Elapsed
		s.P99s = append(s.P99s, r.P99)
	}
	return s, nil
}

// RS256Op returns one RS256 signature with a fresh 2048-bit key: the
// floor cost of a token.
func RS256Op() (func(), error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte("entrance ceiling"))
	return func() { _, _ = rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]) }, nil
}

// Argon2idOp is one argon2id hash with Entrance's parameters: the floor
// cost of a password sign-in.
func Argon2idOp() { _, _ = secrets.HashPassword("Correct-Horse-9") }

// onEveryCore runs op on every core for about d and returns how many ops
// ran in how long.
func onEveryCore(d time.Duration, op func()) (int64, time.Duration) {
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				op()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return n.Load(), time.Since(start)
}

// RS256OpenSSLOp is RS256Op through the OpenSSL signer: the ceiling of a
// binary built with -tags openssl (an error in one built without).
func RS256OpenSSLOp() (func(), error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s, err := keys.NewOpenSSLSigner(key)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte("entrance ceiling"))
	return func() { _, _ = s.SignPKCS1v15SHA256(digest[:]) }, nil
}
