package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Device codes (store.DeviceCode): what the suite pins down beyond the
// interface's comments:
//   - Create refuses a record without ID, UserCode or ExpiresAt; TenantID
//     and UserID may be empty (not known yet). Update's fn may not change ID
//     or UserCode.
//   - A user code is unique: a second record with it is ErrAlreadyExists.
//   - DeleteExpired removes expired device codes; DeleteTenant the tenant's,
//     DeleteUser those the user approved.

// newDeviceCode is an approved device code with every field set.
func newDeviceCode(tenantID, userID string) store.DeviceCode {
	return store.DeviceCode{
		ID:              newTokenID(),
		UserCode:        ids.RandomToken(8), // any unique string will do here
		TenantID:        tenantID,
		PathTenant:      "organizations",
		ClientID:        ids.NewGUID(),
		Scope:           "openid profile offline_access User.Read",
		Resource:        "https://graph.microsoft.com",
		EndpointVersion: "2.0",
		ClaimsRequest:   `{"access_token":{"xms_cc":{"values":["cp1"]}}}`,
		CorrelationID:   ids.NewGUID(),
		IssuedAt:        t0,
		ExpiresAt:       t1,
		LastPolledAt:    t0.Add(5 * time.Second),
		UserID:          userID,
		SessionID:       newTokenID(),
		AuthTime:        t0.Add(time.Minute),
		AuthMethods:     []string{store.AuthMethodPassword},
		ApprovedAt:      t0.Add(2 * time.Minute),
		DeclinedAt:      t0.Add(3 * time.Minute),
		RedeemedAt:      t0.Add(4 * time.Minute),
	}
}

// pendingDeviceCode is one as the device code endpoint stores it, for a
// request to common: neither tenant nor user known yet.
func pendingDeviceCode() store.DeviceCode {
	return store.DeviceCode{
		ID: newTokenID(), UserCode: ids.RandomToken(8), PathTenant: "common", ClientID: ids.NewGUID(),
		Scope: "openid", EndpointVersion: "2.0", IssuedAt: t0, ExpiresAt: t1,
	}
}

func testDeviceCodes(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	full := newDeviceCode(tn.ID, ids.NewGUID())
	requireFull(t, full)
	ok(t, s.CreateDeviceCode(c, full))
	same(t, must(s.GetDeviceCode(c, full.ID))(t), full)
	same(t, must(s.GetDeviceCodeByUserCode(c, full.UserCode))(t), full)
	isErr(t, s.CreateDeviceCode(c, full), store.ErrAlreadyExists)
	// Another device code with the same user code.
	dup := pendingDeviceCode()
	dup.UserCode = full.UserCode
	isErr(t, s.CreateDeviceCode(c, dup), store.ErrAlreadyExists)

	_, err := s.GetDeviceCode(c, newTokenID())
	isErr(t, err, store.ErrNotFound)
	_, err = s.GetDeviceCodeByUserCode(c, "NOSUCHCOD")
	isErr(t, err, store.ErrNotFound)
	_, err = s.UpdateDeviceCode(c, newTokenID(), func(v store.DeviceCode) (store.DeviceCode, error) { return v, nil })
	isErr(t, err, store.ErrNotFound)

	// Pending, then approved: tenant and user are set by the update.
	fresh := pendingDeviceCode()
	ok(t, s.CreateDeviceCode(c, fresh))
	same(t, must(s.GetDeviceCode(c, fresh.ID))(t), fresh)
	want := fresh
	want.TenantID, want.UserID, want.SessionID = tn.ID, ids.NewGUID(), newTokenID()
	want.AuthTime, want.AuthMethods, want.ApprovedAt = t0, []string{store.AuthMethodPassword}, t0.Add(time.Second)
	got, err := s.UpdateDeviceCode(c, fresh.ID, func(v store.DeviceCode) (store.DeviceCode, error) {
		same(t, v, fresh)
		return want, nil
	})
	ok(t, err)
	same(t, got, want)
	same(t, must(s.GetDeviceCodeByUserCode(c, fresh.UserCode))(t), want)

	// A failing fn or a change of key writes nothing.
	_, err = s.UpdateDeviceCode(c, fresh.ID, func(v store.DeviceCode) (store.DeviceCode, error) {
		v.RedeemedAt = t1
		return v, errBoom
	})
	isErr(t, err, errBoom)
	_, err = s.UpdateDeviceCode(c, fresh.ID, func(v store.DeviceCode) (store.DeviceCode, error) { v.UserCode = "CHANGED12"; return v, nil })
	failed(t, err)
	same(t, must(s.GetDeviceCode(c, fresh.ID))(t), want)

	for name, mod := range map[string]func(*store.DeviceCode){
		"no id":        func(v *store.DeviceCode) { v.ID = "" },
		"no user code": func(v *store.DeviceCode) { v.UserCode = "" },
		"no expiry":    func(v *store.DeviceCode) { v.ExpiresAt = time.Time{} },
	} {
		v := pendingDeviceCode()
		mod(&v)
		if err := s.CreateDeviceCode(c, v); err == nil {
			t.Errorf("%s: CreateDeviceCode succeeded", name)
		}
	}
}

// testDeviceCodeRace: of concurrent polls redeeming one approved device
// code exactly one wins, and of a concurrent approval and decline exactly
// one takes effect.
func testDeviceCodeRace(t *testing.T, s store.Store) {
	c := ctx(t)
	tn := tenantFixture(t, s, "a.example")
	dc := newDeviceCode(tn.ID, ids.NewGUID())
	dc.DeclinedAt, dc.RedeemedAt = time.Time{}, time.Time{}
	ok(t, s.CreateDeviceCode(c, dc))
	wins := 0
	for _, err := range race(func(int) error {
		_, err := s.UpdateDeviceCode(c, dc.ID, func(v store.DeviceCode) (store.DeviceCode, error) {
			if !v.RedeemedAt.IsZero() {
				return v, errRedeemed
			}
			v.RedeemedAt = time.Now()
			return v, nil
		})
		return err
	}) {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, errRedeemed):
			t.Fatal(err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent redemptions won, want 1", wins, concurrency)
	}

	pending := pendingDeviceCode()
	ok(t, s.CreateDeviceCode(c, pending))
	decided := errors.New("already decided")
	errs := race(func(i int) error {
		_, err := s.UpdateDeviceCode(c, pending.ID, func(v store.DeviceCode) (store.DeviceCode, error) {
			if !v.ApprovedAt.IsZero() || !v.DeclinedAt.IsZero() {
				return v, decided
			}
			if i%2 == 0 {
				v.ApprovedAt = time.Now()
			} else {
				v.DeclinedAt = time.Now()
			}
			return v, nil
		})
		return err
	})
	wins = 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, decided):
			t.Fatal(err)
		}
	}
	got := must(s.GetDeviceCode(c, pending.ID))(t)
	if wins != 1 || got.ApprovedAt.IsZero() == got.DeclinedAt.IsZero() {
		t.Fatalf("%d decisions won (approved %v, declined %v), want exactly one", wins, got.ApprovedAt, got.DeclinedAt)
	}
}

// testDeviceCodeCleanup: expired device codes go with DeleteExpired; a
// tenant's with DeleteTenant; a user's approved ones with DeleteUser.
func testDeviceCodeCleanup(t *testing.T, s store.Store) {
	c := ctx(t)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := tenantFixture(t, s, "a.example")
	b := tenantFixture(t, s, "b.example")
	alice := userFixture(t, s, a.ID, "alice@a.example")
	bob := userFixture(t, s, a.ID, "bob@a.example")

	expired := pendingDeviceCode()
	expired.ExpiresAt = now.Add(-time.Second)
	live := pendingDeviceCode()
	live.ExpiresAt = now.Add(time.Second)
	ok(t, s.CreateDeviceCode(c, expired))
	ok(t, s.CreateDeviceCode(c, live))
	if n := must(s.DeleteExpired(c, now, 100, 0))(t); n != 1 {
		t.Fatalf("DeleteExpired deleted %d rows, want the 1 expired device code", n)
	}
	_, err := s.GetDeviceCode(c, expired.ID)
	isErr(t, err, store.ErrNotFound)
	ok(t, second(s.GetDeviceCode(c, live.ID)))

	ofAlice, ofBob, ofB := newDeviceCode(a.ID, alice.ID), newDeviceCode(a.ID, bob.ID), newDeviceCode(b.ID, ids.NewGUID())
	pendingInA := pendingDeviceCode()
	pendingInA.TenantID = a.ID
	for _, v := range []store.DeviceCode{ofAlice, ofBob, ofB, pendingInA} {
		ok(t, s.CreateDeviceCode(c, v))
	}
	exists := func(v store.DeviceCode, want bool) {
		t.Helper()
		err := second(s.GetDeviceCode(c, v.ID))
		if want {
			ok(t, err)
		} else {
			isErr(t, err, store.ErrNotFound)
		}
	}
	ok(t, s.DeleteUser(c, a.ID, alice.ID))
	exists(ofAlice, false)
	exists(ofBob, true)
	exists(pendingInA, true)
	ok(t, s.DeleteTenant(c, a.ID))
	exists(ofBob, false)
	exists(pendingInA, false)
	exists(ofB, true)
	exists(live, true) // no tenant yet: not the deleted tenant's
}
