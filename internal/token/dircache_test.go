package token

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// TestDirCache: values are served from the cache until the directory
// changes and the TTL has passed; errors are never kept; a load that raced
// a change is not stored; the cache is bounded; a negative TTL disables it.
func TestDirCache(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	c := newDirCache(st, time.Second, clock)
	loads := 0
	load := func(v string) func() (string, error) {
		return func() (string, error) { loads++; return v, nil }
	}
	write := func(name string) {
		t.Helper()
		if err := st.CreateTenant(ctx, store.Tenant{ID: ids.NewGUID(), DisplayName: name, Type: store.TenantTypeAAD, Domains: []string{name + ".example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key string, l func() (string, error)) string {
		t.Helper()
		v, err := cached(ctx, c, key, l)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	if v := get("k", load("one")); v != "one" || loads != 1 {
		t.Fatalf("first: %q after %d loads", v, loads)
	}
	if v := get("k", load("two")); v != "one" || loads != 1 {
		t.Fatalf("cached: %q after %d loads", v, loads)
	}
	// A directory write within the TTL is not seen yet...
	write("a")
	if v := get("k", load("two")); v != "one" {
		t.Fatalf("within the TTL: %q", v)
	}
	// ...and is after it.
	now = now.Add(time.Second)
	if v := get("k", load("two")); v != "two" || loads != 2 {
		t.Fatalf("after the TTL: %q after %d loads", v, loads)
	}
	// The TTL passing without a write keeps the entries.
	now = now.Add(time.Second)
	if v := get("k", load("three")); v != "two" {
		t.Fatalf("no write: %q", v)
	}

	// Errors are not kept.
	boom := errors.New("boom")
	if _, err := cached(ctx, c, "e", func() (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("error: %v", err)
	}
	if v := get("e", load("ok")); v != "ok" {
		t.Fatalf("after an error: %q", v)
	}

	// A load that raced a directory change is returned but not stored.
	raced := func() (string, error) {
		write("raced")
		now = now.Add(time.Second)
		_, err := c.sync(ctx, 0) // another request notices the change meanwhile
		return "stale", err
	}
	if v := get("r", raced); v != "stale" {
		t.Fatalf("raced: %q", v)
	}
	if v := get("r", load("fresh")); v != "fresh" {
		t.Fatalf("after a raced load: %q", v)
	}

	// Bounded.
	for i := range dirCacheMax + 10 {
		get(fmt.Sprint("many", i), load("x"))
	}
	if n := len(c.entries); n > dirCacheMax {
		t.Errorf("%d entries, limit %d", n, dirCacheMax)
	}

	// Disabled.
	off := newDirCache(st, -1, clock)
	for range 2 {
		if _, err := cached(ctx, off, "k", load("v")); err != nil {
			t.Fatal(err)
		}
	}
	if len(off.entries) != 0 {
		t.Error("a disabled cache kept entries")
	}
}

// countingStore counts the directory reads that reach the store.
type countingStore struct {
	store.Store
	users, grants int
}

func (s *countingStore) GetUser(ctx context.Context, tenantID, id string) (store.User, error) {
	s.users++
	return s.Store.GetUser(ctx, tenantID, id)
}

func (s *countingStore) ListOAuth2PermissionGrantsOf(ctx context.Context, tenantID, clientID string) ([]store.OAuth2PermissionGrant, error) {
	s.grants++
	return s.Store.ListOAuth2PermissionGrantsOf(ctx, tenantID, clientID)
}

// TestDirView: a request's view serves repeated reads from the cache, "not
// found" included, yet sees every directory write made before the request
// at once (no TTL), and hands out lists that callers may change.
func TestDirView(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: storetest.NewSQLite(t)}
	now := time.Unix(1_700_000_000, 0)
	c := newDirCache(st, time.Hour, func() time.Time { return now }) // the TTL plays no part
	tenant := store.Tenant{ID: ids.NewGUID(), DisplayName: "t", Type: store.TenantTypeAAD, Domains: []string{"view.example.com"}}
	if err := st.CreateTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	user := store.User{ID: ids.NewGUID(), TenantID: tenant.ID, UserPrincipalName: "u@view.example.com", DisplayName: "u", AccountEnabled: true, UserType: store.UserTypeMember}
	if err := st.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	grant := store.OAuth2PermissionGrant{ID: ids.NewGUID(), TenantID: tenant.ID, ClientID: ids.NewGUID(), ResourceID: ids.NewGUID(), ConsentType: store.ConsentAllPrincipals, Scope: "a"}
	view := func() store.Directory {
		t.Helper()
		v, err := c.view(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	enabled := func(d store.Directory) bool {
		t.Helper()
		u, err := d.GetUser(ctx, tenant.ID, user.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u.AccountEnabled
	}

	for range 3 {
		if !enabled(view()) {
			t.Fatal("disabled")
		}
	}
	if st.users != 1 {
		t.Errorf("%d GetUser reads for three requests, want 1", st.users)
	}
	// A write is seen by the next request, whatever the TTL.
	if _, err := st.UpdateUser(ctx, tenant.ID, user.ID, func(u store.User) (store.User, error) {
		u.AccountEnabled = false
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if enabled(view()) {
		t.Error("the next request still sees the account enabled")
	}

	// "Not found" is kept too, until a write.
	for range 2 {
		gs, err := view().ListOAuth2PermissionGrantsOf(ctx, tenant.ID, grant.ClientID)
		if err != nil || len(gs) != 0 {
			t.Fatalf("grants %v, %v", gs, err)
		}
	}
	if _, err := view().GetUser(ctx, tenant.ID, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
	n := st.users
	if _, err := view().GetUser(ctx, tenant.ID, "missing"); !errors.Is(err, store.ErrNotFound) || st.users != n {
		t.Fatalf("missing user again: %v, %d reads", err, st.users-n)
	}
	if err := st.CreateOAuth2PermissionGrant(ctx, grant); err != nil {
		t.Fatal(err)
	}
	d := view()
	gs, err := d.ListOAuth2PermissionGrantsOf(ctx, tenant.ID, grant.ClientID)
	if err != nil || len(gs) != 1 {
		t.Fatalf("after consent: %v, %v", gs, err)
	}
	// Lists are the caller's to change.
	gs[0].Scope = "changed"
	again, err := d.ListOAuth2PermissionGrantsOf(ctx, tenant.ID, grant.ClientID)
	if err != nil || len(again) != 1 || again[0].Scope != "a" {
		t.Fatalf("cached list changed by a caller: %v, %v", again, err)
	}
	if st.grants != 2 {
		t.Errorf("%d grant list reads, want 2 (before and after the write)", st.grants)
	}

	// Disabled: the store itself.
	off := newDirCache(st, -1, time.Now)
	if v, err := off.view(ctx); err != nil || v != store.Directory(st) {
		t.Errorf("disabled view: %T, %v", v, err)
	}
}
