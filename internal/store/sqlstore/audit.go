package sqlstore

import (
	"context"
	"fmt"

	"github.com/entranceidp/entrance/internal/store"
)

// The audit log (migrations/0004_audit_log.sql): appended to inside the
// transaction of the change an entry records, read newest first.

var auditEntries = newKind("audit_log", "audit entry", "at DESC, id DESC", 1,
	[]string{"id", "at"},
	func(e store.AuditEntry) []any { return []any{e.ID, e.Time.UnixMicro()} })

const defaultAuditLimit = 1000

// CreateAuditEntry is a plain insert: the change it records has bumped
// the change counter already, and the log itself is no cached state.
func (d *dir) CreateAuditEntry(ctx context.Context, e store.AuditEntry) error {
	if err := needTime("audit entry", "time", e.Time); err != nil {
		return err
	}
	return insert(ctx, d, auditEntries, e)
}

func (s *Store) ListAuditEntries(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = defaultAuditLimit
	case limit < 0:
		return nil, fmt.Errorf("store: list audit entries: limit %d must not be negative", limit)
	}
	q, args := "SELECT data FROM audit_log", []any{}
	if !f.Since.IsZero() {
		q += " WHERE at >= ?"
		args = append(args, f.Since.UnixMicro())
	}
	return listQuery(ctx, s.dir, auditEntries, q+" ORDER BY "+auditEntries.order+" LIMIT ?", append(args, limit)...)
}
