package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migrations are numbered files, NNNN_name.sql, applied in order, each once.
// A file may use {{BLOB}} for the dialect's byte-string column type. What SQL
// cannot do alike on both databases (reading JSON documents) is done by a
// step in Go after the file, in the same transaction: see afterMigration.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(d Dialect) ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, name, strings.ReplaceAll(string(b), "{{BLOB}}", d.Blob)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out, nil
}

// migrate applies the missing migrations in one transaction, under a lock so
// that servers starting at once on one database take turns: the first applies
// them, the others then find them applied.
// It stops after version upTo (tests use that to build old databases).
func (s *Store) migrate(ctx context.Context, upTo int) error {
	ms, err := loadMigrations(s.d)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(d *dir) error {
		if s.d.MigrationLock != "" {
			if _, err := d.exec(ctx, s.d.MigrationLock); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := d.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := d.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return err
		}
		if last := ms[len(ms)-1].version; current > last {
			return fmt.Errorf("the database has schema version %d, newer than this program's %d: upgrade Entrance", current, last)
		}
		for _, m := range ms {
			if m.version <= current || m.version > upTo {
				continue
			}
			if _, err := d.exec(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if step := afterMigration(m.version); step != nil {
				if err := step(ctx, d); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
			}
			if _, err := d.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		return nil
	})
}

// afterMigration returns the Go step that completes a migration, or nil.
func afterMigration(version int) func(context.Context, *dir) error {
	switch version {
	case 2:
		return backfillIdentifierURIs
	}
	return nil
}

// backfillIdentifierURIs fills application_identifier_uris from the
// applications stored before version 2. Identifier URIs were not unique then:
// if two applications share one, the older application keeps it, and the
// other's next update fails with ErrAlreadyExists, naming the URI. (Refusing
// to migrate instead would leave no way to fix the directory: every command
// opens the store first.)
func backfillIdentifierURIs(ctx context.Context, d *dir) error {
	apps, err := listQuery(ctx, d, applications, "SELECT data FROM applications ORDER BY created_at, id")
	if err != nil {
		return err
	}
	for _, a := range apps {
		if err := d.setIdentifierURIs(ctx, a, true); err != nil {
			return err
		}
	}
	return nil
}
