package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/sqlite"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.NewSQLite(t) })
}

// TestConcurrentOpen opens one new file from several goroutines at once, as
// servers and admin commands starting together do: all must succeed, the
// migrations applied once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "entrance.db")
	const n = 8
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(context.Background(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	// They share one database.
	ctx := t.Context()
	if err := stores[0].CreateServerSecret(ctx, "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[n-1].GetServerSecret(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	// Reopening finds the schema up to date.
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestOpenErrors(t *testing.T) {
	for _, path := range []string{"", "a?b"} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

// TestNewerSchema: a binary older than its database refuses to run on it
// rather than misread it.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entrance.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("error %q does not say the schema is newer", err)
	}
}

// TestReopen: data survives closing and reopening the file.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entrance.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateServerSecret(t.Context(), "pepper", []byte("p")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetServerSecret(t.Context(), "pepper"); err != nil || string(v) != "p" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
}
