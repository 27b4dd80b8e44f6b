// Package ids makes the identifiers Entrance hands out: GUIDs for directory
// objects, like Entra's, and opaque random tokens.
package ids

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// NewGUID returns a random (version 4) GUID in Entra's lower-case form.
func NewGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return FormatGUID(b)
}

// FormatGUID writes 16 bytes in GUID text form (8-4-4-4-12 lower-case hex,
// in byte order). By hand: this runs for every request (trace ids), and
// fmt.Sprintf costs several times as much.
func FormatGUID(b [16]byte) string {
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// IsGUID reports whether s has the 8-4-4-4-12 hex form of a GUID.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// RandomToken returns n random bytes, base64url-encoded without padding.
func RandomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
