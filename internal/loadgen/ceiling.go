package loadgen

import (
	"fmt"
	"runtime"
	"time"

	"github.com/entranceidp/entrance/internal/keys"
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
	sign, err := RS256Op()
	if err != nil {
		return Ceilings{}, err
	}
	c := Ceilings{Cores: runtime.GOMAXPROCS(0)}
	c.RS256PerSecond = rateOnEveryCore(d, sign)
	c.Argon2idPerSec = rateOnEveryCore(d, Argon2idOp)
	if keys.OpenSSLBuiltIn {
		signOpenSSL, err := RS256OpenSSLOp()
		if err != nil {
			return c, err
		}
		c.RS256OpenSSLPerSecond = rateOnEveryCore(d, signOpenSSL)
	}
	return c, nil
}

// rateOnEveryCore runs op on every core for about d and returns ops/s.
func rateOnEveryCore(d time.Duration, op func()) float64 {
	return perSecond(onEveryCore(d, op))
}
