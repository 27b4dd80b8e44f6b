package token

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// DefaultDirectoryCacheTTL is the default Options.DirectoryCacheTTL.
const DefaultDirectoryCacheTTL = time.Second

// dirCacheMax bounds the entries kept for one directory version: keys come
// from requests (and users), so memory must not grow without limit. When
// full, an arbitrary entry makes room.
const dirCacheMax = 4096

// dirCache remembers what token requests read from the directory (clients,
// service principals, resources, users, consent grants, groups, role
// assignments) for as long as the directory does not change. Every
// directory write bumps the store's ChangeVersion, on any replica, in the
// transaction of the write; the cache drops everything when it moves.
//
// Two ways to read it:
//   - cached: the client credentials grant and tenant resolution read
//     ChangeVersion at most once per TTL, so a change (a revoked secret, a
//     removed role assignment) takes effect within one TTL everywhere, and
//     a request that hits the cache costs no database read at all;
//   - view: the grants that act for a user read ChangeVersion once per
//     request (one indexed one-row read, in place of the dozen directory
//     reads it saves), so they never see the directory older than it was
//     when the request came in. The user record behind the revocation
//     checks (revoke sessions, password change, disabled account) and the
//     consent a user gave a moment ago on another replica are as fresh as
//     without the cache.
type dirCache struct {
	st  store.Store
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	version int64
	checked time.Time // when the ChangeVersion read that set version began
	entries map[string]any
	gen     uint64 // bumped whenever entries is replaced
}

func newDirCache(st store.Store, ttl time.Duration, now func() time.Time) *dirCache {
	return &dirCache{st: st, ttl: ttl, now: now, entries: map[string]any{}}
}

// disabled reports whether every read goes to the store.
func (c *dirCache) disabled() bool { return c == nil || c.ttl < 0 }

// sync returns the generation of the entries a request may use. It reads
// ChangeVersion unless a read that began less than maxAge ago did (the
// read itself runs without the lock), and drops the entries when the
// version moved. A read that began before the one already applied is not
// applied: the entries are at least as new as it.
func (c *dirCache) sync(ctx context.Context, maxAge time.Duration) (uint64, error) {
	start := c.now()
	c.mu.Lock()
	if age := start.Sub(c.checked); !c.checked.IsZero() && age >= 0 && age < maxAge {
		gen := c.gen
		c.mu.Unlock()
		return gen, nil
	}
	c.mu.Unlock()
	v, err := c.st.ChangeVersion(ctx)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !start.Before(c.checked) {
		if v != c.version {
			c.version, c.entries = v, map[string]any{}
			c.gen++
		}
		c.checked = start
	}
	return c.gen, nil
}

// lookup returns the entry of key.
func (c *dirCache) lookup(key string) (any, bool) {
	c.mu.Lock()
	v, ok := c.entries[key]
	c.mu.Unlock()
	return v, ok
}

// put stores v under key if the entries are still those of generation gen:
// a load that raced a directory change must not outlive it.
func (c *dirCache) put(gen uint64, key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= dirCacheMax {
		for k := range c.entries { // an arbitrary one
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = v
}

// cached returns the value of key, computing it with load on a miss; the
// directory is checked for changes at most once per TTL. Only successes
// are kept. Two requests that miss together both load; the second one's
// value wins, which is the same value.
func cached[T any](ctx context.Context, c *dirCache, key string, load func() (T, error)) (T, error) {
	if c.disabled() {
		return load()
	}
	gen, err := c.sync(ctx, c.ttl)
	if err != nil {
		var zero T
		return zero, err
	}
	if v, ok := c.lookup(key); ok {
		if t, ok := v.(T); ok {
			return t, nil
		}
	}
	t, err := load()
	if err != nil {
		return t, err
	}
	c.put(gen, key, t)
	return t, nil
}

// view returns the directory as of now for one request: its reads of the
// hot lookups come from the cache (see dirView).
func (c *dirCache) view(ctx context.Context) (store.Directory, error) {
	if c.disabled() {
		return c.st, nil
	}
	gen, err := c.sync(ctx, 0)
	if err != nil {
		return nil, err
	}
	return &dirView{Directory: c.st, c: c, gen: gen}, nil
}

// dirView is store.Directory for one request, read through the cache: the
// lookups the token grants repeat on every request are kept, including
// "not found" answers; everything else goes to the store. It is for
// reading: a write through it would not be seen by its own later reads.
// Lists are returned as copies, since callers sort and filter them in
// place.
type dirView struct {
	store.Directory
	c   *dirCache
	gen uint64
}

// viewEntry is a kept answer: a value, or ErrNotFound.
type viewEntry[T any] struct {
	v   T
	err error
}

func viewGet[T any](ctx context.Context, d *dirView, key string, load func() (T, error)) (T, error) {
	key = "dir\x00" + key // apart from cached's keys
	if e, ok := d.c.lookup(key); ok {
		if e, ok := e.(viewEntry[T]); ok {
			return e.v, e.err
		}
	}
	v, err := load()
	if err == nil || errors.Is(err, store.ErrNotFound) {
		d.c.put(d.gen, key, viewEntry[T]{v, err})
	}
	return v, err
}

// memo returns what load computes from dir alone (and the key), kept in
// the cache when dir is a request's view, like the reads it makes;
// failures are not kept. key names the computation and everything it
// depends on besides the directory.
func memo[T any](dir store.Directory, key string, load func() (T, error)) (T, error) {
	d, ok := dir.(*dirView)
	if !ok {
		return load()
	}
	key = "memo\x00" + key
	if e, ok := d.c.lookup(key); ok {
		if v, ok := e.(T); ok {
			return v, nil
		}
	}
	v, err := load()
	if err == nil {
		d.c.put(d.gen, key, v)
	}
	return v, err
}

func viewList[T any](ctx context.Context, d *dirView, key string, load func() ([]T, error)) ([]T, error) {
	v, err := viewGet(ctx, d, key, load)
	return slices.Clone(v), err
}

func (d *dirView) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	return viewGet(ctx, d, "tenant\x00"+id, func() (store.Tenant, error) { return d.Directory.GetTenant(ctx, id) })
}

func (d *dirView) GetTenantByDomain(ctx context.Context, domain string) (store.Tenant, error) {
	return viewGet(ctx, d, "domain\x00"+domain, func() (store.Tenant, error) { return d.Directory.GetTenantByDomain(ctx, domain) })
}

func (d *dirView) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	return viewGet(ctx, d, "user\x00"+tenantID+"\x00"+id, func() (store.User, error) { return d.Directory.GetUser(ctx, tenantID, id) })
}

func (d *dirView) ListGroups(ctx context.Context, tenantID string) ([]store.Group, error) {
	return viewList(ctx, d, "groups\x00"+tenantID, func() ([]store.Group, error) { return d.Directory.ListGroups(ctx, tenantID) })
}

func (d *dirView) ListDirectoryRoleAssignments(ctx context.Context, tenantID string) ([]store.DirectoryRoleAssignment, error) {
	return viewList(ctx, d, "wids\x00"+tenantID, func() ([]store.DirectoryRoleAssignment, error) {
		return d.Directory.ListDirectoryRoleAssignments(ctx, tenantID)
	})
}

func (d *dirView) GetApplicationByAppID(ctx context.Context, appID string) (store.Application, error) {
	return viewGet(ctx, d, "app\x00"+appID, func() (store.Application, error) { return d.Directory.GetApplicationByAppID(ctx, appID) })
}

func (d *dirView) GetApplicationByIdentifierURI(ctx context.Context, uri string) (store.Application, error) {
	return viewGet(ctx, d, "uri\x00"+uri, func() (store.Application, error) { return d.Directory.GetApplicationByIdentifierURI(ctx, uri) })
}

func (d *dirView) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (store.ServicePrincipal, error) {
	return viewGet(ctx, d, "sp\x00"+tenantID+"\x00"+appID, func() (store.ServicePrincipal, error) {
		return d.Directory.GetServicePrincipalByAppID(ctx, tenantID, appID)
	})
}

func (d *dirView) ListAppRoleAssignments(ctx context.Context, tenantID string) ([]store.AppRoleAssignment, error) {
	return viewList(ctx, d, "roles\x00"+tenantID, func() ([]store.AppRoleAssignment, error) {
		return d.Directory.ListAppRoleAssignments(ctx, tenantID)
	})
}

func (d *dirView) ListAppRoleAssignmentsOf(ctx context.Context, tenantID, principalID string) ([]store.AppRoleAssignment, error) {
	return viewList(ctx, d, "roles-of\x00"+tenantID+"\x00"+principalID, func() ([]store.AppRoleAssignment, error) {
		return d.Directory.ListAppRoleAssignmentsOf(ctx, tenantID, principalID)
	})
}

func (d *dirView) ListOAuth2PermissionGrantsOf(ctx context.Context, tenantID, clientID string) ([]store.OAuth2PermissionGrant, error) {
	return viewList(ctx, d, "grants\x00"+tenantID+"\x00"+clientID, func() ([]store.OAuth2PermissionGrant, error) {
		return d.Directory.ListOAuth2PermissionGrantsOf(ctx, tenantID, clientID)
	})
}
