package store

import (
	"context"
	"encoding/json"
	"time"
)

// Audit actions.
const (
	AuditCreate = "create"
	AuditUpdate = "update"
	AuditDelete = "delete"
)

// AuditEntry is one administrative change — to the directory, the signing
// keys or the server secrets — made through the admin CLI or a directory
// file: who made it, when, what, and the object before and after it, with
// secrets, hashes and sealed keys removed (internal/audit does that and
// writes the entries). The sign-in log records sign-ins; this one changes.
type AuditEntry struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Actor is who: the OS user who ran the CLI, or "directory-file" for a
	// directory file a server applied as it started.
	Actor string `json:"actor"`
	// Source is how: the command or file, e.g. "app secret add".
	Source   string          `json:"source,omitempty"`
	Action   string          `json:"action"` // AuditCreate, AuditUpdate, AuditDelete
	Kind     string          `json:"kind"`   // tenant, user, application, keySet, ...
	TenantID string          `json:"tenantId,omitempty"`
	ObjectID string          `json:"objectId"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Since time.Time
	// Limit caps the result (newest first); 0 means a default of 1000.
	Limit int
}

// AuditLog reads the audit log. Entries are written by
// Directory.CreateAuditEntry, in the transaction of the change they record,
// so a change is never kept without its entry.
type AuditLog interface {
	ListAuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
}
