// Package postgres is the production backend: store.Store on PostgreSQL,
// through pgx v5's database/sql driver.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/sqlstore"
)

// Dialect is PostgreSQL's flavour of the shared SQL.
var Dialect = sqlstore.Dialect{
	Name:         "postgres",
	DollarParams: true,
	Blob:         "BYTEA",
	ForUpdate:    " FOR UPDATE",
	// A transaction-level advisory lock, released at commit. Keyed by the
	// schema, so that databases in different schemas (tests) do not wait on
	// each other.
	MigrationLock: "SELECT pg_advisory_xact_lock(hashtext('entrance.migrate.' || current_schema()))",
	Classify:      classify,
}

// Pool limits: a replica needs few connections (writes are serialised by the
// change counter anyway); idle ones are let go so that many replicas do not
// exhaust the server's max_connections.
const (
	maxOpenConns    = 16
	maxIdleConns    = 4
	connMaxIdleTime = 5 * time.Minute
	connMaxLifetime = time.Hour
	connectTimeout  = 10 * time.Second
)

// Open connects to the database named by dsn (a postgres:// URL or a
// keyword/value string) and brings its schema up to date.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN and hides the password only on a best
		// effort basis, so say what is expected instead.
		return nil, errors.New("postgres: invalid database URL: expected postgres://user:password@host:port/database?sslmode=...")
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > connectTimeout {
		cfg.ConnectTimeout = connectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	db.SetConnMaxLifetime(connMaxLifetime)

	pingCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d: %w", cfg.Host, cfg.Port, err)
	}
	s, err := sqlstore.New(ctx, db, Dialect)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func classify(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code {
	case "23505": // unique_violation
		return store.ErrAlreadyExists
	case "23503": // foreign_key_violation: the tenant is missing
		return store.ErrNotFound
	case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
		return store.ErrConflict
	}
	return nil
}
