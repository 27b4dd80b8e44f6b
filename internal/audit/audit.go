// Package audit records administrative changes in the store's audit log.
// Wrap returns a store whose every write to the directory, the key sets
// and the server secrets also appends an entry — who, how, when, what, and
// the object before and after, secrets removed — in the same transaction,
// so no change is kept without its entry. The admin CLI, `entrance apply`
// and a server applying its directory file at start write through it; the
// server's own writes (sign-ins, user consent, scheduled key rotation) are
// not administrative and go to the store directly.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// DirectoryFile is the actor of changes a server makes applying its
// directory file at start.
const DirectoryFile = "directory-file"

// OSUser is the actor of a CLI command: the operating system user running
// it.
func OSUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

// Store is a store.Store that audits its writes.
type Store struct {
	*dir
	store.Flows
	store.AuditLog
	st store.Store
}

var _ store.Store = (*Store)(nil)

// Wrap returns st auditing its writes as made by actor through source
// (a command, "entrance app secret add", or a file).
func Wrap(st store.Store, actor, source string) *Store {
	rec := &recorder{actor: actor, source: source, now: time.Now}
	return &Store{dir: &dir{Directory: st, st: st, rec: rec}, Flows: st, AuditLog: st, st: st}
}

// InTx runs fn in one transaction; its writes are audited in it.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Directory) error) error {
	return s.st.InTx(ctx, func(tx store.Directory) error {
		return fn(&dir{Directory: tx, tx: tx, rec: s.rec})
	})
}

func (s *Store) Ping(ctx context.Context) error { return s.st.Ping(ctx) }
func (s *Store) Close() error                   { return s.st.Close() }

// recorder makes the entries of one actor and source.
type recorder struct {
	actor, source string
	now           func() time.Time
}

// change is what one write did.
type change struct {
	action, kind, tenantID, objectID string
	before, after                    any // nil when there is none
}

// entry is the audit entry of c, or false when c changed nothing that
// shows (an update to the same value).
func (r *recorder) entry(c change) (store.AuditEntry, bool, error) {
	before, err := redact(c.before)
	if err != nil {
		return store.AuditEntry{}, false, err
	}
	after, err := redact(c.after)
	if err != nil {
		return store.AuditEntry{}, false, err
	}
	if c.action == store.AuditUpdate && before != nil && bytes.Equal(before, after) {
		return store.AuditEntry{}, false, nil
	}
	return store.AuditEntry{
		ID: ids.NewGUID(), Time: r.now().UTC(), Actor: r.actor, Source: r.source,
		Action: c.action, Kind: c.kind, TenantID: c.tenantID, ObjectID: c.objectID,
		Before: before, After: after,
	}, true, nil
}

// redact is v as JSON without the fields that hold secrets or what could
// stand in for them: password and secret hashes, sealed private keys.
// Fields are dropped by name, at any depth, so that new fields named the
// same way are dropped too.
func redact(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return json.Marshal(strip(tree))
}

func strip(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if secretField(k) {
				delete(v, k)
				continue
			}
			v[k] = strip(x)
		}
	case []any:
		for i := range v {
			v[i] = strip(v[i])
		}
	}
	return v
}

func secretField(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"hash", "secret", "sealed", "private"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// keySetView is what the log keeps of a key set: which keys, in which
// state; certificates are public but long, private keys never leave.
type keySetView struct {
	NextRotation time.Time `json:"nextRotation"`
	Keys         []keyView `json:"keys"`
}

type keyView struct {
	KID       string    `json:"kid"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	RetireAt  time.Time `json:"retireAt,omitzero"`
}

func viewKeySet(ks store.KeySet) any {
	if len(ks.Keys) == 0 {
		return nil
	}
	v := keySetView{NextRotation: ks.NextRotation}
	for _, k := range ks.Keys {
		v.Keys = append(v.Keys, keyView{k.KID, k.Status, k.CreatedAt, k.RetireAt})
	}
	return v
}
