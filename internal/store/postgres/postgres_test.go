package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/postgres"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// These tests need ENTRANCE_TEST_POSTGRES (a DSN); they skip without it.

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.NewPostgres(t) })
}

// TestConcurrentOpen starts several servers at once on one empty schema: the
// advisory lock must let exactly one apply the migrations, and all must open.
func TestConcurrentOpen(t *testing.T) {
	dsn := storetest.NewPostgresDSN(t)
	const n = 8
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = postgres.Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	ctx := t.Context()
	if err := stores[0].CreateServerSecret(ctx, "x", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[n-1].GetServerSecret(ctx, "x"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	for _, dsn := range []string{
		"postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", // nothing listens on port 1
		"postgres://user:secret@host:notaport/db",
	} {
		s, err := postgres.Open(ctx, dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
			continue
		}
		t.Logf("Open(%q): %v", dsn, err)
	}
}
