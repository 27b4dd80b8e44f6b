// Package devicecode holds what the two halves of the device code flow share:
// the device code endpoint and its polling grant (internal/token) and the
// device page where the user enters the code (internal/authorize) — the user
// code's alphabet, the page's path and Entra's timings.
package devicecode

import (
	"crypto/rand"
	"strings"
	"time"
)

// Entra's timings: the user has 15 minutes to sign in (expires_in 900), and
// the device polls every 5 seconds (interval 5).
const (
	Lifetime = 15 * time.Minute
	Interval = 5 * time.Second
)

// VerificationPath is the device page on Entrance's host: the
// verification_uri is the public URL followed by it (Entra's is
// https://microsoft.com/devicelogin).
const VerificationPath = "/devicelogin"

// UserCodeLength is the length of a user code; Entra's are 9 characters.
const UserCodeLength = 9

// alphabet has the upper-case letters and digits people do not confuse when
// reading or typing them: no I, O, 0 or 1. 32 characters, so every random
// byte maps to one without bias and 9 of them carry 45 bits — with the
// device page's throttling, far beyond guessing within 15 minutes.
const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// NewUserCode returns a random user code.
func NewUserCode() string {
	b := make([]byte, UserCodeLength)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b)
}

// NormalizeUserCode turns what a user typed into the stored form: spaces
// and dashes dropped, upper case. It reports false for anything that cannot
// be a user code, so the store is not asked about it.
func NormalizeUserCode(typed string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case !strings.ContainsRune(alphabet, r):
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != UserCodeLength {
		return "", false
	}
	return b.String(), true
}

// Message is the instruction Entra puts in the device code response's
// message, in its words.
func Message(verificationURI, userCode string) string {
	return "To sign in, use a web browser to open the page " + verificationURI +
		" and enter the code " + userCode + " to authenticate."
}
