package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// kind describes the table of one object type. Every such table has the
// columns cols (cols[0] is "id", the primary key), then data (the object as
// JSON), created_at and updated_at (Unix milliseconds).
type kind[T any] struct {
	table string
	name  string // in error messages: "user"
	order string // ORDER BY of lists
	cols  []string
	keys  func(T) []any // the values of cols, computed from the object
	// fixed is how many leading cols identify the object: they must be
	// non-empty, and Update may not change them.
	fixed int

	insertSQL, updateSQL string
}

func newKind[T any](table, name, order string, fixed int, cols []string, keys func(T) []any) *kind[T] {
	k := &kind[T]{table: table, name: name, order: order, cols: cols, keys: keys, fixed: fixed}
	k.insertSQL = "INSERT INTO " + table + " (" + strings.Join(cols, ", ") +
		", data, created_at, updated_at) VALUES (" + strings.Repeat("?, ", len(cols)) + "?, ?, ?)"
	set := ""
	for _, c := range cols[1:] {
		set += c + " = ?, "
	}
	k.updateSQL = "UPDATE " + table + " SET " + set + "data = ?, updated_at = ? WHERE id = ?"
	return k
}

// check rejects an object whose identifying keys are empty.
func (k *kind[T]) check(keys []any) error {
	for i, v := range keys[:k.fixed] {
		if v == "" {
			return fmt.Errorf("store: %s: %s must not be empty", k.name, k.cols[i])
		}
	}
	return nil
}

func (k *kind[T]) decode(data string) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return v, fmt.Errorf("store: decode %s: %w", k.name, err)
	}
	utcTimes(reflect.ValueOf(&v).Elem())
	return v, nil
}

// insert stores v as a new object.
func insert[T any](ctx context.Context, d *dir, k *kind[T], v T) error {
	keys := k.keys(v)
	if err := k.check(keys); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", k.name, err)
	}
	now := time.Now().UnixMilli()
	if _, err := d.exec(ctx, k.insertSQL, append(keys, string(data), now, now)...); err != nil {
		return fmt.Errorf("create %s %v: %w", k.name, keys[0], err)
	}
	return nil
}

// get returns the one object that matches where.
func get[T any](ctx context.Context, d *dir, k *kind[T], where string, args ...any) (T, error) {
	var data string
	err := d.queryRow(ctx, "SELECT data FROM "+k.table+" WHERE "+where, args...).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		var zero T
		return zero, fmt.Errorf("%s %s: %w", k.name, describe(args), store.ErrNotFound)
	}
	if err != nil {
		var zero T
		return zero, d.s.mapErr(fmt.Errorf("get %s %s: %w", k.name, describe(args), err))
	}
	return k.decode(data)
}

// list returns the objects that match where ("" for all), in k.order; never nil.
func list[T any](ctx context.Context, d *dir, k *kind[T], where string, args ...any) ([]T, error) {
	q := "SELECT data FROM " + k.table
	if where != "" {
		q += " WHERE " + where
	}
	return listQuery(ctx, d, k, q+" ORDER BY "+k.order, args...)
}

// listQuery returns the objects whose data query selects; never nil.
func listQuery[T any](ctx context.Context, d *dir, k *kind[T], query string, args ...any) ([]T, error) {
	rows, err := d.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", k.name, err)
	}
	defer rows.Close()
	out := []T{} // not nil: encodes as [] in JSON output
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("list %s: %w", k.name, err)
		}
		v, err := k.decode(data)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, d.s.mapErr(fmt.Errorf("list %s: %w", k.name, err))
	}
	return out, nil
}

// update is the atomic read-modify-write: it locks the row that matches where,
// calls fn with it and stores what fn returns. An error from fn is returned as
// it is, and nothing is written.
func update[T any](ctx context.Context, d *dir, k *kind[T], fn func(T) (T, error), where string, args ...any) (T, error) {
	var zero T
	old, err := get(ctx, d, k, where+d.s.d.ForUpdate, args...)
	if err != nil {
		return zero, err
	}
	v, err := fn(old)
	if err != nil {
		return zero, err
	}
	oldKeys, keys := k.keys(old), k.keys(v)
	for i := range k.fixed {
		if keys[i] != oldKeys[i] {
			return zero, fmt.Errorf("update %s %s: %s may not change (%v to %v)", k.name, describe(args), k.cols[i], oldKeys[i], keys[i])
		}
	}
	return replace(ctx, d, k, v)
}

// replace overwrites the stored object that has v's id with v and returns it
// as stored (as a later get would).
func replace[T any](ctx context.Context, d *dir, k *kind[T], v T) (T, error) {
	var zero T
	keys := k.keys(v)
	data, err := json.Marshal(v)
	if err != nil {
		return zero, fmt.Errorf("store: encode %s: %w", k.name, err)
	}
	args := append(keys[1:], string(data), time.Now().UnixMilli(), keys[0])
	if _, err := d.exec(ctx, k.updateSQL, args...); err != nil {
		return zero, fmt.Errorf("update %s %v: %w", k.name, keys[0], err)
	}
	return k.decode(string(data))
}

// del deletes the rows of table that match where; none is ErrNotFound.
func del(ctx context.Context, d *dir, table, name, where string, args ...any) error {
	n, err := deleteAll(ctx, d, table, where, args...)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", name, describe(args), err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", name, describe(args), store.ErrNotFound)
	}
	return nil
}

// deleteAll deletes the rows of table that match where, however many.
func deleteAll(ctx context.Context, d *dir, table, where string, args ...any) (int64, error) {
	res, err := d.exec(ctx, "DELETE FROM "+table+" WHERE "+where, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// describe renders lookup arguments for error messages: "tenant/id".
func describe(args []any) string {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = fmt.Sprint(a)
	}
	return strings.Join(s, "/")
}

var timeType = reflect.TypeFor[time.Time]()

// utcTimes sets every time.Time in v to UTC. JSON keeps the instant to the
// nanosecond but not the *time.Location, so the store returns every time in
// UTC: then what comes back compares equal (==, reflect.DeepEqual) to what
// was stored whenever UTC times were stored.
func utcTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
			return
		}
		for i := range v.NumField() {
			utcTimes(v.Field(i))
		}
	case reflect.Slice:
		switch v.Type().Elem().Kind() {
		case reflect.Struct, reflect.Slice, reflect.Pointer:
			for i := range v.Len() {
				utcTimes(v.Index(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			utcTimes(v.Elem())
		}
	}
}
