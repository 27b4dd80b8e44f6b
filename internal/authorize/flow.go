package authorize

import (
	"errors"
	"fmt"
	"time"

	"github.com/entranceidp/entrance/internal/sealedstate"
)

// flow is the state of one sign-in in progress, carried from page to page in
// a hidden form field, sealed (AES-256-GCM) so the browser can neither read
// nor change it. Keeping it in the page rather than in server memory lets any
// replica serve the next step.
type flow struct {
	Req Request `json:"q"`
	// Browser binds the flow to one browser: the hash of its CSRF cookie. A
	// flow copied to another browser is refused.
	Browser string `json:"b"`
	Expires int64  `json:"x"`
	// Username is what the user typed (or login_hint), TenantID the tenant
	// it signs in to once known.
	Username string `json:"u,omitempty"`
	TenantID string `json:"t,omitempty"`
	// Set once the user is signed in: the account, its session and when and
	// how it authenticated.
	UserID    string    `json:"a,omitempty"`
	SessionID string    `json:"s,omitempty"`
	AuthTime  time.Time `json:"at,omitzero"`
	Methods   []string  `json:"m,omitempty"`
	// Fresh: credentials were entered in this flow (already in the sign-in log).
	Fresh bool `json:"f,omitempty"`
	// Device is the ID of the device code a device sign-in approves
	// (device.go); "" in a sign-in for a redirect URI.
	Device string `json:"d,omitempty"`
}

func (f *flow) signedIn() bool { return f.UserID != "" }

// forget drops the account, for "use another account".
func (f *flow) forget() {
	f.Username, f.UserID, f.SessionID, f.AuthTime, f.Methods, f.Fresh = "", "", "", time.Time{}, nil, false
	f.TenantID = f.Req.TenantID
}

// sealer seals and opens flows (see internal/sealedstate).
type sealer struct{ box *sealedstate.Box[flow] }

// flowPurpose names what the sealed bytes are, so a value sealed for another
// purpose under the same key never opens as a flow.
const flowPurpose = "entrance sign-in flow v1"

func newSealer(key []byte) (*sealer, error) {
	box, err := sealedstate.New[flow](key, flowPurpose)
	if err != nil {
		return nil, fmt.Errorf("authorize: flow key: %w", err)
	}
	return &sealer{box: box}, nil
}

func (s *sealer) seal(f *flow) (string, error) { return s.box.Seal(f) }

var errBadFlow = errors.New("authorize: flow state is not valid")

// open returns the flow sealed in v if it is intact, unexpired and belongs
// to browser.
func (s *sealer) open(v, browser string, now time.Time) (*flow, error) {
	f, err := s.box.Open(v)
	if err != nil || now.Unix() > f.Expires || f.Browser != browser {
		return nil, errBadFlow
	}
	return f, nil
}
