// Package loadgen drives a running Entrance server with concurrent requests and
// reports throughput and latency percentiles. It also measures, in the same
// process, the crypto ceilings a token or sign-in path cannot beat on this
// machine (RS256 signatures/s, argon2id hashes/s), so results are always
// recorded next to the ceiling they are compared with.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Request makes one request of a scenario. It returns an error for anything
// that should count as a failure (transport error, unexpected status, ...).
// worker is the index of the calling goroutine, for scenarios that keep
// per-worker state such as a cookie jar.
type Request func(ctx context.Context, worker int) error

// Options bound a run: it stops after Duration or after MaxRequests, whichever
// comes first (MaxRequests 0 = no count limit).
type Options struct {
	Concurrency int
	Duration    time.Duration
	MaxRequests int64
	// Rate, if positive, paces the whole run to that many requests per second
	// (for latency at a fixed load rather than at saturation).
	Rate float64
	// Warmup requests per worker, not measured.
	Warmup int
}

// Result summarises a run.
type Result struct {
	Requests   int64
	Errors     int64
	FirstError string
	Elapsed    time.Duration
	P50        time.Duration
	P90        time.Duration
	P99        time.Duration
	Max        time.Duration
}

// PerSecond is the rate of successful requests.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	s := fmt.Sprintf("%8.0f req/s  n=%d errors=%d  p50=%s p90=%s p99=%s max=%s",
		r.PerSecond(), r.Requests, r.Errors, round(r.P50), round(r.P90), round(r.P99), round(r.Max))
	if r.FirstError != "" {
		s += "  first error: " + r.FirstError
	}
	return s
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// Run executes req with opts.Concurrency workers until the bounds of opts are met.
func Run(ctx context.Context, opts Options, req Request) (Result, error) {
	if opts.Concurrency < 1 {
		return Result{}, errors.New("loadgen: concurrency must be at least 1")
	}
	if opts.Duration <= 0 && opts.MaxRequests <= 0 {
		return Result{}, errors.New("loadgen: a duration or a request count is required")
	}
	for w := 0; w < opts.Concurrency && opts.Warmup > 0; w++ {
		for i := 0; i < opts.Warmup; i++ {
			if err := req(ctx, w); err != nil {
				return Result{}, fmt.Errorf("loadgen: warm-up request failed: %w", err)
			}
		}
	}
	runCtx := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	var (
		issued   atomic.Int64
		errCount atomic.Int64
		firstErr atomic.Value
		mu       sync.Mutex
		all      []time.Duration
		wg       sync.WaitGroup
	)
	var ticks <-chan time.Time
	if opts.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / opts.Rate))
		defer t.Stop()
		ticks = t.C
	}
	start := time.Now()
	for w := 0; w < opts.Concurrency; w++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			for runCtx.Err() == nil {
				if opts.MaxRequests > 0 && issued.Add(1) > opts.MaxRequests {
					break
				}
				if ticks != nil {
					select {
					case <-ticks:
					case <-runCtx.Done():
						continue
					}
				}
				t0 := time.Now()
				err := req(runCtx, worker)
				if err != nil && runCtx.Err() != nil {
					break // cut off by the end of the run, not a server failure
				}
				local = append(local, time.Since(t0))
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res := Result{Requests: int64(len(all)), Errors: errCount.Load(), Elapsed: time.Since(start)}
	if s, ok := firstErr.Load().(string); ok {
		res.FirstError = s
	}
	if len(all) > 0 {
		slices.Sort(all)
		pick := func(q float64) time.Duration { return all[min(len(all)-1, int(q*float64(len(all))))] }
		res.P50, res.P90, res.P99, res.Max = pick(0.50), pick(0.90), pick(0.99), all[len(all)-1]
	}
	return res, nil
}

// GetOK returns a Request that GETs url with client and expects status 200.
// The body is read fully so connections are reused (keep-alive).
func GetOK(client *http.Client, url string) Request {
	return func(ctx context.Context, _ int) error {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(r)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}
