package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsRequestsAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()

	res, err := Run(context.Background(), Options{Concurrency: 4, MaxRequests: 200}, GetOK(srv.Client(), srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 {
		t.Errorf("requests = %d, want 200", res.Requests)
	}
	if res.Errors != 20 {
		t.Errorf("errors = %d, want 20 (every 10th request fails)", res.Errors)
	}
	if res.FirstError == "" || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Errorf("inconsistent result: %+v", res)
	}
}

func TestRunStopsAtDurationAndRejectsBadOptions(t *testing.T) {
	req := func(ctx context.Context, _ int) error { time.Sleep(time.Millisecond); return nil }
	start := time.Now()
	res, err := Run(context.Background(), Options{Concurrency: 2, Duration: 100 * time.Millisecond}, req)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("run took %s, want about 100ms", took)
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Errorf("result %+v", res)
	}
	for _, o := range []Options{{Concurrency: 0, Duration: time.Second}, {Concurrency: 1}} {
		if _, err := Run(context.Background(), o, req); err == nil {
			t.Errorf("Run(%+v) succeeded, want an error", o)
		}
	}
	failing := func(ctx context.Context, _ int) error { return errors.New("down") }
	if _, err := Run(context.Background(), Options{Concurrency: 1, MaxRequests: 1, Warmup: 1}, failing); err == nil {
		t.Error("a failing warm-up must abort the run")
	}
}

func TestMeasureCeilings(t *testing.T) {
	c, err := MeasureCeilings(50 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if c.RS256PerSecond <= 0 || c.Argon2idPerSec <= 0 || c.Cores < 1 {
		t.Errorf("ceilings %+v", c)
	}
}

func TestRawClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			w.Write([]byte("ok"))
		case "/chunked":
			for i := 0; i < 3; i++ {
				w.Write(make([]byte, 3000))
				w.(http.Flusher).Flush()
			}
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig
	c, err := NewRawClient(srv.URL, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, path := range []string{"/small", "/chunked", "/close", "/small"} {
		res, err := Run(context.Background(), Options{Concurrency: 3, MaxRequests: 30}, c.Get(path))
		if err != nil || res.Errors != 0 || res.Requests != 30 {
			t.Fatalf("%s: %+v, %v", path, res, err)
		}
	}
	res, _ := Run(context.Background(), Options{Concurrency: 1, MaxRequests: 2}, c.Get("/missing"))
	if res.Errors != 2 {
		t.Errorf("404s counted as %d errors, want 2", res.Errors)
	}
}
