package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func TestCleanupDeletesExpiredInBoundedBatches(t *testing.T) {
	for name, open := range map[string]func(testing.TB) store.Store{
		"sqlite":   storetest.NewSQLite,
		"postgres": storetest.NewPostgres, // skipped unless ENTRANCE_TEST_POSTGRES is set
	} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			now := time.Now()
			for i := range 25 {
				if err := st.RecordOnce(ctx, fmt.Sprintf("expired-%d", i), now.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 3 {
				if err := st.RecordOnce(ctx, fmt.Sprintf("live-%d", i), now.Add(10*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			m := newMetrics()
			c := &cleaner{
				st: st, log: slog.New(slog.DiscardHandler), batch: 10, maxBatches: 2,
				now:     func() time.Time { return now.Add(time.Hour) },
				deleted: m.cleanupDeleted, runs: m.cleanupRuns,
			}
			// The first run stops after two full batches; the next one
			// finishes the backlog.
			for i, want := range []int{20, 5, 0} {
				n, err := c.once(ctx)
				if err != nil || n != want {
					t.Fatalf("run %d deleted %d (%v), want %d", i+1, n, err, want)
				}
			}
			if got := testutil.ToFloat64(m.cleanupDeleted); got != 25 {
				t.Errorf("entrance_cleanup_deleted_total = %v, want 25", got)
			}
			if got := testutil.ToFloat64(m.cleanupRuns.WithLabelValues("ok")); got != 3 {
				t.Errorf("ok runs = %v, want 3", got)
			}
			for i := range 3 {
				if err := st.RecordOnce(ctx, fmt.Sprintf("live-%d", i), now.Add(10*time.Hour)); !errors.Is(err, store.ErrAlreadyExists) {
					t.Errorf("live entry %d was deleted (%v)", i, err)
				}
			}
		})
	}
}

type failingDeleter struct{}

func (failingDeleter) DeleteExpired(context.Context, time.Time, int, time.Duration) (int, error) {
	return 0, errors.New("database unreachable")
}

func TestCleanupCountsFailures(t *testing.T) {
	m := newMetrics()
	c := &cleaner{st: failingDeleter{}, log: slog.New(slog.DiscardHandler), batch: 10, maxBatches: 2, now: time.Now,
		deleted: m.cleanupDeleted, runs: m.cleanupRuns}
	if _, err := c.once(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if got := testutil.ToFloat64(m.cleanupRuns.WithLabelValues("error")); got != 1 {
		t.Errorf("error runs = %v, want 1", got)
	}
}
