package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/postgres"
	"github.com/entranceidp/entrance/internal/store/sqlite"
)

// PostgresEnv names the variable holding the DSN of the PostgreSQL server
// tests use. Unset, PostgreSQL tests are skipped; set, an unreachable server
// fails them (so CI cannot pass by silently skipping).
const PostgresEnv = "ENTRANCE_TEST_POSTGRES"

// NewSQLite returns a store on a new SQLite file in a temporary directory,
// closed when the test ends.
func NewSQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "entrance.db"))
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// NewPostgres returns a store in a new, empty PostgreSQL schema of its own
// (see NewPostgresDSN), closed when the test ends.
func NewPostgres(t testing.TB) store.Store {
	t.Helper()
	dsn := NewPostgresDSN(t)
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("open postgres store: %v", err)
	}
	// Registered after NewPostgresDSN's cleanup, so it runs before the
	// schema is dropped.
	t.Cleanup(func() { s.Close() })
	return s
}

// NewPostgresDSN creates a uniquely named schema on the server named by
// ENTRANCE_TEST_POSTGRES, drops it when the test ends, and returns a DSN whose
// connections use it (search_path), so that test runs never collide. It skips
// the test when the variable is unset.
func NewPostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skip(PostgresEnv + " is not set; skipping PostgreSQL tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "entrance_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("PostgreSQL at %s=%q is unreachable or refuses to create a schema: %v", PostgresEnv, redacted(dsn), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
		admin.Close()
	})
	return withSearchPath(t, dsn, schema)
}

// withSearchPath sets the search_path run-time parameter, which pgx sends
// when it connects, in a URL or a keyword/value DSN.
func withSearchPath(t testing.TB, dsn, schema string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redacted hides the password of a URL DSN from test logs.
func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(a keyword/value DSN)"
}
