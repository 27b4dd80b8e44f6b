package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Sign-in flow state (store.Flows). Unlike directory writes, flow writes do
// not bump the change counter: on PostgreSQL they lock nothing but their own
// rows, so sign-ins never queue behind directory writes (nor behind each
// other, except on one record). A single write runs as one statement; a
// read-modify-write (Update*) runs in a transaction of its own that locks the
// row (SELECT ... FOR UPDATE; on SQLite BEGIN IMMEDIATE takes the write lock).
// The tables are in migrations/0002_flows.sql; expiry times are indexed
// columns so that DeleteExpired finds expired rows without reading documents.

var _ store.Flows = (*Store)(nil)

var sessions = newKind("sessions", "session", "id", 2,
	[]string{"id", "tenant_id", "expires_at"},
	func(s store.Session) []any { return []any{s.ID, s.TenantID, s.ExpiresAt.UnixMilli()} })

var authorizationCodes = newKind("authorization_codes", "authorization code", "id", 3,
	[]string{"id", "tenant_id", "user_id", "expires_at"},
	func(c store.AuthorizationCode) []any {
		return []any{c.ID, c.TenantID, c.UserID, c.ExpiresAt.UnixMilli()}
	})

var refreshTokens = newKind("refresh_tokens", "refresh token", "id", 4,
	[]string{"id", "tenant_id", "family_id", "user_id", "revoked", "expires_at"},
	func(t store.RefreshToken) []any {
		revoked := 0
		if t.Revoked {
			revoked = 1
		}
		return []any{t.ID, t.TenantID, t.FamilyID, t.UserID, revoked, t.ExpiresAt.UnixMilli()}
	})

// The sign-in log is ordered by createdDateTime in microseconds, so that
// entries written within one millisecond still come out newest first.
var signIns = newKind("sign_ins", "sign-in", "at DESC, id DESC", 1,
	[]string{"id", "tenant_id", "user_id", "app_id", "at"},
	func(s store.SignIn) []any {
		return []any{s.ID, s.TenantID, s.UserID, lower(s.AppID), s.CreatedDateTime.UnixMicro()}
	})

// defaultSignInLimit caps ListSignIns when the filter names no limit.
const defaultSignInLimit = 1000

// needTime refuses a record without the time it is cleaned up or ordered by.
func needTime(what, field string, t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("store: %s: %s must be set", what, field)
	}
	return nil
}

// updateRow is update in a transaction of its own that does not bump the
// change counter.
func updateRow[T any](ctx context.Context, s *Store, k *kind[T], id string, fn func(T) (T, error)) (T, error) {
	var v T
	err := s.inTx(ctx, func(d *dir) error {
		var err error
		v, err = update(ctx, d, k, fn, "id = ?", id)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// Sessions.

func (s *Store) CreateSession(ctx context.Context, v store.Session) error {
	if err := needTime("session", "expiresAt", v.ExpiresAt); err != nil {
		return err
	}
	return insert(ctx, s.dir, sessions, v)
}

func (s *Store) GetSession(ctx context.Context, id string) (store.Session, error) {
	return get(ctx, s.dir, sessions, "id = ?", id)
}

func (s *Store) UpdateSession(ctx context.Context, id string, fn func(store.Session) (store.Session, error)) (store.Session, error) {
	return updateRow(ctx, s, sessions, id, fn)
}

func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return del(ctx, s.dir, "sessions", "session", "id = ?", id)
}

// Authorization codes.

func (s *Store) CreateAuthorizationCode(ctx context.Context, c store.AuthorizationCode) error {
	if err := needTime("authorization code", "expiresAt", c.ExpiresAt); err != nil {
		return err
	}
	return insert(ctx, s.dir, authorizationCodes, c)
}

func (s *Store) GetAuthorizationCode(ctx context.Context, id string) (store.AuthorizationCode, error) {
	return get(ctx, s.dir, authorizationCodes, "id = ?", id)
}

func (s *Store) UpdateAuthorizationCode(ctx context.Context, id string, fn func(store.AuthorizationCode) (store.AuthorizationCode, error)) (store.AuthorizationCode, error) {
	return updateRow(ctx, s, authorizationCodes, id, fn)
}

// Refresh tokens.

func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := needTime("refresh token", "expiresAt", t.ExpiresAt); err != nil {
		return err
	}
	return insert(ctx, s.dir, refreshTokens, t)
}

func (s *Store) GetRefreshToken(ctx context.Context, id string) (store.RefreshToken, error) {
	return get(ctx, s.dir, refreshTokens, "id = ?", id)
}

func (s *Store) UpdateRefreshToken(ctx context.Context, id string, fn func(store.RefreshToken) (store.RefreshToken, error)) (store.RefreshToken, error) {
	return updateRow(ctx, s, refreshTokens, id, fn)
}

// RevokeRefreshTokenFamily revokes the family in one statement, document and
// column together. The document is edited with replace(), which both
// databases have (their JSON functions differ): json.Marshal writes the field
// as exactly "revoked":false, and that text cannot occur anywhere else in a
// refresh token's document (a quote inside a string value is escaped).
func (s *Store) RevokeRefreshTokenFamily(ctx context.Context, familyID string) (int, error) {
	if familyID == "" {
		return 0, errors.New("store: revoke refresh token family: familyId must not be empty")
	}
	res, err := s.dir.exec(ctx, `UPDATE refresh_tokens
		SET revoked = 1, data = replace(data, '"revoked":false', '"revoked":true'), updated_at = ?
		WHERE family_id = ? AND revoked = 0`, time.Now().UnixMilli(), familyID)
	if err != nil {
		return 0, fmt.Errorf("revoke refresh token family %s: %w", familyID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// The sign-in log.

func (s *Store) CreateSignIn(ctx context.Context, v store.SignIn) error {
	if err := needTime("sign-in", "createdDateTime", v.CreatedDateTime); err != nil {
		return err
	}
	return insert(ctx, s.dir, signIns, v)
}

func (s *Store) ListSignIns(ctx context.Context, f store.SignInFilter) ([]store.SignIn, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = defaultSignInLimit
	case limit < 0:
		return nil, fmt.Errorf("store: list sign-ins: limit %d must not be negative", limit)
	}
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if f.TenantID != "" {
		add("tenant_id = ?", f.TenantID)
	}
	if f.UserID != "" {
		add("user_id = ?", f.UserID)
	}
	if f.AppID != "" {
		add("app_id = ?", lower(f.AppID))
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixMicro())
	}
	q := "SELECT data FROM sign_ins"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return listQuery(ctx, s.dir, signIns, q+" ORDER BY "+signIns.order+" LIMIT ?", append(args, limit)...)
}

// Counters.

// HitCounter is one upsert, atomic on both databases: the first hit inserts
// the counter; later ones add one, or start a new window at 1 when the
// stored one began at least window ago. In the UPDATE every CASE reads the
// row as it was before it.
func (s *Store) HitCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	if err := checkCounter(key, window); err != nil {
		return 0, err
	}
	start, w := now.UnixMilli(), window.Milliseconds()
	cutoff := start - w
	var hits int64
	release, err := s.writeTurn(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	err = s.dir.queryRow(ctx, `INSERT INTO counters (name, hits, window_start, expires_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (name) DO UPDATE SET
			hits = CASE WHEN counters.window_start <= ? THEN 1 ELSE counters.hits + 1 END,
			window_start = CASE WHEN counters.window_start <= ? THEN excluded.window_start ELSE counters.window_start END,
			expires_at = CASE WHEN counters.window_start <= ? THEN excluded.expires_at ELSE counters.window_start + ? END
		RETURNING hits`,
		key, start, start+w, cutoff, cutoff, cutoff, w).Scan(&hits)
	if err != nil {
		return 0, s.mapErr(fmt.Errorf("hit counter %s: %w", key, err))
	}
	return int(hits), nil
}

func (s *Store) PeekCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int, error) {
	if err := checkCounter(key, window); err != nil {
		return 0, err
	}
	var hits int64
	err := s.dir.queryRow(ctx, "SELECT hits FROM counters WHERE name = ? AND window_start > ?",
		key, now.UnixMilli()-window.Milliseconds()).Scan(&hits)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.mapErr(fmt.Errorf("peek counter %s: %w", key, err))
	}
	return int(hits), nil
}

// ResetCounter deletes the counter; resetting one that does not exist is
// not an error (there is nothing to reset).
func (s *Store) ResetCounter(ctx context.Context, key string) error {
	if _, err := deleteAll(ctx, s.dir, "counters", "name = ?", key); err != nil {
		return fmt.Errorf("reset counter %s: %w", key, err)
	}
	return nil
}

func checkCounter(key string, window time.Duration) error {
	if key == "" {
		return errors.New("store: counter: key must not be empty")
	}
	if window < time.Millisecond {
		return fmt.Errorf("store: counter %s: window %v must be at least 1ms", key, window)
	}
	return nil
}

// The replay cache.

// RecordOnce is one upsert: a new key is inserted; an expired entry is
// taken over (the WHERE of DO UPDATE); a live one is left alone, which shows
// as no row changed.
func (s *Store) RecordOnce(ctx context.Context, key string, expiresAt time.Time) error {
	if key == "" {
		return errors.New("store: replay cache: key must not be empty")
	}
	if err := needTime("replay cache entry", "expiresAt", expiresAt); err != nil {
		return err
	}
	res, err := s.dir.exec(ctx, `INSERT INTO replay_cache (name, expires_at) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at WHERE replay_cache.expires_at <= ?`,
		key, expiresAt.UnixMilli(), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("record %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("replay cache %s: %w", key, store.ErrAlreadyExists)
	}
	return nil
}

// Cleanup.

// DeleteExpired deletes in batches of at most limit rows per table, each
// batch one short statement (an indexed range of the expiry column), so that
// cleaning up never holds many locks for long.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, limit int, retention time.Duration) (int, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("store: delete expired: limit %d must be positive", limit)
	}
	type sweep struct {
		table, key, column string
		before             int64
	}
	sweeps := []sweep{
		{"sessions", "id", "expires_at", now.UnixMilli()},
		{"authorization_codes", "id", "expires_at", now.UnixMilli()},
		{"device_codes", "id", "expires_at", now.UnixMilli()},
		{"refresh_tokens", "id", "expires_at", now.UnixMilli()},
		{"counters", "name", "expires_at", now.UnixMilli()},
		{"replay_cache", "name", "expires_at", now.UnixMilli()},
	}
	if retention > 0 {
		sweeps = append(sweeps, sweep{"sign_ins", "id", "at", now.Add(-retention).UnixMicro()})
	}
	total := 0
	for _, sw := range sweeps {
		n, err := deleteAll(ctx, s.dir, sw.table,
			sw.key+" IN (SELECT "+sw.key+" FROM "+sw.table+" WHERE "+sw.column+" < ? LIMIT ?)", sw.before, limit)
		if err != nil {
			return total, fmt.Errorf("delete expired %s: %w", sw.table, err)
		}
		total += int(n)
	}
	return total, nil
}
