package store

import (
	"crypto/sha256"
	"encoding/base64"
)

// HashToken is how a handed-out secret value (session cookie, authorization
// code, refresh token) becomes the ID of its record: base64url SHA-256. The
// values have at least 256 bits of entropy, so a plain hash suffices.
func HashToken(value string) string {
	sum := sha256.Sum256([]byte(value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
