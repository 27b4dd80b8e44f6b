package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

func testKeySets(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	app := appFixture(t, s, a.ID)
	_, err := s.GetKeySet(c, a.ID, "")
	isErr(t, err, store.ErrNotFound)

	// A failed first upsert leaves no set behind.
	_, err = s.UpsertKeySet(c, a.ID, "", func(k store.KeySet) (store.KeySet, error) { return newKeySet(a.ID, ""), errBoom })
	isErr(t, err, errBoom)
	_, err = s.GetKeySet(c, a.ID, "")
	isErr(t, err, store.ErrNotFound)

	// The first upsert sees an empty set.
	tenantSet := newKeySet(a.ID, "")
	got, err := s.UpsertKeySet(c, a.ID, "", func(k store.KeySet) (store.KeySet, error) {
		same(t, k, store.KeySet{TenantID: a.ID})
		return tenantSet, nil
	})
	ok(t, err)
	same(t, got, tenantSet)
	same(t, must(s.GetKeySet(c, a.ID, ""))(t), tenantSet)

	// An application's set is separate; its appId matches in any case.
	appSet := newKeySet(a.ID, app.AppID)
	requireFull(t, appSet)
	_, err = s.UpsertKeySet(c, a.ID, app.AppID, func(k store.KeySet) (store.KeySet, error) {
		same(t, k, store.KeySet{TenantID: a.ID, AppID: app.AppID})
		return appSet, nil
	})
	ok(t, err)
	same(t, must(s.GetKeySet(c, a.ID, strings.ToUpper(app.AppID)))(t), appSet)

	// Later upserts see what is stored.
	want := tenantSet
	want.Keys = append(want.Keys, store.SigningKey{KID: "kid-2", Status: store.KeyStatusNext, CreatedAt: t1})
	got, err = s.UpsertKeySet(c, a.ID, "", func(k store.KeySet) (store.KeySet, error) {
		same(t, k, tenantSet)
		return want, nil
	})
	ok(t, err)
	same(t, got, want)
	_, err = s.UpsertKeySet(c, a.ID, "", func(k store.KeySet) (store.KeySet, error) { return store.KeySet{}, errBoom })
	isErr(t, err, errBoom)
	_, err = s.UpsertKeySet(c, a.ID, "", func(k store.KeySet) (store.KeySet, error) { k.AppID = app.AppID; return k, nil })
	failed(t, err)
	same(t, must(s.GetKeySet(c, a.ID, ""))(t), want)
	sameSet(t, must(s.ListKeySets(c))(t), []store.KeySet{want, appSet}, func(k store.KeySet) string { return k.AppID })

	// A key set needs its tenant.
	_, err = s.UpsertKeySet(c, ids.NewGUID(), "", func(k store.KeySet) (store.KeySet, error) { return k, nil })
	isErr(t, err, store.ErrNotFound)
}

func testServerSecrets(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetServerSecret(c, "pepper")
	isErr(t, err, store.ErrNotFound)
	if m, err := s.ListServerSecrets(c); err != nil || len(m) != 0 {
		t.Fatalf("ListServerSecrets = %v, %v; want empty", m, err)
	}

	pepper := []byte{0, 1, 2, 255}
	ok(t, s.CreateServerSecret(c, "pepper", pepper))
	same(t, must(s.GetServerSecret(c, "pepper"))(t), pepper)
	isErr(t, s.CreateServerSecret(c, "pepper", []byte("other")), store.ErrAlreadyExists)
	ok(t, s.CreateServerSecret(c, "pairwise", []byte("pw")))
	same(t, must(s.ListServerSecrets(c))(t), map[string][]byte{"pepper": pepper, "pairwise": []byte("pw")})

	ok(t, s.UpdateServerSecret(c, "pepper", func(old []byte) ([]byte, error) {
		same(t, old, pepper)
		return []byte("rotated"), nil
	}))
	same(t, must(s.GetServerSecret(c, "pepper"))(t), []byte("rotated"))
	isErr(t, s.UpdateServerSecret(c, "pepper", func(old []byte) ([]byte, error) { return nil, errBoom }), errBoom)
	same(t, must(s.GetServerSecret(c, "pepper"))(t), []byte("rotated"))
	isErr(t, s.UpdateServerSecret(c, "missing", func(old []byte) ([]byte, error) { return old, nil }), store.ErrNotFound)
}

func testInTx(t *testing.T, s store.Store) {
	c := ctx(t)
	v0 := must(s.ChangeVersion(c))(t)

	// Rollback: an error from fn leaves nothing behind, whatever fn wrote.
	tn := newTenant("a.example")
	u := newUser(tn.ID, "u@a.example")
	app := newApplication(tn.ID)
	err := s.InTx(c, func(tx store.Directory) error {
		ok(t, tx.CreateTenant(c, tn))
		ok(t, tx.CreateUser(c, u))
		ok(t, tx.CreateApplication(c, app))
		ok(t, tx.CreateServicePrincipal(c, newServicePrincipal(tn.ID, app)))
		_, err := tx.UpsertKeySet(c, tn.ID, "", func(k store.KeySet) (store.KeySet, error) { return newKeySet(tn.ID, ""), nil })
		ok(t, err)
		ok(t, tx.CreateServerSecret(c, "pepper", []byte("p")))
		// The transaction sees its own writes.
		same(t, must(tx.GetUserByUPN(c, tn.ID, u.UserPrincipalName))(t), u)
		return fmt.Errorf("apply failed: %w", errBoom)
	})
	isErr(t, err, errBoom)
	_, err = s.GetTenant(c, tn.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetTenantByDomain(c, "a.example")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetUser(c, tn.ID, u.ID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetApplicationByAppID(c, app.AppID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetKeySet(c, tn.ID, "")
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetServerSecret(c, "pepper")
	isErr(t, err, store.ErrNotFound)
	if v := must(s.ChangeVersion(c))(t); v != v0 {
		t.Fatalf("change version moved from %d to %d on a rolled-back transaction", v0, v)
	}

	// Commit. A call that fails inside the transaction changes nothing and
	// the transaction goes on (as "create, or update if it exists" needs).
	ok(t, s.InTx(c, func(tx store.Directory) error {
		ok(t, tx.CreateTenant(c, tn))
		isErr(t, tx.CreateTenant(c, tn), store.ErrAlreadyExists)
		bad := newUser(tn.ID, "bad@a.example")
		bad.ID = "" // refused before reaching the database
		failed(t, tx.CreateUser(c, bad))
		ok(t, tx.CreateUser(c, u))
		isErr(t, tx.CreateUser(c, u), store.ErrAlreadyExists)
		_, err := tx.UpdateUser(c, tn.ID, u.ID, func(old store.User) (store.User, error) {
			old.DisplayName = "not written"
			return old, errBoom
		})
		isErr(t, err, errBoom)
		isErr(t, tx.DeleteGroup(c, tn.ID, ids.NewGUID()), store.ErrNotFound)
		ok(t, tx.CreateApplication(c, app))
		return nil
	}))
	same(t, must(s.GetTenant(c, tn.ID))(t), tn)
	same(t, must(s.GetUser(c, tn.ID, u.ID))(t), u)
	same(t, must(s.GetApplicationByAppID(c, app.AppID))(t), app)
	if v := must(s.ChangeVersion(c))(t); v <= v0 {
		t.Fatalf("change version %d after a committed transaction, want > %d", v, v0)
	}

	// A read-only transaction does not count as a change.
	v1 := must(s.ChangeVersion(c))(t)
	ok(t, s.InTx(c, func(tx store.Directory) error {
		_, err := tx.GetTenant(c, tn.ID)
		return err
	}))
	if v := must(s.ChangeVersion(c))(t); v != v1 {
		t.Fatalf("change version moved from %d to %d on a read-only transaction", v1, v)
	}
}

func testChangeVersion(t *testing.T, s store.Store) {
	c := ctx(t)
	last := must(s.ChangeVersion(c))(t)
	step := func(what string, err error, wantChange bool) {
		t.Helper()
		if wantChange {
			ok(t, err)
		}
		v := must(s.ChangeVersion(c))(t)
		if wantChange && v <= last {
			t.Fatalf("%s: change version %d, want > %d", what, v, last)
		}
		if !wantChange && v != last {
			t.Fatalf("%s: change version moved from %d to %d", what, last, v)
		}
		last = v
	}
	tn := newTenant("a.example")
	step("create tenant", s.CreateTenant(c, tn), true)
	step("get tenant", second(s.GetTenant(c, tn.ID)), false)
	step("create duplicate tenant", s.CreateTenant(c, tn), false)
	step("update tenant", second(s.UpdateTenant(c, tn.ID, func(t store.Tenant) (store.Tenant, error) { t.DisplayName = "x"; return t, nil })), true)
	step("failed update", second(s.UpdateTenant(c, tn.ID, func(t store.Tenant) (store.Tenant, error) { return t, errBoom })), false)
	u := newUser(tn.ID, "u@a.example")
	step("create user", s.CreateUser(c, u), true)
	step("update user", second(s.UpdateUser(c, tn.ID, u.ID, func(u store.User) (store.User, error) { return u, nil })), true)
	g := newGroup(tn.ID, "g")
	step("create group", s.CreateGroup(c, g), true)
	app := newApplication(tn.ID)
	step("create application", s.CreateApplication(c, app), true)
	step("update application", second(s.UpdateApplication(c, app.AppID, func(a store.Application) (store.Application, error) { return a, nil })), true)
	sp := newServicePrincipal(tn.ID, app)
	step("create service principal", s.CreateServicePrincipal(c, sp), true)
	step("upsert key set", second(s.UpsertKeySet(c, tn.ID, "", func(k store.KeySet) (store.KeySet, error) { return k, nil })), true)
	step("create server secret", s.CreateServerSecret(c, "s", []byte("1")), true)
	step("update server secret", s.UpdateServerSecret(c, "s", func(b []byte) ([]byte, error) { return b, nil }), true)
	step("delete group", s.DeleteGroup(c, tn.ID, g.ID), true)
	step("delete user", s.DeleteUser(c, tn.ID, u.ID), true)
	step("delete missing user", s.DeleteUser(c, tn.ID, u.ID), false)
	step("delete application", s.DeleteApplication(c, app.AppID), true)
	step("delete tenant", s.DeleteTenant(c, tn.ID), true)
}

func second[T any](_ T, err error) error { return err }

func testTimes(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	india := time.FixedZone("IST", 5*3600+1800)
	u := newUser(tn.ID, "u@a.example")
	u.CreatedDateTime = time.Date(2024, 1, 2, 3, 4, 5, 987654321, india)
	u.LastPasswordChangeDateTime = time.Now() // local, with a monotonic reading
	u.SignInSessionsValidFromDateTime = time.Time{}
	ok(t, s.CreateUser(c, u))
	want := u
	want.CreatedDateTime = u.CreatedDateTime.UTC()
	want.LastPasswordChangeDateTime = u.LastPasswordChangeDateTime.UTC()
	got := must(s.GetUser(c, tn.ID, u.ID))(t)
	same(t, got, want)
	if !got.CreatedDateTime.Equal(u.CreatedDateTime) || got.CreatedDateTime.Location() != time.UTC {
		t.Fatalf("CreatedDateTime = %v, want %v in UTC", got.CreatedDateTime, u.CreatedDateTime)
	}
	if !got.SignInSessionsValidFromDateTime.IsZero() {
		t.Fatalf("zero time came back as %v", got.SignInSessionsValidFromDateTime)
	}
}

// concurrency is how many goroutines race in the concurrency tests.
const concurrency = 20

// race runs fn concurrently and returns the errors.
func race(fn func(i int) error) []error { return raceN(concurrency, fn) }

// raceN runs fn n times concurrently and returns the errors.
func raceN(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func allOK(t *testing.T, errs []error) {
	t.Helper()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// testConcurrentUpdates: read-modify-write never loses an update.
func testConcurrentUpdates(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := newTenant("a.example")
	tn.DisplayName = "0"
	ok(t, s.CreateTenant(c, tn))
	g := newGroup(tn.ID, "g")
	g.Members = nil
	ok(t, s.CreateGroup(c, g))
	ok(t, s.CreateServerSecret(c, "counter", nil))

	allOK(t, race(func(i int) error {
		_, err := s.UpdateTenant(c, tn.ID, func(t store.Tenant) (store.Tenant, error) {
			n, err := strconv.Atoi(t.DisplayName)
			t.DisplayName = strconv.Itoa(n + 1)
			return t, err
		})
		return err
	}))
	if got := must(s.GetTenant(c, tn.ID))(t).DisplayName; got != strconv.Itoa(concurrency) {
		t.Errorf("tenant counter = %s after %d concurrent increments", got, concurrency)
	}

	// The key set does not exist yet: creating it races too.
	allOK(t, race(func(i int) error {
		_, err := s.UpsertKeySet(c, tn.ID, "", func(k store.KeySet) (store.KeySet, error) {
			k.Keys = append(k.Keys, store.SigningKey{KID: strconv.Itoa(i)})
			return k, nil
		})
		return err
	}))
	if n := len(must(s.GetKeySet(c, tn.ID, ""))(t).Keys); n != concurrency {
		t.Errorf("key set has %d keys after %d concurrent upserts", n, concurrency)
	}

	allOK(t, race(func(i int) error {
		return s.UpdateServerSecret(c, "counter", func(b []byte) ([]byte, error) { return append(b, byte(i)), nil })
	}))
	if n := len(must(s.GetServerSecret(c, "counter"))(t)); n != concurrency {
		t.Errorf("server secret has %d bytes after %d concurrent appends", n, concurrency)
	}

	// Inside transactions, with a read before the update.
	allOK(t, race(func(i int) error {
		return s.InTx(c, func(tx store.Directory) error {
			if _, err := tx.GetTenant(c, tn.ID); err != nil {
				return err
			}
			_, err := tx.UpdateGroup(c, tn.ID, g.ID, func(g store.Group) (store.Group, error) {
				g.Members = append(g.Members, store.DirectoryObjectRef{ID: strconv.Itoa(i), Type: store.MemberTypeUser})
				return g, nil
			})
			return err
		})
	}))
	if n := len(must(s.GetGroup(c, tn.ID, g.ID))(t).Members); n != concurrency {
		t.Errorf("group has %d members after %d concurrent additions", n, concurrency)
	}
}

// testConcurrentCreates: of concurrent creates of one unique key, exactly one wins.
func testConcurrentCreates(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	exactlyOne := func(what string, errs []error) {
		t.Helper()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrAlreadyExists):
				t.Fatalf("%s: %v, want nil or ErrAlreadyExists", what, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%s: %d of %d concurrent creates succeeded, want 1", what, wins, concurrency)
		}
	}
	exactlyOne("user with one UPN", race(func(i int) error {
		return s.CreateUser(c, newUser(tn.ID, "same@a.example"))
	}))
	exactlyOne("tenant with one domain", race(func(i int) error {
		return s.CreateTenant(c, newTenant("same.example"))
	}))
	exactlyOne("server secret", race(func(i int) error {
		return s.CreateServerSecret(c, "pepper", []byte{byte(i)})
	}))
	appID := ids.NewGUID()
	exactlyOne("application with one appId", race(func(i int) error {
		a := newApplication(tn.ID)
		a.AppID = appID
		return s.CreateApplication(c, a)
	}))
	if n := len(must(s.ListUsers(c, tn.ID))(t)); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}
