package sqlstore

import (
	"context"
	"database/sql"
)

// NewAtVersion is New that migrates db only up to version, for tests of
// later migrations on an old database.
func NewAtVersion(ctx context.Context, db *sql.DB, d Dialect, version int) (*Store, error) {
	s := &Store{db: db, d: d}
	s.dir = &dir{s: s, q: db}
	return s, s.migrate(ctx, version)
}

// TakeWriteTurn takes the store's write turn (Dialect.LocalWriteTurns) as a
// writer would, and returns what gives it back.
func (s *Store) TakeWriteTurn(ctx context.Context) (func(), error) { return s.writeTurn(ctx) }
