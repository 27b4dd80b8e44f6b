package storeopen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/store/storeopen"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ url, dataDir, file string }{
		{"", filepath.Join(dir, "data"), filepath.Join(dir, "data", storeopen.DefaultFile)},
		{"sqlite:" + filepath.Join(dir, "a.db"), "", filepath.Join(dir, "a.db")},
		{"sqlite://" + filepath.Join(dir, "b", "b.db"), "ignored", filepath.Join(dir, "b", "b.db")},
	} {
		s, err := storeopen.Open(t.Context(), tc.url, tc.dataDir)
		if err != nil {
			t.Fatalf("Open(%q, %q): %v", tc.url, tc.dataDir, err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if _, err := os.Stat(tc.file); err != nil {
			t.Errorf("Open(%q, %q) did not create %s: %v", tc.url, tc.dataDir, tc.file, err)
		}
	}
}

func TestOpenPostgres(t *testing.T) {
	dsn := storetest.NewPostgresDSN(t)
	s, err := storeopen.Open(t.Context(), dsn, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ url, dataDir, want string }{
		{"", "", "no data directory"},
		{"sqlite:", "", "needs a file path"},
		{"mysql://root:hunter2@db/entrance", "", "unsupported database URL scheme mysql"},
		{"root:hunter2@db/entrance", "", "unsupported database URL scheme (none)"},
	} {
		_, err := storeopen.Open(t.Context(), tc.url, tc.dataDir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %q) = %v, want an error containing %q", tc.url, tc.dataDir, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q shows the password", err)
		}
	}
}
