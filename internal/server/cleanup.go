package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Background cleanup of expired flow records (codes, sessions, device codes,
// refresh tokens, counters, replay-cache entries) and of sign-in log entries
// past their retention. Every replica runs it; two deleting at once only
// find fewer rows.
const (
	defaultCleanupInterval    = time.Minute
	defaultSignInLogRetention = 30 * 24 * time.Hour
	// Each statement deletes at most cleanupBatch rows of one kind, so it
	// holds few locks for a short time; a run stops after cleanupMaxBatches
	// (a backlog drains over several runs instead of in one long burst).
	cleanupBatch      = 500
	cleanupMaxBatches = 20
	cleanupTimeout    = 30 * time.Second // one batch
)

// expiredDeleter is the part of the store cleanup uses.
type expiredDeleter interface {
	DeleteExpired(ctx context.Context, now time.Time, limit int, retention time.Duration) (int, error)
}

type cleaner struct {
	st         expiredDeleter
	log        *slog.Logger
	retention  time.Duration
	batch      int
	maxBatches int
	now        func() time.Time
	deleted    prometheus.Counter
	runs       *prometheus.CounterVec // by result: ok, error
}

// run cleans up every interval until ctx ends.
func (c *cleaner) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = c.once(ctx)
		}
	}
}

// once deletes batch after batch until one comes back short of a full
// batch (nothing more to delete) or maxBatches ran, and returns how many
// rows it deleted.
func (c *cleaner) once(ctx context.Context) (int, error) {
	total := 0
	for range c.maxBatches {
		bctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
		n, err := c.st.DeleteExpired(bctx, c.now(), c.batch, c.retention)
		cancel()
		total += n
		c.deleted.Add(float64(n))
		if err != nil {
			c.runs.WithLabelValues("error").Inc()
			if ctx.Err() == nil {
				c.log.Warn("cleanup of expired records failed", "deleted", total, "err", err)
			}
			return total, err
		}
		// DeleteExpired's limit is per kind: fewer rows than one full
		// batch means no kind filled its batch.
		if n < c.batch {
			break
		}
	}
	c.runs.WithLabelValues("ok").Inc()
	if total > 0 {
		c.log.Debug("deleted expired records", "deleted", total)
	}
	return total, nil
}
