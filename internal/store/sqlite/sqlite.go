// Package sqlite is the embedded backend: store.Store on one SQLite file,
// through the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/sqlstore"
)

// dsnParams are applied by the driver to every connection it opens:
//   - busy_timeout first, so that the others wait for a lock instead of failing;
//   - WAL, so that readers never wait for the writer; synchronous NORMAL is
//     durable enough with WAL (a power cut may lose the last commits, never
//     corrupt the file) and much faster than FULL;
//   - foreign keys, which SQLite leaves off by default, for the cascades;
//   - no automatic checkpoint: the store checkpoints outside its writes
//     (Dialect.CheckpointEvery);
//   - BEGIN IMMEDIATE for every transaction: it takes the write lock at the
//     start, so read-modify-write transactions are serialised rather than
//     failing with SQLITE_BUSY when two try to upgrade a read lock.
const dsnParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"

// Dialect is SQLite's flavour of the shared SQL.
var Dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Blob:     "BLOB",
	Classify: classify,
	// Parsing a statement costs more than running one of our lookups.
	PrepareStatements: true,
	// One writer at a time anyway: this process's take turns in Go (for as
	// long as busy_timeout) rather than in the busy handler's sleeps, and
	// checkpoint outside their turn (wal_autocheckpoint is off in
	// dsnParams). 128 writes are about SQLite's default 1000 WAL pages.
	LocalWriteTurns: busyTimeout,
	CheckpointEvery: 128,
}

// busyTimeout is the busy_timeout of dsnParams.
const busyTimeout = 10 * time.Second

// Open opens (creating if needed) the database file at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (store.Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if strings.Contains(path, "?") {
		// The driver would take what follows as parameters.
		return nil, fmt.Errorf("sqlite: database path %q must not contain '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", path+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Keep every connection open: an SQLite connection lives in this process,
	// costs little idle, and reopening one re-reads the schema — with
	// database/sql's default of 2 idle connections, reopening took ~9% of the
	// CPU of a refresh-token load.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// maxConns bounds the pool: WAL lets readers run side by side, and writers
// queue on the database lock (busy_timeout) whatever the pool size.
const maxConns = 16

func classify(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.ErrAlreadyExists
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return store.ErrNotFound
	}
	switch e.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return store.ErrConflict
	}
	return nil
}
