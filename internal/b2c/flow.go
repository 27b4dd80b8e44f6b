package b2c

import (
	"errors"
	"fmt"
	"time"

	"github.com/entranceidp/entrance/internal/sealedstate"
)

// flow is the state of one run of a user flow, carried from page to page
// in a hidden form field, sealed (AES-256-GCM) so the browser can neither
// read nor change it — it holds the hash of the email code — and any
// replica can serve the next step.
type flow struct {
	Req request `json:"q"`
	// Browser binds the flow to the browser's CSRF cookie (its hash).
	Browser string `json:"b"`
	Expires int64  `json:"x"`
	// Step is the page the user is on; a post must be one of its actions.
	Step string `json:"s"`
	// Reset: the user is resetting a password (the passwordReset flow, or
	// "Forgot your password?" in a sign-in).
	Reset bool `json:"r,omitempty"`

	// Email is the address being verified or signed in with.
	Email    string `json:"e,omitempty"`
	Verified bool   `json:"v,omitempty"`
	// The pending one-time code: its hash, the id its wrong attempts are
	// counted under, and when it expires.
	CodeHash    string `json:"ch,omitempty"`
	CodeID      string `json:"ci,omitempty"`
	CodeExpires int64  `json:"cx,omitempty"`

	// Set once the user is known: the account, its session, when it
	// authenticated, and whether it signed up just now.
	UserID    string    `json:"u,omitempty"`
	SessionID string    `json:"sid,omitempty"`
	AuthTime  time.Time `json:"at,omitzero"`
	NewUser   bool      `json:"n,omitempty"`
}

// sealer seals and opens flows (see internal/sealedstate).
type sealer struct{ box *sealedstate.Box[flow] }

// flowPurpose names what the sealed bytes are: the key is shared with the Entra
// sign-in pages, whose flows must never open here (nor these there).
const flowPurpose = "entrance b2c user flow v1"

func newSealer(key []byte) (*sealer, error) {
	box, err := sealedstate.New[flow](key, flowPurpose)
	if err != nil {
		return nil, fmt.Errorf("b2c: flow key: %w", err)
	}
	return &sealer{box: box}, nil
}

func (s *sealer) seal(f *flow) (string, error) { return s.box.Seal(f) }

var errBadFlow = errors.New("b2c: flow state is not valid")

// open returns the flow sealed in v if it is intact, unexpired and belongs
// to browser.
func (s *sealer) open(v, browser string, now time.Time) (*flow, error) {
	f, err := s.box.Open(v)
	if err != nil || now.Unix() > f.Expires || f.Browser != browser {
		return nil, errBadFlow
	}
	return f, nil
}
