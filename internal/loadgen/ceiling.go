package loadgen

import (
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

// Ceilings are the crypto operations/s this machine can do on all cores: the
// floor cost of one token (one RS256 signature) and of one password sign-in
// (one argon2id hash with Entrance's parameters).
type Ceilings struct {
	Cores          int
	RS256PerSecond float64
	Argon2idPerSec float64
	// RS256OpenSSLPerSecond is the same signature through libcrypto, measured
	// only in binaries built with the OpenSSL signer (-tags openssl).
	RS256OpenSSLPerSecond float64 `json:",omitempty"`
}

func (c Ceilings) String() string {
	s := fmt.Sprintf("ceilings on %d cores: RS256 %0.f signs/s, argon2id %.0f hashes/s", c.Cores, c.RS256PerSecond, c.Argon2idPerSec)
	if c.RS256OpenSSLPerSecond > 0 {
		s += fmt.Sprintf(", RS256 through OpenSSL %.0f signs/s", c.RS256OpenSSLPerSecond)
	}
	return s
}

// MeasureCeilings runs RS256 signing and argon2id hashing on every core for
// about d each.
func MeasureCeilings(d time.Duration) (Ceilings, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Ceilings{}, err
	}
	digest := sha256.Sum256([]byte("entrance ceiling"))
	c := Ceilings{Cores: runtime.GOMAXPROCS(0)}
	c.RS256PerSecond = parallelRate(d, c.Cores, func() {
		_, _ = rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	})
	c.Argon2idPerSec = parallelRate(d, c.Cores, func() {
		_, _ = secrets.HashPassword("Correct-Horse-9")
	})
	if keys.OpenSSLBuiltIn {
		s, err := keys.NewOpenSSLSigner(key)
		if err != nil {
			return c, err
		}
		c.RS256OpenSSLPerSecond = parallelRate(d, c.Cores, func() {
			_, _ = s.SignPKCS1v15SHA256(digest[:])
		})
	}
	return c, nil
}

// parallelRate runs op on n goroutines for about d and returns ops/s.
func parallelRate(d time.Duration, n int, op func()) float64 {
	var count atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				op()
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(count.Load()) / time.Since(start).Seconds()
}
