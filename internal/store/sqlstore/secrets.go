package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Server secrets are opaque bytes (sealed by the caller), not JSON documents,
// so they have a table of their own shape.

func (d *dir) CreateServerSecret(ctx context.Context, name string, sealed []byte) error {
	if name == "" {
		return errors.New("store: server secret: name must not be empty")
	}
	return d.write(ctx, func(w *dir) error {
		now := time.Now().UnixMilli()
		if _, err := w.exec(ctx, "INSERT INTO server_secrets (name, value, created_at, updated_at) VALUES (?, ?, ?, ?)",
			name, nonNil(sealed), now, now); err != nil {
			return fmt.Errorf("create server secret %s: %w", name, err)
		}
		return nil
	})
}

func (d *dir) GetServerSecret(ctx context.Context, name string) ([]byte, error) {
	return d.serverSecret(ctx, name, "")
}

func (d *dir) serverSecret(ctx context.Context, name, lock string) ([]byte, error) {
	var v []byte
	err := d.queryRow(ctx, "SELECT value FROM server_secrets WHERE name = ?"+lock, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("server secret %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, d.s.mapErr(fmt.Errorf("get server secret %s: %w", name, err))
	}
	return v, nil
}

func (d *dir) ListServerSecrets(ctx context.Context) (map[string][]byte, error) {
	rows, err := d.query(ctx, "SELECT name, value FROM server_secrets")
	if err != nil {
		return nil, fmt.Errorf("list server secrets: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var v []byte
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("list server secrets: %w", err)
		}
		out[name] = v
	}
	if err := rows.Err(); err != nil {
		return nil, d.s.mapErr(fmt.Errorf("list server secrets: %w", err))
	}
	return out, nil
}

func (d *dir) UpdateServerSecret(ctx context.Context, name string, fn func([]byte) ([]byte, error)) error {
	return d.write(ctx, func(w *dir) error {
		old, err := w.serverSecret(ctx, name, w.s.d.ForUpdate)
		if err != nil {
			return err
		}
		v, err := fn(old)
		if err != nil {
			return err
		}
		if _, err := w.exec(ctx, "UPDATE server_secrets SET value = ?, updated_at = ? WHERE name = ?",
			nonNil(v), time.Now().UnixMilli(), name); err != nil {
			return fmt.Errorf("update server secret %s: %w", name, err)
		}
		return nil
	})
}

// nonNil stores a nil value as empty bytes: the column is NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
