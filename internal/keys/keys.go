// Package keys owns the RSA signing keys: one key set per tenant (and per
// application that asks for its own key), each key with a self-signed
// certificate, the private key stored only sealed under the master key.
//
// A key set always holds one `current` key (signing) and one `next` key
// (already published in JWKS, not yet signing), plus `previous` keys that stay
// published until their RetireAt. Rotation moves next→current→previous and adds
// a new next. It is one atomic store.UpsertKeySet, so when several replicas
// share a database exactly one of them rotates and all agree on the result.
package keys

import (
	"cmp"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store"
)

// Options configure a Manager. Zero values take the defaults.
type Options struct {
	// Observe, if set, is told of each rotation ("rotated") and each retired
	// key ("retired") this Manager wrote, for metrics.
	Observe func(event string)
	// RotationPeriod is how long a key signs (and, before that, how long it is
	// published as `next`). Default 6 weeks.
	RotationPeriod time.Duration
	// RetireAfter is how long a key stays published after it stops signing. It
	// must outlive the longest token lifetime plus clients' JWKS caching
	// (about a day). Default 14 days.
	RetireAfter time.Duration
	// CacheTTL is how long SigningKey uses a key set it has read before reading
	// it again. Default 5 seconds.
	CacheTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives rotations (kids only, never key material); default slog.Default().
	Logger *slog.Logger
	// NewSigner makes the Signer for a decrypted private key; default NewRSASigner
	// (pure Go). A faster implementation can be plugged in here.
	NewSigner func(*rsa.PrivateKey) (Signer, error)
}

// Manager creates, rotates and serves the signing keys. It is safe for
// concurrent use.
type Manager struct {
	st   store.Store
	box  *sealbox.Box
	opts Options

	mu   sync.Mutex
	sets map[setID]*cacheEntry
}

type setID struct{ tenantID, appID string }

// cacheEntry caches one key set's signing key. The snapshot is read without
// locking on the token path; refresh serialises re-reads of the store.
type cacheEntry struct {
	refresh sync.Mutex
	snap    atomic.Pointer[snapshot]
}

type snapshot struct {
	readAt  time.Time
	signing *SigningKey
}

// NewManager returns a Manager over st, sealing private keys with box.
func NewManager(st store.Store, box *sealbox.Box, opts Options) *Manager {
	if opts.RotationPeriod <= 0 {
		opts.RotationPeriod = 6 * 7 * 24 * time.Hour
	}
	if opts.RetireAfter <= 0 {
		opts.RetireAfter = 14 * 24 * time.Hour
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NewSigner == nil {
		opts.NewSigner = NewRSASigner
	}
	return &Manager{st: st, box: box, opts: opts, sets: map[setID]*cacheEntry{}}
}

// errUnchanged aborts an UpsertKeySet whose callback found nothing to do, so
// that no write (and no ChangeVersion bump) happens.
var errUnchanged = errors.New("keys: key set unchanged")

// Ensure creates the key set (a current and a next key) if it is missing or
// incomplete.
func (m *Manager) Ensure(ctx context.Context, tenantID, appID string) error {
	_, err := m.load(ctx, tenantID, appID)
	return err
}

// load reads a key set, creating or completing it if needed. The tenant must
// exist (the store refuses key sets of unknown tenants with ErrNotFound).
func (m *Manager) load(ctx context.Context, tenantID, appID string) (store.KeySet, error) {
	set, err := m.st.GetKeySet(ctx, tenantID, appID)
	if err == nil && complete(set) {
		return set, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.KeySet{}, fmt.Errorf("read key set %s: %w", describe(tenantID, appID), err)
	}
	return m.ensure(ctx, tenantID, appID)
}

func (m *Manager) ensure(ctx context.Context, tenantID, appID string) (store.KeySet, error) {
	// Make both keys before the atomic update: its callback may run more than
	// once, and RSA key generation is slow. If another replica wins, they are
	// thrown away.
	pool, err := m.newPool(tenantID, appID, 2)
	if err != nil {
		return store.KeySet{}, err
	}
	now := m.opts.Now()
	created := false
	set, err := m.st.UpsertKeySet(ctx, tenantID, appID, func(set store.KeySet) (store.KeySet, error) {
		created = false
		if complete(set) {
			return set, errUnchanged
		}
		created = true
		pool.reset()
		set.Keys = slices.Clone(set.Keys)
		return m.fill(set, pool, now)
	})
	if errors.Is(err, errUnchanged) {
		set, err = m.st.GetKeySet(ctx, tenantID, appID)
	}
	if err != nil {
		return store.KeySet{}, fmt.Errorf("create key set %s: %w", describe(tenantID, appID), err)
	}
	if created {
		m.opts.Logger.Info("created signing keys", "tenant", tenantID, "app", appID, "current_kid", kidOf(set, store.KeyStatusCurrent), "next_kid", kidOf(set, store.KeyStatusNext))
	}
	return set, nil
}

// SigningKey returns the key set's current key, creating the set if missing
// (callers pass only applications that exist and use their own key; the store
// itself refuses unknown tenants).
//
// The key set is read from the store at most every CacheTTL (and again right
// after this replica rotates it), so the token path rarely touches the
// database. Using a slightly stale set is safe: a key becomes current only
// after it has been published as `next` for a whole RotationPeriod, so every
// client already has it; and a key that just stopped signing stays published
// as `previous` for RetireAfter, so tokens a lagging replica signs with it in
// those few seconds still verify. The private key is decrypted once per kid.
func (m *Manager) SigningKey(ctx context.Context, tenantID, appID string) (*SigningKey, error) {
	e := m.entry(tenantID, appID)
	if s := e.snap.Load(); s != nil && m.fresh(s) {
		return s.signing, nil
	}
	e.refresh.Lock()
	defer e.refresh.Unlock()
	old := e.snap.Load()
	if old != nil && m.fresh(old) { // another goroutine refreshed while we waited
		return old.signing, nil
	}
	readAt := m.opts.Now()
	set, err := m.load(ctx, tenantID, appID)
	if err != nil {
		return nil, err
	}
	cur, ok := find(set, store.KeyStatusCurrent)
	if !ok {
		return nil, fmt.Errorf("key set %s has no current key", describe(tenantID, appID))
	}
	var signing *SigningKey
	if old != nil && old.signing.kid == cur.KID {
		signing = old.signing
	} else {
		priv, pub, err := openPrivate(m.box, cur)
		if err != nil {
			return nil, fmt.Errorf("key set %s: %w", describe(tenantID, appID), err)
		}
		signer, err := m.opts.NewSigner(priv)
		if err != nil {
			return nil, fmt.Errorf("key %s: signer: %w", cur.KID, err)
		}
		signing = newSigningKey(pub, signer)
	}
	e.snap.Store(&snapshot{readAt: readAt, signing: signing})
	return signing, nil
}

// PublishedKeys returns the keys to publish in JWKS: current first, then next,
// then previous keys not yet retired (newest first). It always reads the store:
// callers render the document once and rebuild it when store.ChangeVersion
// moves, which must then see the new keys.
func (m *Manager) PublishedKeys(ctx context.Context, tenantID, appID string) ([]PublicKey, error) {
	set, err := m.load(ctx, tenantID, appID)
	if err != nil {
		return nil, err
	}
	now := m.opts.Now()
	var keys []store.SigningKey
	for _, k := range set.Keys {
		if k.Status == store.KeyStatusPrevious && !k.RetireAt.After(now) {
			continue
		}
		keys = append(keys, k)
	}
	slices.SortStableFunc(keys, func(a, b store.SigningKey) int {
		if c := cmp.Compare(statusRank(a.Status), statusRank(b.Status)); c != 0 {
			return c
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	out := make([]PublicKey, 0, len(keys))
	for _, k := range keys {
		pub, err := parsePublic(k)
		if err != nil {
			return nil, err
		}
		out = append(out, pub)
	}
	return out, nil
}

// Rotate rotates the key set now, whatever its schedule.
func (m *Manager) Rotate(ctx context.Context, tenantID, appID string) error {
	return m.rotate(ctx, tenantID, appID, true, 1)
}

// RotateDue rotates every key set whose NextRotation has passed and drops
// previous keys whose RetireAt has passed. Replicas may run it at the same
// time: each set is rotated once.
func (m *Manager) RotateDue(ctx context.Context) error {
	sets, err := m.st.ListKeySets(ctx)
	if err != nil {
		return fmt.Errorf("list key sets: %w", err)
	}
	now := m.opts.Now()
	var errs []error
	for _, set := range sets {
		due := !set.NextRotation.After(now)
		if !due && !hasRetired(set, now) {
			continue
		}
		pregen := 0 // only dropping retired keys needs no new key
		if due {
			pregen = 1
		}
		if err := m.rotate(ctx, set.TenantID, set.AppID, false, pregen); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run calls RotateDue now and then every interval until ctx ends, logging
// failures.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := m.RotateDue(ctx); err != nil && ctx.Err() == nil {
			m.opts.Logger.Error("signing key rotation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rotate rotates one key set; unless forced, only if it is due (another
// replica may just have done it), otherwise it only drops retired keys.
func (m *Manager) rotate(ctx context.Context, tenantID, appID string, force bool, pregen int) error {
	pool, err := m.newPool(tenantID, appID, pregen)
	if err != nil {
		return err
	}
	now := m.opts.Now()
	var rotated, dropped []string
	set, err := m.st.UpsertKeySet(ctx, tenantID, appID, func(set store.KeySet) (store.KeySet, error) {
		rotated, dropped = nil, nil
		pool.reset()
		set.Keys = slices.Clone(set.Keys)
		if len(set.Keys) == 0 && !force {
			return set, errUnchanged // deleted meanwhile: do not recreate it
		}
		dropped = retiredKIDs(set, now)
		set.Keys = slices.DeleteFunc(set.Keys, func(k store.SigningKey) bool { return slices.Contains(dropped, k.KID) })
		if !force && set.NextRotation.After(now) && complete(set) {
			if len(dropped) == 0 {
				return set, errUnchanged
			}
			return set, nil
		}
		set, err := m.fill(set, pool, now)
		if err != nil {
			return set, err
		}
		for i, k := range set.Keys {
			switch k.Status {
			case store.KeyStatusCurrent:
				set.Keys[i].Status = store.KeyStatusPrevious
				set.Keys[i].RetireAt = now.Add(m.opts.RetireAfter).UTC()
				rotated = append(rotated, k.KID)
			case store.KeyStatusNext:
				set.Keys[i].Status = store.KeyStatusCurrent
			}
		}
		next, err := pool.take()
		if err != nil {
			return set, err
		}
		next.Status = store.KeyStatusNext
		set.Keys = append(set.Keys, next)
		set.NextRotation = now.Add(m.opts.RotationPeriod).UTC()
		return set, nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rotate key set %s: %w", describe(tenantID, appID), err)
	}
	m.invalidate(tenantID, appID)
	for _, kid := range dropped {
		m.opts.Logger.Info("retired signing key", "tenant", tenantID, "app", appID, "kid", kid)
		m.observe("retired")
	}
	if len(rotated) > 0 {
		m.observe("rotated")
		m.opts.Logger.Info("rotated signing key", "tenant", tenantID, "app", appID,
			"previous_kid", rotated[0], "current_kid", kidOf(set, store.KeyStatusCurrent),
			"next_kid", kidOf(set, store.KeyStatusNext), "next_rotation", set.NextRotation)
	}
	return nil
}

func (m *Manager) observe(event string) {
	if m.opts.Observe != nil {
		m.opts.Observe(event)
	}
}

// RewrapPrivateKeys re-wraps every sealed private key under the primary master
// key (master key rotation) and returns how many keys it changed.
func (m *Manager) RewrapPrivateKeys(ctx context.Context) (int, error) {
	sets, err := m.st.ListKeySets(ctx)
	if err != nil {
		return 0, fmt.Errorf("list key sets: %w", err)
	}
	total := 0
	for _, s := range sets {
		n := 0
		_, err := m.st.UpsertKeySet(ctx, s.TenantID, s.AppID, func(set store.KeySet) (store.KeySet, error) {
			n = 0
			set.Keys = slices.Clone(set.Keys)
			for i, k := range set.Keys {
				if id, err := sealbox.KeyID(k.SealedPrivateKey); err == nil && id == m.box.PrimaryID() {
					continue
				}
				sealed, err := m.box.Rewrap(k.SealedPrivateKey)
				if err != nil {
					return set, fmt.Errorf("key %s: %w", k.KID, err)
				}
				set.Keys[i].SealedPrivateKey = sealed
				n++
			}
			if n == 0 {
				return set, errUnchanged
			}
			return set, nil
		})
		if err != nil && !errors.Is(err, errUnchanged) {
			return total, fmt.Errorf("rewrap key set %s: %w", describe(s.TenantID, s.AppID), err)
		}
		total += n
	}
	return total, nil
}

// fill makes set complete: promotes next if there is no current key, and
// takes new keys from pool for whatever is missing.
func (m *Manager) fill(set store.KeySet, pool *keyPool, now time.Time) (store.KeySet, error) {
	if _, ok := find(set, store.KeyStatusCurrent); !ok {
		if i := slices.IndexFunc(set.Keys, func(k store.SigningKey) bool { return k.Status == store.KeyStatusNext }); i >= 0 {
			set.Keys[i].Status = store.KeyStatusCurrent
		} else {
			k, err := pool.take()
			if err != nil {
				return set, err
			}
			k.Status = store.KeyStatusCurrent
			set.Keys = append(set.Keys, k)
		}
	}
	if _, ok := find(set, store.KeyStatusNext); !ok {
		k, err := pool.take()
		if err != nil {
			return set, err
		}
		k.Status = store.KeyStatusNext
		set.Keys = append(set.Keys, k)
	}
	if set.NextRotation.IsZero() {
		set.NextRotation = now.Add(m.opts.RotationPeriod).UTC()
	}
	return set, nil
}

// keyPool hands out keys generated before an UpsertKeySet. reset starts over at
// each call of the callback (keys handed to a failed attempt were not stored);
// if the callback needs more, they are generated on the spot.
type keyPool struct {
	keys []store.SigningKey
	used int
	gen  func() (store.SigningKey, error)
}

func (m *Manager) newPool(tenantID, appID string, n int) (*keyPool, error) {
	subject := "entrance signing key " + tenantID
	if appID != "" {
		subject = "entrance signing key app " + appID
	}
	validity := 2*m.opts.RotationPeriod + m.opts.RetireAfter
	p := &keyPool{gen: func() (store.SigningKey, error) {
		return newKey(m.box, subject, m.opts.Now(), validity)
	}}
	for range n {
		k, err := p.gen()
		if err != nil {
			return nil, err
		}
		p.keys = append(p.keys, k)
	}
	return p, nil
}

func (p *keyPool) reset() { p.used = 0 }

func (p *keyPool) take() (store.SigningKey, error) {
	if p.used == len(p.keys) {
		k, err := p.gen()
		if err != nil {
			return k, err
		}
		p.keys = append(p.keys, k)
	}
	p.used++
	return p.keys[p.used-1], nil
}

func (m *Manager) entry(tenantID, appID string) *cacheEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := setID{tenantID, appID}
	e := m.sets[id]
	if e == nil {
		e = &cacheEntry{}
		m.sets[id] = e
	}
	return e
}

// invalidate makes the next SigningKey re-read the set (after a rotation here).
// The decrypted key is kept if it is still current, since the snapshot is only
// marked stale.
func (m *Manager) invalidate(tenantID, appID string) {
	e := m.entry(tenantID, appID)
	e.refresh.Lock()
	defer e.refresh.Unlock()
	if s := e.snap.Load(); s != nil {
		e.snap.Store(&snapshot{signing: s.signing}) // zero readAt: stale
	}
}

func (m *Manager) fresh(s *snapshot) bool {
	age := m.opts.Now().Sub(s.readAt)
	return age >= 0 && age < m.opts.CacheTTL
}

func complete(set store.KeySet) bool {
	_, cur := find(set, store.KeyStatusCurrent)
	_, next := find(set, store.KeyStatusNext)
	return cur && next && !set.NextRotation.IsZero()
}

func find(set store.KeySet, status string) (store.SigningKey, bool) {
	for _, k := range set.Keys {
		if k.Status == status {
			return k, true
		}
	}
	return store.SigningKey{}, false
}

func kidOf(set store.KeySet, status string) string {
	k, _ := find(set, status)
	return k.KID
}

func hasRetired(set store.KeySet, now time.Time) bool { return len(retiredKIDs(set, now)) > 0 }

func retiredKIDs(set store.KeySet, now time.Time) []string {
	var kids []string
	for _, k := range set.Keys {
		if k.Status == store.KeyStatusPrevious && !k.RetireAt.After(now) {
			kids = append(kids, k.KID)
		}
	}
	return kids
}

func statusRank(s string) int {
	switch s {
	case store.KeyStatusCurrent:
		return 0
	case store.KeyStatusNext:
		return 1
	}
	return 2
}

func describe(tenantID, appID string) string {
	if appID == "" {
		return "of tenant " + tenantID
	}
	return "of tenant " + tenantID + " app " + appID
}
