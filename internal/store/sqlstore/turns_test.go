package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/sqlstore"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func refreshToken() store.RefreshToken {
	now := time.Now().UTC()
	return store.RefreshToken{
		ID: store.HashToken(ids.RandomToken(32)), FamilyID: ids.NewGUID(), TenantID: ids.NewGUID(),
		ClientID: ids.NewGUID(), UserID: ids.NewGUID(), Scope: "offline_access", AuthTime: now,
		FamilyCreatedAt: now, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
	}
}

// TestWriteTurns: on SQLite this process's writers take turns
// (Dialect.LocalWriteTurns): many at once all succeed; a write or a
// transaction waiting for its turn gives up with its context; reads take
// no turn.
func TestWriteTurns(t *testing.T) {
	ctx := t.Context()
	st := storetest.NewSQLite(t)

	var wg sync.WaitGroup
	errs := make(chan error, 32*20)
	for range 32 {
		wg.Go(func() {
			for range 20 {
				errs <- st.CreateRefreshToken(ctx, refreshToken())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	release, err := st.(*sqlstore.Store).TakeWriteTurn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := st.CreateRefreshToken(short, refreshToken()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write while another holds the turn: %v", err)
	}
	if err := st.InTx(short, func(store.Directory) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a transaction while another holds the turn: %v", err)
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Second)
	defer rcancel()
	if _, err := st.ChangeVersion(rctx); err != nil {
		t.Fatalf("a read while a writer holds the turn: %v", err)
	}
	release()
	if err := st.CreateRefreshToken(ctx, refreshToken()); err != nil {
		t.Fatal(err)
	}
}
