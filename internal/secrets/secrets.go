// Package secrets hashes the two kinds of secret Entrance checks: user
// passwords (argon2id, slow on purpose) and client secrets (HMAC-SHA-256 under a
// server pepper: fast, which is right for 256-bit random secrets and keeps the
// token endpoint from being capped by a password hash).
package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's first recommended configuration
// (m=19 MiB, t=2, p=1).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
)

// HashPassword returns an argon2id hash of password in the PHC string format.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// ErrMalformedHash is returned for a stored hash Entrance cannot read.
var ErrMalformedHash = errors.New("secrets: malformed password hash")

// VerifyPassword reports whether password matches the PHC-format argon2id hash.
// It reads the parameters from the hash, so hashes made with older parameters
// keep working.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var memory, iterations uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &iterations, &threads); err != nil || threads == 0 || iterations == 0 {
		return false, ErrMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, iterations, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// MinClientSecretLength is the shortest client secret Entrance accepts when one
// is supplied (for example `secretText` in a development directory file).
// Generated secrets are longer.
const MinClientSecretLength = 32

// GenerateClientSecret returns a new client secret with 256 bits of entropy, in
// Entra's shape: three characters, "8Q~", then the rest (40+ characters).
func GenerateClientSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)                          // never fails (Go 1.24+)
	s := base64.RawURLEncoding.EncodeToString(b) // 43 characters
	return s[:3] + "8Q~" + s[3:]
}

// Hint returns what Entra shows of a secret after creation: its first three characters.
func Hint(secret string) string {
	if len(secret) < 3 {
		return secret
	}
	return secret[:3]
}

// ClientSecretHasher hashes client secrets under the server's pepper.
type ClientSecretHasher struct {
	pepper []byte
}

// NewClientSecretHasher returns a hasher keyed with pepper (32 random bytes
// shared by every replica).
func NewClientSecretHasher(pepper []byte) *ClientSecretHasher {
	return &ClientSecretHasher{pepper: append([]byte(nil), pepper...)}
}

// Hash returns HMAC-SHA-256(pepper, secret).
func (h *ClientSecretHasher) Hash(secret string) []byte {
	mac := hmac.New(sha256.New, h.pepper)
	mac.Write([]byte(secret))
	return mac.Sum(nil)
}

// Verify reports, in constant time, whether secret hashes to stored.
func (h *ClientSecretHasher) Verify(stored []byte, secret string) bool {
	return hmac.Equal(stored, h.Hash(secret))
}
