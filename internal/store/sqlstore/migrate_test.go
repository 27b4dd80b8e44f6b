package sqlstore_test

import (
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/postgres"
	"github.com/entranceidp/entrance/internal/store/sqlite"
	"github.com/entranceidp/entrance/internal/store/sqlstore"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// TestMigration2 opens a database at schema version 1 holding applications
// with identifier URIs, one of them shared (allowed then), and migrates it:
// migration 2's Go step must fill the lookup table, the older application
// keeping the shared URI.
func TestMigration2(t *testing.T) {
	backends := []struct {
		name string
		open func(t *testing.T) *sql.DB
		d    sqlstore.Dialect
	}{
		{"sqlite", func(t *testing.T) *sql.DB {
			path := filepath.Join(t.TempDir(), "entrance.db")
			return openDB(t, "sqlite", path+"?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate")
		}, sqlite.Dialect},
		{"postgres", func(t *testing.T) *sql.DB { return openDB(t, "pgx", storetest.NewPostgresDSN(t)) }, postgres.Dialect},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db := b.open(t)
			if _, err := sqlstore.NewAtVersion(ctx, db, b.d, 1); err != nil {
				t.Fatal(err)
			}
			// Written as version 1 stored them: the store's own writes would
			// use the table migration 2 adds.
			exec := func(q string, args ...any) {
				t.Helper()
				if b.d.DollarParams {
					for i := 1; strings.Contains(q, "?"); i++ {
						q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
					}
				}
				if _, err := db.ExecContext(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}
			tn := store.Tenant{ID: ids.NewGUID(), DisplayName: "Contoso", Type: store.TenantTypeAAD}
			exec("INSERT INTO tenants (id, data, created_at, updated_at) VALUES (?, ?, 1, 1)", tn.ID, jsonOf(t, tn))
			older := store.Application{ID: ids.NewGUID(), AppID: ids.NewGUID(), TenantID: tn.ID, DisplayName: "older",
				IdentifierURIs: []string{"api://Older", "api://shared", "API://older"}}
			newer := store.Application{ID: ids.NewGUID(), AppID: ids.NewGUID(), TenantID: tn.ID, DisplayName: "newer",
				IdentifierURIs: []string{"api://shared", "api://newer"}}
			none := store.Application{ID: ids.NewGUID(), AppID: ids.NewGUID(), TenantID: tn.ID, DisplayName: "none"}
			for i, a := range []store.Application{newer, older, none} {
				created := []int{2, 1, 3}[i] // older was created first
				exec("INSERT INTO applications (id, tenant_id, app_id, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
					a.ID, a.TenantID, strings.ToLower(a.AppID), jsonOf(t, a), created, created)
			}

			s, err := sqlstore.New(ctx, db, b.d)
			if err != nil {
				t.Fatal(err)
			}
			for uri, want := range map[string]string{
				"api://older": older.AppID, "api://SHARED": older.AppID, "api://newer": newer.AppID,
			} {
				got, err := s.GetApplicationByIdentifierURI(ctx, uri)
				if err != nil {
					t.Fatalf("%s: %v", uri, err)
				}
				if got.AppID != want {
					t.Errorf("%s belongs to %s (%s), want %s", uri, got.AppID, got.DisplayName, want)
				}
			}
			// The application that lost the shared URI learns of it when next updated.
			_, err = s.UpdateApplication(ctx, newer.AppID, func(a store.Application) (store.Application, error) { return a, nil })
			if !errors.Is(err, store.ErrAlreadyExists) || !strings.Contains(err.Error(), "api://shared") {
				t.Fatalf("update of the newer application: %v, want ErrAlreadyExists naming api://shared", err)
			}
			_, err = s.UpdateApplication(ctx, newer.AppID, func(a store.Application) (store.Application, error) {
				a.IdentifierURIs = []string{"api://newer"}
				return a, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Reopening applies nothing again.
			if _, err := sqlstore.New(ctx, db, b.d); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM application_identifier_uris").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Fatalf("%d identifier URIs stored, want 3", n)
			}
		})
	}
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
