// Package storeopen opens the store the configuration names, so that the
// server and the admin commands choose a backend the same way.
package storeopen

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/postgres"
	"github.com/entranceidp/entrance/internal/store/sqlite"
)

// DefaultFile is the SQLite database's file name in the data directory.
const DefaultFile = "entrance.db"

// Open opens the store named by databaseURL (ENTRANCE_DATABASE_URL):
//   - "" → embedded SQLite at dataDir/entrance.db;
//   - "sqlite:PATH" (or "sqlite://PATH") → embedded SQLite at PATH;
//   - "postgres://..." or "postgresql://..." → PostgreSQL.
func Open(ctx context.Context, databaseURL, dataDir string) (store.Store, error) {
	switch {
	case databaseURL == "":
		if dataDir == "" {
			return nil, errors.New("store: no database URL and no data directory for the embedded database")
		}
		return sqlite.Open(ctx, filepath.Join(dataDir, DefaultFile))
	case strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "//")
		if path == "" {
			return nil, errors.New("store: database URL sqlite: needs a file path, as in sqlite:/var/lib/entrance/entrance.db")
		}
		return sqlite.Open(ctx, path)
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return postgres.Open(ctx, databaseURL)
	}
	scheme, rest, found := strings.Cut(databaseURL, ":")
	if !found || !strings.HasPrefix(rest, "//") || strings.ContainsAny(scheme, "/@ ") {
		scheme = "(none)"
	}
	// Not the URL itself: it may hold a password.
	return nil, fmt.Errorf("store: unsupported database URL scheme %s: use postgres://user:password@host/db or sqlite:/path/to/entrance.db, or leave it empty for SQLite in the data directory", scheme)
}
