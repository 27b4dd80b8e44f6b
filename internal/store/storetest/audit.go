package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// testAuditLog: entries are written in the transaction of their change (a
// failed transaction leaves neither), come back newest first, to the
// microsecond, filtered by Since and Limit, and need a time.
func testAuditLog(t *testing.T, s store.Store) {
	c := context.Background()
	base := time.Date(2026, 3, 1, 9, 0, 0, 123456000, time.UTC)
	entry := func(i int) store.AuditEntry {
		return store.AuditEntry{
			ID: ids.NewGUID(), Time: base.Add(time.Duration(i) * time.Microsecond), Actor: "alice", Source: "user create",
			Action: store.AuditCreate, Kind: "user", TenantID: ids.NewGUID(), ObjectID: ids.NewGUID(),
			After: json.RawMessage(`{"displayName":"N"}`),
		}
	}
	tenant := newTenant("audit.example.com")
	var want []store.AuditEntry
	ok(t, s.InTx(c, func(tx store.Directory) error {
		if err := tx.CreateTenant(c, tenant); err != nil {
			return err
		}
		for i := range 3 {
			want = append(want, entry(i))
			if err := tx.CreateAuditEntry(c, want[i]); err != nil {
				return err
			}
		}
		return nil
	}))
	// Rolled back with its change.
	failed(t, s.InTx(c, func(tx store.Directory) error {
		if err := tx.CreateAuditEntry(c, entry(10)); err != nil {
			return err
		}
		return errBoom
	}))
	got := must(s.ListAuditEntries(c, store.AuditFilter{}))(t)
	same(t, got, []store.AuditEntry{want[2], want[1], want[0]})
	same(t, must(s.ListAuditEntries(c, store.AuditFilter{Since: want[1].Time}))(t), []store.AuditEntry{want[2], want[1]})
	same(t, must(s.ListAuditEntries(c, store.AuditFilter{Limit: 1}))(t), []store.AuditEntry{want[2]})
	// Outside a transaction too, and without a time it is refused.
	ok(t, s.CreateAuditEntry(c, entry(20)))
	failed(t, s.CreateAuditEntry(c, store.AuditEntry{ID: ids.NewGUID(), Actor: "x", Action: store.AuditDelete, Kind: "user", ObjectID: "y"}))
	if _, err := s.ListAuditEntries(c, store.AuditFilter{Limit: -1}); err == nil {
		t.Error("a negative limit was accepted")
	}
	if n := len(must(s.ListAuditEntries(c, store.AuditFilter{}))(t)); n != 4 {
		t.Errorf("%d entries, want 4", n)
	}
}
