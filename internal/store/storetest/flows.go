package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Flows (store.Flows): what the suite pins down beyond the interface's comments:
//   - Create refuses a record without ID, TenantID (and UserID for codes and
//     refresh tokens, FamilyID for refresh tokens) or ExpiresAt; a sign-in
//     without ID or CreatedDateTime. Update's fn may not change those keys.
//   - Delete and Update of a missing record are ErrNotFound; ResetCounter of a
//     missing counter is not an error.
//   - Flow writes never move ChangeVersion.
//   - DeleteTenant deletes the tenant's sessions, codes and refresh tokens but
//     keeps its sign-in log; DeleteUser deletes the user's codes and refresh
//     tokens but keeps sessions.

var errRedeemed = errors.New("already redeemed")

func testSessions(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	sess := newSession(tn.ID)
	requireFull(t, sess)
	ok(t, s.CreateSession(c, sess))
	same(t, must(s.GetSession(c, sess.ID))(t), sess)
	isErr(t, s.CreateSession(c, sess), store.ErrAlreadyExists)

	_, err := s.GetSession(c, newTokenID())
	isErr(t, err, store.ErrNotFound)
	_, err = s.UpdateSession(c, newTokenID(), func(v store.Session) (store.Session, error) { return v, nil })
	isErr(t, err, store.ErrNotFound)

	// Update sees what is stored and stores what fn returns.
	want := sess
	want.Accounts = append(want.Accounts, store.SessionAccount{UserID: ids.NewGUID(), AuthTime: t1, AuthMethods: []string{"pwd"}})
	want.Apps = append(want.Apps, ids.NewGUID())
	want.LastSeenAt = t1
	want.ExpiresAt = t1.Add(time.Hour)
	got, err := s.UpdateSession(c, sess.ID, func(v store.Session) (store.Session, error) {
		same(t, v, sess)
		return want, nil
	})
	ok(t, err)
	same(t, got, want)
	same(t, must(s.GetSession(c, sess.ID))(t), want)

	// A failing fn or a change of key writes nothing.
	_, err = s.UpdateSession(c, sess.ID, func(v store.Session) (store.Session, error) { v.Apps = nil; return v, errBoom })
	isErr(t, err, errBoom)
	_, err = s.UpdateSession(c, sess.ID, func(v store.Session) (store.Session, error) { v.TenantID = ids.NewGUID(); return v, nil })
	failed(t, err)
	same(t, must(s.GetSession(c, sess.ID))(t), want)

	// Incomplete records are refused.
	for name, mod := range map[string]func(*store.Session){
		"no id":     func(v *store.Session) { v.ID = "" },
		"no tenant": func(v *store.Session) { v.TenantID = "" },
		"no expiry": func(v *store.Session) { v.ExpiresAt = time.Time{} },
	} {
		v := newSession(tn.ID)
		mod(&v)
		if err := s.CreateSession(c, v); err == nil {
			t.Errorf("%s: CreateSession succeeded", name)
		}
	}

	ok(t, s.DeleteSession(c, sess.ID))
	_, err = s.GetSession(c, sess.ID)
	isErr(t, err, store.ErrNotFound)
	isErr(t, s.DeleteSession(c, sess.ID), store.ErrNotFound)
}

func testAuthorizationCodes(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	code := newAuthorizationCode(tn.ID, ids.NewGUID())
	requireFull(t, code)
	ok(t, s.CreateAuthorizationCode(c, code))
	same(t, must(s.GetAuthorizationCode(c, code.ID))(t), code)
	isErr(t, s.CreateAuthorizationCode(c, code), store.ErrAlreadyExists)
	_, err := s.GetAuthorizationCode(c, newTokenID())
	isErr(t, err, store.ErrNotFound)
	_, err = s.UpdateAuthorizationCode(c, newTokenID(), func(v store.AuthorizationCode) (store.AuthorizationCode, error) { return v, nil })
	isErr(t, err, store.ErrNotFound)

	// A code as issued: optional fields empty, not redeemed.
	fresh := store.AuthorizationCode{
		ID: newTokenID(), TenantID: tn.ID, ClientID: ids.NewGUID(), RedirectURI: "http://localhost:3000",
		Platform: store.PlatformSPA, UserID: ids.NewGUID(), Scope: "openid", EndpointVersion: "1.0",
		AuthTime: t0, IssuedAt: t0, ExpiresAt: t1,
	}
	ok(t, s.CreateAuthorizationCode(c, fresh))
	same(t, must(s.GetAuthorizationCode(c, fresh.ID))(t), fresh)

	want := fresh
	want.RedeemedAt = t1
	want.RefreshTokenFamilyID = ids.NewGUID()
	got, err := s.UpdateAuthorizationCode(c, fresh.ID, func(v store.AuthorizationCode) (store.AuthorizationCode, error) {
		same(t, v, fresh)
		return want, nil
	})
	ok(t, err)
	same(t, got, want)
	_, err = s.UpdateAuthorizationCode(c, fresh.ID, func(v store.AuthorizationCode) (store.AuthorizationCode, error) { return v, errBoom })
	isErr(t, err, errBoom)
	for _, mod := range []func(*store.AuthorizationCode){
		func(v *store.AuthorizationCode) { v.TenantID = ids.NewGUID() },
		func(v *store.AuthorizationCode) { v.UserID = ids.NewGUID() },
	} {
		_, err = s.UpdateAuthorizationCode(c, fresh.ID, func(v store.AuthorizationCode) (store.AuthorizationCode, error) { mod(&v); return v, nil })
		failed(t, err)
	}
	same(t, must(s.GetAuthorizationCode(c, fresh.ID))(t), want)

	for name, mod := range map[string]func(*store.AuthorizationCode){
		"no id":     func(v *store.AuthorizationCode) { v.ID = "" },
		"no tenant": func(v *store.AuthorizationCode) { v.TenantID = "" },
		"no user":   func(v *store.AuthorizationCode) { v.UserID = "" },
		"no expiry": func(v *store.AuthorizationCode) { v.ExpiresAt = time.Time{} },
	} {
		v := newAuthorizationCode(tn.ID, ids.NewGUID())
		mod(&v)
		if err := s.CreateAuthorizationCode(c, v); err == nil {
			t.Errorf("%s: CreateAuthorizationCode succeeded", name)
		}
	}
}

func testRefreshTokens(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	userID, family, other := ids.NewGUID(), ids.NewGUID(), ids.NewGUID()
	rt := newRefreshToken(tn.ID, userID, family)
	requireFull(t, rt)
	ok(t, s.CreateRefreshToken(c, rt))
	same(t, must(s.GetRefreshToken(c, rt.ID))(t), rt)
	isErr(t, s.CreateRefreshToken(c, rt), store.ErrAlreadyExists)
	_, err := s.GetRefreshToken(c, newTokenID())
	isErr(t, err, store.ErrNotFound)
	_, err = s.UpdateRefreshToken(c, newTokenID(), func(v store.RefreshToken) (store.RefreshToken, error) { return v, nil })
	isErr(t, err, store.ErrNotFound)

	// A family of three live tokens, and one token of another family.
	live := func(familyID string) store.RefreshToken {
		v := newRefreshToken(tn.ID, userID, familyID)
		v.Revoked, v.RedeemedAt, v.SessionID, v.Confidential = false, time.Time{}, "", false
		return v
	}
	fam := []store.RefreshToken{live(family), live(family), live(family)}
	for _, v := range fam {
		ok(t, s.CreateRefreshToken(c, v))
		same(t, must(s.GetRefreshToken(c, v.ID))(t), v)
	}
	outsider := live(other)
	ok(t, s.CreateRefreshToken(c, outsider))

	// Rotation: the update sees the stored token.
	redeemed := fam[0]
	redeemed.RedeemedAt = t1
	got, err := s.UpdateRefreshToken(c, fam[0].ID, func(v store.RefreshToken) (store.RefreshToken, error) {
		same(t, v, fam[0])
		v.RedeemedAt = t1
		return v, nil
	})
	ok(t, err)
	same(t, got, redeemed)
	fam[0] = redeemed
	_, err = s.UpdateRefreshToken(c, fam[0].ID, func(v store.RefreshToken) (store.RefreshToken, error) { v.FamilyID = other; return v, nil })
	failed(t, err)

	// Revoking counts only the tokens it changed (rt was stored revoked) and
	// changes nothing else about them.
	if n := must(s.RevokeRefreshTokenFamily(c, family))(t); n != 3 {
		t.Fatalf("RevokeRefreshTokenFamily changed %d tokens, want 3", n)
	}
	for _, v := range fam {
		v.Revoked = true
		same(t, must(s.GetRefreshToken(c, v.ID))(t), v)
	}
	same(t, must(s.GetRefreshToken(c, rt.ID))(t), rt)
	same(t, must(s.GetRefreshToken(c, outsider.ID))(t), outsider)
	if n := must(s.RevokeRefreshTokenFamily(c, family))(t); n != 0 {
		t.Fatalf("second RevokeRefreshTokenFamily changed %d tokens, want 0", n)
	}
	if n := must(s.RevokeRefreshTokenFamily(c, ids.NewGUID()))(t); n != 0 {
		t.Fatalf("RevokeRefreshTokenFamily of an unknown family changed %d tokens", n)
	}
	_, err = s.RevokeRefreshTokenFamily(c, "")
	failed(t, err)

	// An update of a revoked token keeps it revoked unless fn says otherwise;
	// a revoked token updated to not revoked can be revoked again.
	got, err = s.UpdateRefreshToken(c, fam[1].ID, func(v store.RefreshToken) (store.RefreshToken, error) { v.Revoked = false; return v, nil })
	ok(t, err)
	if got.Revoked {
		t.Fatal("update to not revoked left the token revoked")
	}
	if n := must(s.RevokeRefreshTokenFamily(c, family))(t); n != 1 {
		t.Fatalf("RevokeRefreshTokenFamily changed %d tokens, want 1", n)
	}
	if !must(s.GetRefreshToken(c, fam[1].ID))(t).Revoked {
		t.Fatal("token not revoked")
	}

	for name, mod := range map[string]func(*store.RefreshToken){
		"no id":     func(v *store.RefreshToken) { v.ID = "" },
		"no tenant": func(v *store.RefreshToken) { v.TenantID = "" },
		"no family": func(v *store.RefreshToken) { v.FamilyID = "" },
		"no user":   func(v *store.RefreshToken) { v.UserID = "" },
		"no expiry": func(v *store.RefreshToken) { v.ExpiresAt = time.Time{} },
	} {
		v := newRefreshToken(tn.ID, userID, family)
		mod(&v)
		if err := s.CreateRefreshToken(c, v); err == nil {
			t.Errorf("%s: CreateRefreshToken succeeded", name)
		}
	}
}

// testRedeemRace: of concurrent redemptions of one code, one refresh token,
// exactly one wins; concurrent session updates lose nothing.
func testRedeemRace(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	exactlyOneRedeems := func(what string, errs []error) {
		t.Helper()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, errRedeemed):
				t.Fatalf("%s: %v", what, err)
			}
		}
		if wins != 1 {
			t.Fatalf("%s: %d of %d concurrent redemptions won, want 1", what, wins, concurrency)
		}
	}

	code := newAuthorizationCode(tn.ID, ids.NewGUID())
	code.RedeemedAt = time.Time{}
	ok(t, s.CreateAuthorizationCode(c, code))
	exactlyOneRedeems("code", race(func(i int) error {
		_, err := s.UpdateAuthorizationCode(c, code.ID, func(v store.AuthorizationCode) (store.AuthorizationCode, error) {
			if !v.RedeemedAt.IsZero() {
				return v, errRedeemed
			}
			v.RedeemedAt = time.Now()
			return v, nil
		})
		return err
	}))

	rt := newRefreshToken(tn.ID, ids.NewGUID(), ids.NewGUID())
	rt.RedeemedAt, rt.Revoked = time.Time{}, false
	ok(t, s.CreateRefreshToken(c, rt))
	exactlyOneRedeems("refresh token", race(func(i int) error {
		_, err := s.UpdateRefreshToken(c, rt.ID, func(v store.RefreshToken) (store.RefreshToken, error) {
			if !v.RedeemedAt.IsZero() {
				return v, errRedeemed
			}
			v.RedeemedAt = time.Now()
			return v, nil
		})
		return err
	}))

	sess := newSession(tn.ID)
	sess.Apps = nil
	ok(t, s.CreateSession(c, sess))
	allOK(t, race(func(i int) error {
		_, err := s.UpdateSession(c, sess.ID, func(v store.Session) (store.Session, error) {
			v.Apps = append(v.Apps, ids.NewGUID())
			return v, nil
		})
		return err
	}))
	if n := len(must(s.GetSession(c, sess.ID))(t).Apps); n != concurrency {
		t.Fatalf("session has %d apps after %d concurrent additions", n, concurrency)
	}
}

func testSignIns(t *testing.T, s store.Store) {
	c := ctx(t)
	tenantA, tenantB := ids.NewGUID(), ids.NewGUID() // the log needs no tenant record
	alice, bob := ids.NewGUID(), ids.NewGUID()
	app1, app2 := ids.NewGUID(), ids.NewGUID()

	same(t, must(s.ListSignIns(c, store.SignInFilter{}))(t), []store.SignIn{})
	first := newSignIn(tenantA, alice, app1, t0)
	requireFull(t, first)
	ok(t, s.CreateSignIn(c, first))
	same(t, must(s.ListSignIns(c, store.SignInFilter{}))(t), []store.SignIn{first})
	isErr(t, s.CreateSignIn(c, first), store.ErrAlreadyExists)

	// A success for an unknown user has no user and no error.
	unknown := store.SignIn{ID: ids.NewGUID(), CreatedDateTime: t0.Add(time.Microsecond), TenantID: tenantA, AppID: app1}
	ok(t, s.CreateSignIn(c, unknown))
	all := []store.SignIn{unknown, first}
	for i, e := range []struct{ tenant, user, app string }{
		{tenantA, alice, app2}, {tenantA, bob, app1}, {tenantB, alice, app1}, {tenantA, alice, app1},
	} {
		v := newSignIn(e.tenant, e.user, e.app, t0.Add(time.Duration(i+1)*time.Second))
		ok(t, s.CreateSignIn(c, v))
		all = append([]store.SignIn{v}, all...) // newest first
	}
	pick := func(idx ...int) []store.SignIn {
		out := []store.SignIn{}
		for _, i := range idx {
			out = append(out, all[i])
		}
		return out
	}
	// all: 0 = (A, alice, app1, +4s), 1 = (B, alice, app1, +3s), 2 = (A, bob, app1, +2s),
	// 3 = (A, alice, app2, +1s), 4 = unknown (A, -, app1, +1µs), 5 = first (A, alice, app1, t0).
	for _, tc := range []struct {
		name string
		f    store.SignInFilter
		want []store.SignIn
	}{
		{"all", store.SignInFilter{}, all},
		{"tenant", store.SignInFilter{TenantID: tenantB}, pick(1)},
		{"user", store.SignInFilter{UserID: alice}, pick(0, 1, 3, 5)},
		{"app in any case", store.SignInFilter{AppID: strings.ToUpper(app1)}, pick(0, 1, 2, 4, 5)},
		{"tenant, user and app", store.SignInFilter{TenantID: tenantA, UserID: alice, AppID: app1}, pick(0, 5)},
		{"since is inclusive", store.SignInFilter{Since: t0.Add(2 * time.Second)}, pick(0, 1, 2)},
		{"since, to the microsecond", store.SignInFilter{Since: t0.Add(time.Microsecond)}, pick(0, 1, 2, 3, 4)},
		{"limit keeps the newest", store.SignInFilter{Limit: 2}, pick(0, 1)},
		{"filters and limit", store.SignInFilter{UserID: alice, Limit: 3}, pick(0, 1, 3)},
		{"no match", store.SignInFilter{UserID: ids.NewGUID()}, []store.SignIn{}},
	} {
		t.Run(tc.name, func(t *testing.T) { same(t, must(s.ListSignIns(c, tc.f))(t), tc.want) })
	}
	_, err := s.ListSignIns(c, store.SignInFilter{Limit: -1})
	failed(t, err)

	// The default limit is 1000.
	for i := range 1001 - len(all) {
		ok(t, s.CreateSignIn(c, store.SignIn{ID: ids.NewGUID(), CreatedDateTime: t1.Add(time.Duration(i) * time.Millisecond), TenantID: tenantB}))
	}
	got := must(s.ListSignIns(c, store.SignInFilter{}))(t)
	if len(got) != 1000 || got[len(got)-1].ID != all[len(all)-2].ID {
		t.Fatalf("default limit: %d entries, the oldest being %s; want 1000 down to the second oldest", len(got), got[len(got)-1].ID)
	}

	for name, v := range map[string]store.SignIn{
		"no id":   {CreatedDateTime: t0, TenantID: tenantA},
		"no time": {ID: ids.NewGUID(), TenantID: tenantA},
	} {
		if err := s.CreateSignIn(c, v); err == nil {
			t.Errorf("%s: CreateSignIn succeeded", name)
		}
	}
}

func testCounters(t *testing.T, s store.Store) {
	c := ctx(t)
	const window = time.Minute
	hit := func(key string, at time.Time, want int) {
		t.Helper()
		if n := must(s.HitCounter(c, key, window, at))(t); n != want {
			t.Fatalf("HitCounter(%s, %v) = %d, want %d", key, at, n, want)
		}
	}
	peek := func(key string, at time.Time, want int) {
		t.Helper()
		if n := must(s.PeekCounter(c, key, window, at))(t); n != want {
			t.Fatalf("PeekCounter(%s, %v) = %d, want %d", key, at, n, want)
		}
	}
	peek("u", t0, 0)
	hit("u", t0, 1)
	hit("u", t0.Add(time.Second), 2)
	hit("u", t0.Add(window-time.Millisecond), 3)
	peek("u", t0.Add(window-time.Millisecond), 3)
	peek("ip", t0, 0) // counters are separate
	hit("ip", t0, 1)
	// The window started at the first hit; once it has passed, counting
	// starts again.
	peek("u", t0.Add(window), 0)
	hit("u", t0.Add(window), 1)
	hit("u", t0.Add(window+time.Second), 2)
	peek("u", t0.Add(window+time.Second), 2)
	peek("ip", t0.Add(time.Second), 1)

	ok(t, s.ResetCounter(c, "u"))
	peek("u", t0.Add(window+time.Second), 0)
	hit("u", t0.Add(window+2*time.Second), 1)
	ok(t, s.ResetCounter(c, "missing"))

	_, err := s.HitCounter(c, "", window, t0)
	failed(t, err)
	_, err = s.HitCounter(c, "u", 0, t0)
	failed(t, err)
	_, err = s.PeekCounter(c, "u", -time.Second, t0)
	failed(t, err)

	// Concurrent hits are all counted.
	const n = 50
	now := time.Now()
	errs := raceN(n, func(i int) error {
		_, err := s.HitCounter(c, "busy", window, now)
		return err
	})
	allOK(t, errs)
	if got := must(s.PeekCounter(c, "busy", window, now))(t); got != n {
		t.Fatalf("counter = %d after %d concurrent hits", got, n)
	}
}

func testReplayCache(t *testing.T, s store.Store) {
	c := ctx(t)
	later := time.Now().Add(time.Hour)
	ok(t, s.RecordOnce(c, "jti-1", later))
	isErr(t, s.RecordOnce(c, "jti-1", later), store.ErrAlreadyExists)
	isErr(t, s.RecordOnce(c, "jti-1", later.Add(time.Hour)), store.ErrAlreadyExists)
	ok(t, s.RecordOnce(c, "jti-2", later))

	// An expired entry is no replay: it is recorded anew, and then counts.
	ok(t, s.RecordOnce(c, "old", time.Now().Add(-time.Second)))
	ok(t, s.RecordOnce(c, "old", later))
	isErr(t, s.RecordOnce(c, "old", later), store.ErrAlreadyExists)

	failed(t, s.RecordOnce(c, "", later))
	failed(t, s.RecordOnce(c, "jti-3", time.Time{}))

	wins := 0
	for _, err := range race(func(i int) error { return s.RecordOnce(c, "raced", later) }) {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent RecordOnce succeeded, want 1", wins, concurrency)
	}
}

func testDeleteExpired(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Second)
	const expired = 5 // of each kind
	var keep []func() error
	for i := range expired + 1 {
		at := past
		if i == expired {
			at = future // one live record of each kind
		}
		sess := newSession(tn.ID)
		sess.ExpiresAt = at
		ok(t, s.CreateSession(c, sess))
		code := newAuthorizationCode(tn.ID, ids.NewGUID())
		code.ExpiresAt = at
		ok(t, s.CreateAuthorizationCode(c, code))
		rt := newRefreshToken(tn.ID, ids.NewGUID(), ids.NewGUID())
		rt.ExpiresAt = at
		ok(t, s.CreateRefreshToken(c, rt))
		key := ids.NewGUID()
		// A counter's window ends a minute after its hit.
		_, err := s.HitCounter(c, key, time.Minute, at.Add(-time.Minute))
		ok(t, err)
		jti := ids.NewGUID()
		ok(t, s.RecordOnce(c, jti, at))
		// Sign-ins are kept for a day.
		si := newSignIn(tn.ID, ids.NewGUID(), ids.NewGUID(), at.Add(-24*time.Hour))
		ok(t, s.CreateSignIn(c, si))
		if i == expired {
			keep = []func() error{
				func() error { return second(s.GetSession(c, sess.ID)) },
				func() error { return second(s.GetAuthorizationCode(c, code.ID)) },
				func() error { return second(s.GetRefreshToken(c, rt.ID)) },
				func() error {
					if n := must(s.PeekCounter(c, key, time.Minute, now))(t); n != 1 {
						return errors.New("live counter gone")
					}
					return nil
				},
				func() error { return ignore(s.RecordOnce(c, jti, future), store.ErrAlreadyExists) },
				func() error {
					if got := must(s.ListSignIns(c, store.SignInFilter{}))(t); len(got) != 1 || got[0].ID != si.ID {
						return errors.New("recent sign-in gone")
					}
					return nil
				},
			}
		}
	}

	_, err := s.DeleteExpired(c, now, 0, 0)
	failed(t, err)

	// Batches of 2: without retention the sign-in log is left alone.
	n := must(s.DeleteExpired(c, now, 2, 0))(t)
	if n != 5*2 {
		t.Fatalf("first batch deleted %d rows, want %d", n, 5*2)
	}
	if got := len(must(s.ListSignIns(c, store.SignInFilter{}))(t)); got != expired+1 {
		t.Fatalf("%d sign-ins after DeleteExpired without retention, want %d", got, expired+1)
	}
	total := n
	for range 10 {
		n = must(s.DeleteExpired(c, now, 2, 24*time.Hour))(t)
		if n == 0 {
			break
		}
		if n > 6*2 {
			t.Fatalf("a batch deleted %d rows, more than 2 of each of 6 kinds", n)
		}
		total += n
	}
	if want := 6 * expired; total != want {
		t.Fatalf("DeleteExpired deleted %d rows in all, want %d", total, want)
	}
	for i, f := range keep {
		if err := f(); err != nil {
			t.Errorf("live record %d: %v", i, err)
		}
	}
}

// ignore is err unless it is want.
func ignore(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return err
}

// testFlowCascades: deleting a tenant or a user deletes what was issued in
// or to it (see the package comment).
func testFlowCascades(t *testing.T, s store.Store) {
	c := ctx(t)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	alice := userFixture(t, s, a.ID, "alice@a.example")
	bob := userFixture(t, s, a.ID, "bob@a.example")
	carol := userFixture(t, s, b.ID, "carol@b.example")

	type issued struct {
		sess store.Session
		code store.AuthorizationCode
		rt   store.RefreshToken
		si   store.SignIn
	}
	issue := func(tenantID, userID string) issued {
		v := issued{
			sess: newSession(tenantID),
			code: newAuthorizationCode(tenantID, userID),
			rt:   newRefreshToken(tenantID, userID, ids.NewGUID()),
			si:   newSignIn(tenantID, userID, ids.NewGUID(), t0),
		}
		v.sess.Accounts[0].UserID = userID
		ok(t, s.CreateSession(c, v.sess))
		ok(t, s.CreateAuthorizationCode(c, v.code))
		ok(t, s.CreateRefreshToken(c, v.rt))
		ok(t, s.CreateSignIn(c, v.si))
		return v
	}
	exists := func(v issued, sess, code, rt bool) {
		t.Helper()
		for _, e := range []struct {
			what string
			err  error
			want bool
		}{
			{"session", second(s.GetSession(c, v.sess.ID)), sess},
			{"code", second(s.GetAuthorizationCode(c, v.code.ID)), code},
			{"refresh token", second(s.GetRefreshToken(c, v.rt.ID)), rt},
		} {
			switch {
			case e.want:
				ok(t, e.err)
			default:
				isErr(t, e.err, store.ErrNotFound)
			}
			_ = e.what
		}
	}
	ofAlice, ofBob, ofCarol := issue(a.ID, alice.ID), issue(a.ID, bob.ID), issue(b.ID, carol.ID)

	ok(t, s.DeleteUser(c, a.ID, alice.ID))
	exists(ofAlice, true, false, false)
	exists(ofBob, true, true, true)
	exists(ofCarol, true, true, true)

	ok(t, s.DeleteTenant(c, a.ID))
	exists(ofAlice, false, false, false)
	exists(ofBob, false, false, false)
	exists(ofCarol, true, true, true)
	// The sign-in log keeps them all.
	sameSet(t, must(s.ListSignIns(c, store.SignInFilter{}))(t), []store.SignIn{ofAlice.si, ofBob.si, ofCarol.si},
		func(v store.SignIn) string { return v.ID })
}

// testFlowsChangeVersion: flow writes are not directory changes.
func testFlowsChangeVersion(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	v0 := must(s.ChangeVersion(c))(t)
	sess := newSession(tn.ID)
	code := newAuthorizationCode(tn.ID, ids.NewGUID())
	rt := newRefreshToken(tn.ID, ids.NewGUID(), ids.NewGUID())
	ok(t, s.CreateSession(c, sess))
	ok(t, second(s.UpdateSession(c, sess.ID, func(v store.Session) (store.Session, error) { return v, nil })))
	ok(t, s.DeleteSession(c, sess.ID))
	ok(t, s.CreateAuthorizationCode(c, code))
	ok(t, second(s.UpdateAuthorizationCode(c, code.ID, func(v store.AuthorizationCode) (store.AuthorizationCode, error) { return v, nil })))
	ok(t, s.CreateRefreshToken(c, rt))
	ok(t, second(s.UpdateRefreshToken(c, rt.ID, func(v store.RefreshToken) (store.RefreshToken, error) { return v, nil })))
	ok(t, second(s.RevokeRefreshTokenFamily(c, rt.FamilyID)))
	ok(t, s.CreateSignIn(c, newSignIn(tn.ID, ids.NewGUID(), ids.NewGUID(), t0)))
	ok(t, second(s.HitCounter(c, "k", time.Minute, t0)))
	ok(t, s.ResetCounter(c, "k"))
	ok(t, s.RecordOnce(c, "jti", t1))
	ok(t, second(s.DeleteExpired(c, t1.Add(time.Hour), 100, time.Hour)))
	if v := must(s.ChangeVersion(c))(t); v != v0 {
		t.Fatalf("flow writes moved the change version from %d to %d", v0, v)
	}
}

func testIdentifierURIs(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	app := newApplication(tn.ID)
	app.IdentifierURIs = []string{"api://Tasks", "https://a.example/tasks", "API://tasks", ""}
	ok(t, s.CreateApplication(c, app))
	for _, uri := range []string{"api://tasks", "API://TASKS", "https://A.example/tasks"} {
		same(t, must(s.GetApplicationByIdentifierURI(c, uri))(t), app)
	}
	for _, uri := range []string{"", "api://tasks/", "api://other"} {
		_, err := s.GetApplicationByIdentifierURI(c, uri)
		isErr(t, err, store.ErrNotFound)
	}

	// Identifier URIs are unique across applications, in any case.
	other := newApplication(tn.ID)
	other.IdentifierURIs = []string{"api://other", "API://TASKS"}
	isErr(t, s.CreateApplication(c, other), store.ErrAlreadyExists)
	_, err := s.GetApplicationByAppID(c, other.AppID)
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetApplicationByIdentifierURI(c, "api://other")
	isErr(t, err, store.ErrNotFound)
	other.IdentifierURIs = []string{"api://other"}
	ok(t, s.CreateApplication(c, other))
	same(t, must(s.GetApplicationByIdentifierURI(c, "api://other"))(t), other)
	_, err = s.UpdateApplication(c, other.AppID, func(a store.Application) (store.Application, error) {
		a.IdentifierURIs = append(a.IdentifierURIs, "https://a.example/TASKS")
		return a, nil
	})
	isErr(t, err, store.ErrAlreadyExists)
	same(t, must(s.GetApplicationByAppID(c, other.AppID))(t), other)

	// An update replaces the URIs: the old ones are free again.
	updated, err := s.UpdateApplication(c, app.AppID, func(a store.Application) (store.Application, error) {
		a.IdentifierURIs = []string{"api://tasks-v2"}
		return a, nil
	})
	ok(t, err)
	same(t, must(s.GetApplicationByIdentifierURI(c, "api://tasks-v2"))(t), updated)
	_, err = s.GetApplicationByIdentifierURI(c, "api://tasks")
	isErr(t, err, store.ErrNotFound)
	ok(t, second(s.UpdateApplication(c, other.AppID, func(a store.Application) (store.Application, error) {
		a.IdentifierURIs = append(a.IdentifierURIs, "api://tasks")
		return a, nil
	})))
	if got := must(s.GetApplicationByIdentifierURI(c, "api://tasks"))(t); got.AppID != other.AppID {
		t.Fatalf("api://tasks belongs to %s, want %s", got.AppID, other.AppID)
	}

	// Deleting the application, or its tenant, frees its URIs.
	ok(t, s.DeleteApplication(c, other.AppID))
	_, err = s.GetApplicationByIdentifierURI(c, "api://other")
	isErr(t, err, store.ErrNotFound)
	ok(t, s.DeleteTenant(c, tn.ID))
	_, err = s.GetApplicationByIdentifierURI(c, "api://tasks-v2")
	isErr(t, err, store.ErrNotFound)
}

// testIdentifierURIsInTx: the URI table follows the transaction.
func testIdentifierURIsInTx(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	app := newApplication(tn.ID)
	app.IdentifierURIs = []string{"api://tasks"}

	// Rolled back: nothing stays.
	err := s.InTx(c, func(tx store.Directory) error {
		ok(t, tx.CreateApplication(c, app))
		same(t, must(tx.GetApplicationByIdentifierURI(c, "api://tasks"))(t), app)
		return errBoom
	})
	isErr(t, err, errBoom)
	_, err = s.GetApplicationByIdentifierURI(c, "api://tasks")
	isErr(t, err, store.ErrNotFound)

	// Committed, with failed calls inside that change nothing.
	dup := newApplication(tn.ID)
	dup.IdentifierURIs = app.IdentifierURIs
	ok(t, s.InTx(c, func(tx store.Directory) error {
		ok(t, tx.CreateApplication(c, app))
		isErr(t, tx.CreateApplication(c, dup), store.ErrAlreadyExists)
		_, err := tx.UpdateApplication(c, app.AppID, func(a store.Application) (store.Application, error) {
			a.IdentifierURIs = []string{"api://renamed"}
			return a, errBoom
		})
		isErr(t, err, errBoom)
		dup.IdentifierURIs = []string{"api://dup"}
		ok(t, tx.CreateApplication(c, dup))
		_, err = tx.UpdateApplication(c, dup.AppID, func(a store.Application) (store.Application, error) {
			a.IdentifierURIs = []string{"api://tasks"}
			return a, nil
		})
		isErr(t, err, store.ErrAlreadyExists)
		same(t, must(tx.GetApplicationByIdentifierURI(c, "api://dup"))(t), dup)
		return nil
	}))
	same(t, must(s.GetApplicationByIdentifierURI(c, "api://tasks"))(t), app)
	same(t, must(s.GetApplicationByIdentifierURI(c, "api://dup"))(t), dup)
	_, err = s.GetApplicationByIdentifierURI(c, "api://renamed")
	isErr(t, err, store.ErrNotFound)

	// Concurrent creates of one URI: exactly one wins.
	wins := 0
	for _, err := range race(func(i int) error {
		a := newApplication(tn.ID)
		a.IdentifierURIs = []string{"api://raced"}
		return s.CreateApplication(c, a)
	}) {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent creates of one identifier URI succeeded", wins, concurrency)
	}
	apps := must(s.ListApplications(c, tn.ID))(t)
	if n := len(slices.DeleteFunc(apps, func(a store.Application) bool { return !slices.Contains(a.IdentifierURIs, "api://raced") })); n != 1 {
		t.Fatalf("%d applications hold api://raced", n)
	}
}
