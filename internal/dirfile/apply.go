package dirfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

// ApplyOptions configures Apply.
type ApplyOptions struct {
	// SecretHasher hashes secretText values; required when the file has any.
	SecretHasher *secrets.ClientSecretHasher
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// DryRun checks and plans everything but writes nothing.
	DryRun bool
}

// Action is what Apply did to one object.
type Action string

// Actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// Change is one object Apply created, updated or left alone.
type Change struct {
	// Kind is tenant, user, group, application, servicePrincipal,
	// directoryRoleAssignment, appRoleAssignment or oauth2PermissionGrant.
	Kind     string `json:"kind"`
	TenantID string `json:"tenantId"`
	// Name says which object: a UPN, a group name, an appId, or for a link
	// "principal → resource (role)".
	Name   string `json:"name"`
	Action Action `json:"action"`
}

// Summary counts what Apply did and lists every object it looked at, in the
// order written (tenants, users, applications, groups, service principals,
// assignments and grants).
type Summary struct {
	Created   int      `json:"created"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Changes   []Change `json:"changes"`
}

func (s Summary) String() string {
	return fmt.Sprintf("%d created, %d updated, %d unchanged", s.Created, s.Updated, s.Unchanged)
}

// errNoHasher: the file has client secrets but no hasher was given.
var errNoHasher = errors.New("dirfile: ApplyOptions.SecretHasher is required to apply client secrets")

// errDryRun rolls the transaction back after a dry run.
var errDryRun = errors.New("dry run")

// Apply makes the store hold what doc declares. It first checks everything
// against the rules (internal/directory) and against what is stored, and
// returns all problems at once as Errors, each with file, line and property.
// Only when there are none does it write, all in one transaction, so nothing
// is ever half-applied. Applying the same file again changes nothing.
//
// Objects are matched by id when the file gives one, else by their natural
// key (tenant domain, UPN, group name, appId); the properties the file gives
// replace the stored ones, the others are kept. Nothing is deleted, and
// credentials already on an application stay.
func Apply(ctx context.Context, st store.Store, doc *Document, opts ApplyOptions) (Summary, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var sum Summary
	err := st.InTx(ctx, func(tx store.Directory) error {
		p := &planner{ctx: ctx, tx: tx, doc: doc, opts: opts, now: opts.Now().UTC(),
			users: map[string]*userRef{}, storeUsers: map[string]*store.User{}, apps: map[string]*appRef{}, idURIs: map[string]uriOwner{}}
		if err := p.plan(); err != nil {
			return err
		}
		if err := p.errs.err(); err != nil {
			return err
		}
		sum = p.summary()
		if opts.DryRun {
			return errDryRun
		}
		return p.execute()
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return Summary{}, err
	}
	return sum, nil
}

// Phases order the writes so that every reference points at something that
// already exists.
type phase int

const (
	phTenants phase = iota
	phUsers
	phApps
	phGroups
	phServicePrincipals
	phLinks
	numPhases
)

// op is one object's planned change; write is nil when it is unchanged.
type op struct {
	change Change
	write  func(ctx context.Context, tx store.Directory) error
}

// planner computes, inside the transaction, what each object of the file
// should look like, compares it with the store, and collects errors.
type planner struct {
	ctx  context.Context
	tx   store.Directory
	doc  *Document
	opts ApplyOptions
	now  time.Time
	errs Errors
	ops  [numPhases][]op

	tenants    []*tenantPlan
	users      map[string]*userRef    // lower-case UPN → user declared in the file
	storeUsers map[string]*store.User // lower-case UPN → stored user (nil: none)
	apps       map[string]*appRef     // appId → application, declared or stored
	idURIs     map[string]uriOwner    // lower-case identifier URI → the app declaring it in the file
}

type tenantPlan struct {
	path   string
	src    *Tenant
	t      store.Tenant
	exists bool // stored before this apply

	groups      map[string]*groupRef // lower-case name
	guests      map[string]string    // lower-case home UPN → lower-case guest UPN
	sps         map[string]*store.ServicePrincipal
	roles       []store.DirectoryRoleAssignment
	rolesLoaded bool
	assigned    map[string][]store.AppRoleAssignment     // by principal id
	grants      map[string][]store.OAuth2PermissionGrant // by client SP id
}

type uriOwner struct{ appID, path string }

type userRef struct {
	u    store.User
	path string
}

type appRef struct {
	a      store.Application
	path   string // "" when it is only in the store
	tenant *tenantPlan
}

type groupRef struct {
	g      store.Group
	old    store.Group
	path   string
	src    *Group // nil when only in the store
	exists bool
}

func (p *planner) errorf(path, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.doc.file, Line: p.doc.lines.line(path), Property: path, Message: fmt.Sprintf(format, args...)})
}

// validate records a directory validator's errors under the object's path.
func (p *planner) validate(path string, err error) {
	var des directory.Errors
	if errors.As(err, &des) {
		for _, e := range des {
			p.errorf(joinPath(path, e.Property), "%s", e.Message)
		}
	} else if err != nil {
		p.errorf(path, "%v", err)
	}
}

func (p *planner) has(path string) bool { return p.doc.lines.has(path) }

// found turns store.ErrNotFound into ok=false.
func found[T any](v T, err error) (T, bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		var zero T
		return zero, false, nil
	}
	return v, err == nil, err
}

// add plans an object: created when it did not exist, otherwise updated
// unless its stored form would not change.
func (p *planner) add(ph phase, c Change, exists bool, before, after any, create, update func(context.Context, store.Directory) error) {
	switch {
	case !exists:
		c.Action = Created
		p.ops[ph] = append(p.ops[ph], op{c, create})
	case sameJSON(before, after):
		c.Action = Unchanged
		p.ops[ph] = append(p.ops[ph], op{c, nil})
	default:
		c.Action = Updated
		p.ops[ph] = append(p.ops[ph], op{c, update})
	}
}

// sameJSON compares objects as the store keeps them.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func (p *planner) plan() error {
	for _, step := range []func() error{p.planTenants, p.planUsers, p.planApps, p.planGroups, p.planServicePrincipals, p.planLinks} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) summary() Summary {
	var s Summary
	for _, ops := range p.ops {
		for _, o := range ops {
			s.Changes = append(s.Changes, o.change)
			switch o.change.Action {
			case Created:
				s.Created++
			case Updated:
				s.Updated++
			default:
				s.Unchanged++
			}
		}
	}
	return s
}

func (p *planner) execute() error {
	for _, ops := range p.ops {
		for _, o := range ops {
			if o.write == nil {
				continue
			}
			if err := o.write(p.ctx, p.tx); err != nil {
				c := o.change
				return fmt.Errorf("%s: writing %s %q in tenant %s: %w", p.doc.file, c.Kind, c.Name, c.TenantID, err)
			}
		}
	}
	return nil
}

// lower canonicalises GUIDs, appIds and domains, which Entra compares case-insensitively.
func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
