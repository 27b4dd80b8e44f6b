package sqlite_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/sqlite"
)

// TestCheckpoints: with SQLite's automatic checkpoint off, the store's own
// (Dialect.CheckpointEvery) keep the WAL from growing with every write,
// whether writes come one after another or four at a time.
func TestCheckpoints(t *testing.T) {
	for _, writers := range []int{1, 4} {
		ctx := t.Context()
		path := filepath.Join(t.TempDir(), "entrance.db")
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		const writes = 4000 // several pages each: ~80 MB of WAL unchecked
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for range writes / writers {
					now := time.Now().UTC()
					if err := st.CreateRefreshToken(ctx, store.RefreshToken{
						ID: store.HashToken(ids.RandomToken(32)), FamilyID: ids.NewGUID(), TenantID: ids.NewGUID(),
						ClientID: ids.NewGUID(), UserID: ids.NewGUID(), AuthTime: now,
						FamilyCreatedAt: now, IssuedAt: now, ExpiresAt: now.Add(time.Hour),
					}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		// Checkpoints run beside the writers: on a loaded machine they fall
		// behind for a while, so the bound leaves room for that and still
		// fails when they never run.
		if fi.Size() > 32<<20 {
			t.Errorf("%d writers: the WAL is %d MB after %d writes: not checkpointed", writers, fi.Size()>>20, writes)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
