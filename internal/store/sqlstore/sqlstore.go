// Package sqlstore implements store.Store over database/sql, once, for both SQL
// backends. What differs between SQLite and PostgreSQL is a small Dialect; the
// backend packages (store/sqlite, store/postgres) open the database and supply it.
//
// Every object is a JSON document in a table of its kind, next to the columns
// it is found and cleaned up by. Each directory write runs in a transaction
// that first bumps the one-row change counter. On PostgreSQL that row lock
// also orders concurrent directory writers: each takes it before any other
// lock, so two can never wait on each other's rows (no deadlocks). Sign-in
// flow writes skip the counter (see flows.go); each locks one row at most and
// then waits for nothing else, so they cannot close a cycle either. SQLite
// serialises writers anyway (BEGIN IMMEDIATE).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Dialect is what the SQL of one database needs to differ in.
type Dialect struct {
	// Name names the backend in errors: "sqlite", "postgres".
	Name string
	// DollarParams rewrites the "?" placeholders our queries are written with
	// into PostgreSQL's $1, $2, ...
	DollarParams bool
	// Blob is the column type for raw bytes: BLOB or BYTEA.
	Blob string
	// ForUpdate is appended to the SELECT of a read-modify-write to lock the
	// row: " FOR UPDATE" on PostgreSQL; empty on SQLite, whose write
	// transactions start with BEGIN IMMEDIATE and so hold the write lock.
	ForUpdate string
	// MigrationLock runs first in the migration transaction so that servers
	// starting together apply migrations one at a time (PostgreSQL:
	// pg_advisory_xact_lock). Empty on SQLite: BEGIN IMMEDIATE does it.
	MigrationLock string
	// PrepareStatements keeps every query prepared, once per connection
	// (see stmtCache). On SQLite parsing a statement costs more than running
	// one of our lookups; pgx caches prepared statements itself.
	PrepareStatements bool
	// LocalWriteTurns, when set, makes this process's writers take turns
	// before they reach the database, each waiting at most that long (then
	// ErrConflict, like a busy timeout). SQLite lets one writer in at a
	// time; one that finds the lock taken sleeps 1, 2, 5... ms in its busy
	// handler, even when the lock is free again a few µs later. Under a
	// refresh-token load ~10% of the requests in flight were asleep there
	// while the cores idled. A turn taken in Go is handed over at once;
	// other processes on the file still meet SQLite's busy timeout.
	LocalWriteTurns time.Duration
	// CheckpointEvery runs a passive WAL checkpoint after every that many
	// writes of this process, outside the write turn; 0: none (SQLite's
	// own wal_autocheckpoint, or no WAL). SQLite's automatic checkpoint
	// runs inside the committing write, so it would hold the turn (and
	// every other writer) through its page copies and fsyncs.
	CheckpointEvery int
	// Classify maps a driver error to store.ErrAlreadyExists (unique
	// violation), store.ErrNotFound (foreign key violation: the tenant does not
	// exist) or store.ErrConflict (busy, deadlock, serialization failure); nil
	// for any other error.
	Classify func(error) error
}

// Store is store.Store over one *sql.DB.
type Store struct {
	*dir  // the Directory methods, each in a transaction of its own
	db    *sql.DB
	d     Dialect
	stmts stmtCache
	turn  chan struct{} // the write turn (Dialect.LocalWriteTurns); nil: none

	writes        atomic.Int64   // writes of this process, for CheckpointEvery
	checkpointing atomic.Bool    // a checkpoint is running
	checkpoint    sync.WaitGroup // the running checkpoint, waited for by Close
	closeMu       sync.Mutex     // orders checkpoint starts before Close's wait
	closing       chan struct{}  // closed by Close: a running checkpoint stops
	closed        bool
}

var _ store.Store = (*Store)(nil)

// New applies the migrations to db and returns the store over it. The store
// owns db: Close closes it.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s := &Store{db: db, d: d, closing: make(chan struct{})}
	if d.LocalWriteTurns > 0 {
		s.turn = make(chan struct{}, 1)
	}
	s.dir = &dir{s: s, q: db}
	if err := s.migrate(ctx, math.MaxInt); err != nil {
		return nil, fmt.Errorf("%s: migrate: %w", d.Name, err)
	}
	return s, nil
}

// InTx runs fn in one transaction. A failed Directory call inside it changes
// nothing (it runs under a savepoint) and leaves the transaction usable, on
// PostgreSQL as on SQLite; fn decides whether to go on. The Directory passed
// to fn is not safe for concurrent use and must not outlive fn. Inside fn,
// use only tx: a write through the Store itself would wait for this very
// transaction (on SQLite until the busy timeout, then fail with ErrConflict).
func (s *Store) InTx(ctx context.Context, fn func(tx store.Directory) error) error {
	return s.inTx(ctx, func(d *dir) error { return fn(d) })
}

func (s *Store) inTx(ctx context.Context, fn func(*dir) error) error {
	// Every transaction writes (SQLite's begin immediately, see the
	// sqlite package): it takes the write turn first, and keeps it to the
	// end.
	release, err := s.writeTurn(ctx)
	if err != nil {
		return err
	}
	defer release()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(fmt.Errorf("begin: %w", err))
	}
	// Undoes everything if fn fails or panics; a no-op after Commit. The
	// error that made us roll back is the one to report.
	defer tx.Rollback()
	if err := fn(&dir{s: s, q: tx, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// writeTurn waits for this process's turn to write (LocalWriteTurns) and
// returns what gives it back; with no turns, at once. Giving it back also
// counts the write for CheckpointEvery.
func (s *Store) writeTurn(ctx context.Context) (release func(), err error) {
	if s.turn == nil {
		return s.wrote, nil
	}
	release = func() {
		<-s.turn
		s.wrote()
	}
	select {
	case s.turn <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(s.d.LocalWriteTurns)
	defer t.Stop()
	select {
	case s.turn <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a write turn: %w", ctx.Err())
	case <-t.C:
		return nil, fmt.Errorf("%w: waited %v for this process's other writers", store.ErrConflict, s.d.LocalWriteTurns)
	}
}

// wrote counts a write and, every CheckpointEvery writes, checkpoints the
// WAL in the background (one at a time). A passive checkpoint copies the
// WAL's pages into the database file without blocking readers or writers;
// the WAL starts over from its beginning only when a writer finds it all
// copied, which under steady writes a checkpoint running beside them
// never achieves. So a second pass copies what they appended meanwhile,
// holding the write turn (a few pages and the fsyncs: about a
// millisecond); the next writer then starts the WAL over. A checkpoint
// that fails (the store closing, another process's lock) is harmless:
// the next one catches up.
func (s *Store) wrote() {
	if s.d.CheckpointEvery <= 0 || s.writes.Add(1)%int64(s.d.CheckpointEvery) != 0 {
		return
	}
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed || !s.checkpointing.CompareAndSwap(false, true) {
		return
	}
	s.checkpoint.Add(1)
	go func() {
		defer s.checkpoint.Done()
		defer s.checkpointing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		go func() { // Close stops it
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			return
		}
		if s.turn != nil {
			select {
			case s.turn <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-s.turn }()
		}
		_, _ = s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	}()
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if !s.closed && s.closing != nil {
		close(s.closing)
	}
	s.closed = true
	s.closeMu.Unlock()
	s.checkpoint.Wait()
	s.stmts.close()
	return s.db.Close()
}

// mapErr wraps a driver error with the store error it stands for, so that
// callers can test it with errors.Is and still read the database's message.
func (s *Store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if kind := s.d.Classify(err); kind != nil {
		return fmt.Errorf("%w: %w", kind, err)
	}
	return err
}

// rebind rewrites "?" placeholders for the dialect. Our queries never hold a
// literal question mark.
func (s *Store) rebind(query string) string {
	if !s.d.DollarParams || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dir implements store.Directory, either on the database (each write in a
// transaction of its own) or inside one transaction (InTx).
type dir struct {
	s      *Store
	q      querier
	tx     *sql.Tx // nil outside a transaction
	bumped bool    // the change counter was bumped in this transaction
}

func (d *dir) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if d.tx == nil {
		release, err := d.s.writeTurn(ctx)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	query = d.s.rebind(query)
	if st := d.prepared(ctx, query); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, d.s.mapErr(err)
	}
	res, err := d.q.ExecContext(ctx, query, args...)
	return res, d.s.mapErr(err)
}

func (d *dir) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = d.s.rebind(query)
	if st := d.prepared(ctx, query); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, d.s.mapErr(err)
	}
	rows, err := d.q.QueryContext(ctx, query, args...)
	return rows, d.s.mapErr(err)
}

func (d *dir) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = d.s.rebind(query)
	if st := d.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.q.QueryRowContext(ctx, query, args...)
}

// prepared returns query's cached prepared statement, bound to the
// transaction when d runs in one; nil when the dialect does not prepare or
// the query is not one to keep (the caller then runs it unprepared).
func (d *dir) prepared(ctx context.Context, query string) *sql.Stmt {
	if !d.s.d.PrepareStatements {
		return nil
	}
	st := d.s.stmts.get(ctx, d.s.db, query, d.tx != nil)
	if st == nil || d.tx == nil {
		return st
	}
	// Reuses the statement when it is already prepared on the
	// transaction's connection (it is kept there for later ones).
	return d.tx.StmtContext(ctx, st)
}

// write runs fn as one write: in a transaction of its own, or inside the
// current one under a savepoint so that a failure changes nothing. Either way
// the change counter is bumped first (see the package comment for why first).
func (d *dir) write(ctx context.Context, fn func(w *dir) error) error {
	if d.tx == nil {
		return d.s.inTx(ctx, func(w *dir) error {
			if err := w.bump(ctx); err != nil {
				return err
			}
			return fn(w)
		})
	}
	if _, err := d.exec(ctx, "SAVEPOINT entrance_op"); err != nil {
		return err
	}
	bumped := d.bumped
	err := d.bump(ctx)
	if err == nil {
		err = fn(d)
	}
	if err != nil {
		d.bumped = bumped // rolling back to the savepoint undoes the bump too
		if _, rbErr := d.exec(ctx, "ROLLBACK TO SAVEPOINT entrance_op"); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		return err
	}
	_, err = d.exec(ctx, "RELEASE SAVEPOINT entrance_op")
	return err
}

// writeV is write for methods that return the value they stored.
func writeV[T any](ctx context.Context, d *dir, fn func(w *dir) (T, error)) (T, error) {
	var v T
	err := d.write(ctx, func(w *dir) error {
		var err error
		v, err = fn(w)
		return err
	})
	return v, err
}

// bump increments the change counter once per transaction.
func (d *dir) bump(ctx context.Context) error {
	if d.bumped {
		return nil
	}
	if _, err := d.exec(ctx, "UPDATE change_version SET version = version + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("bump change version: %w", err)
	}
	d.bumped = true
	return nil
}

// ChangeVersion returns the change counter.
func (d *dir) ChangeVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := d.queryRow(ctx, "SELECT version FROM change_version WHERE id = 1").Scan(&v); err != nil {
		return 0, d.s.mapErr(fmt.Errorf("change version: %w", err))
	}
	return v, nil
}
