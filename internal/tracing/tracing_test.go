package tracing

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/tracing/tracingtest"
)

func TestParseTraceparent(t *testing.T) {
	const (
		tid = "4bf92f3577b34da6a3ce929d0e0e4736"
		sid = "00f067aa0ba902b7"
	)
	for _, tc := range []struct {
		name, in string
		ok       bool
		sampled  bool
	}{
		{"sampled", "00-" + tid + "-" + sid + "-01", true, true},
		{"not sampled", "00-" + tid + "-" + sid + "-00", true, false},
		{"other flags, sampled bit set", "00-" + tid + "-" + sid + "-09", true, true},
		{"other flags, sampled bit clear", "00-" + tid + "-" + sid + "-08", true, false},
		{"future version with more fields", "01-" + tid + "-" + sid + "-01-what-ever", true, true},
		{"future version, exact length", "cc-" + tid + "-" + sid + "-01", true, true},
		{"empty", "", false, false},
		{"version ff", "ff-" + tid + "-" + sid + "-01", false, false},
		{"version 00 with trailing data", "00-" + tid + "-" + sid + "-01-x", false, false},
		{"future version, trailing data without dash", "01-" + tid + "-" + sid + "-01x", false, false},
		{"upper-case trace id", "00-" + strings.ToUpper(tid) + "-" + sid + "-01", false, false},
		{"upper-case version", "0A-" + tid + "-" + sid + "-01", false, false},
		{"zero trace id", "00-" + strings.Repeat("0", 32) + "-" + sid + "-01", false, false},
		{"zero parent id", "00-" + tid + "-" + strings.Repeat("0", 16) + "-01", false, false},
		{"short trace id", "00-" + tid[:31] + "-" + sid + "-01", false, false},
		{"long parent id", "00-" + tid + "-" + sid + "0-01", false, false},
		{"non-hex", "00-" + tid[:31] + "g-" + sid + "-01", false, false},
		{"wrong separator", "00_" + tid + "-" + sid + "-01", false, false},
		{"non-hex flags", "00-" + tid + "-" + sid + "-0z", false, false},
		{"GUID form", "00-4bf92f35-77b3-4da6-a3ce-929d0e0e4736-" + sid + "-01", false, false},
		{"spaces", " 00-" + tid + "-" + sid + "-01", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, ok := ParseTraceparent(tc.in)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				if sc != (SpanContext{}) {
					t.Errorf("refused header gave %+v", sc)
				}
				return
			}
			if sc.TraceID.String() != tid || sc.SpanID.String() != sid || sc.Sampled != tc.sampled {
				t.Errorf("got %s %s %v", sc.TraceID, sc.SpanID, sc.Sampled)
			}
		})
	}
}

func TestTraceparentRoundTripAndGUID(t *testing.T) {
	for _, sampled := range []bool{true, false} {
		sc := SpanContext{TraceID: newTraceID(), SpanID: newSpanID(), Sampled: sampled}
		h := sc.Traceparent()
		want := "00-" + sc.TraceID.String() + "-" + sc.SpanID.String() + "-0" + map[bool]string{true: "1", false: "0"}[sampled]
		if h != want {
			t.Fatalf("Traceparent() = %q, want %q", h, want)
		}
		back, ok := ParseTraceparent(h)
		if !ok || back != sc {
			t.Fatalf("round trip of %q: %+v %v", h, back, ok)
		}
	}
	id := TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	if g := id.GUID(); g != "4bf92f35-77b3-4da6-a3ce-929d0e0e4736" || strings.ReplaceAll(g, "-", "") != id.String() {
		t.Errorf("GUID() = %q, String() = %q", g, id.String())
	}
	// New trace ids are version 4 GUIDs, like the request ids they replace.
	for range 100 {
		g := newTraceID().GUID()
		if g[14] != '4' || !strings.ContainsRune("89ab", rune(g[19])) {
			t.Fatalf("new trace id %s is not a version 4 GUID", g)
		}
	}
}

func TestSampling(t *testing.T) {
	const n = 4000
	for _, tc := range []struct {
		ratio    float64
		min, max int
	}{
		{1, n, n}, {0, 0, 0}, {0.5, n * 4 / 10, n * 6 / 10}, {0.1, n / 20, n * 3 / 20},
	} {
		tr := New(Options{SampleRatio: tc.ratio})
		got := 0
		for range n {
			if _, s := tr.StartServer(context.Background(), ""); s.Recording() {
				got++
			}
		}
		if got < tc.min || got > tc.max {
			t.Errorf("ratio %v: %d of %d sampled, want %d..%d", tc.ratio, got, n, tc.min, tc.max)
		}
	}
	// Parent-based: the caller's decision wins over the ratio.
	never, always := New(Options{SampleRatio: 0}), New(Options{SampleRatio: 1})
	const tid, sid = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if _, s := never.StartServer(context.Background(), "00-"+tid+"-"+sid+"-01"); !s.Recording() || s.TraceID().String() != tid || s.parent.String() != sid {
		t.Error("a sampled parent was not honoured at ratio 0")
	}
	if _, s := always.StartServer(context.Background(), "00-"+tid+"-"+sid+"-00"); s.Recording() || s.TraceID().String() != tid {
		t.Error("an unsampled parent was recorded at ratio 1")
	}
	// A malformed header starts a fresh trace.
	if _, s := always.StartServer(context.Background(), "00-"+tid+"-"+sid+"-01-junk"); s.TraceID().String() == tid || s.parent.IsValid() {
		t.Error("a malformed traceparent was continued")
	}
}

func TestExportJSON(t *testing.T) {
	c := tracingtest.New(t, nil)
	tr := New(Options{URL: TracesURL(c.URL + "/"), ServiceName: "entrance-test", SampleRatio: 1, Interval: time.Hour})
	done := make(chan struct{})
	go func() { tr.Run(context.Background()); close(done) }()

	ctx, server := tr.StartServer(context.Background(), "")
	server.SetName("GET /{tenant}/v2.0/.well-known/openid-configuration")
	server.SetAttributes(String("http.request.method", "GET"), Int("http.response.status_code", 503), Bool("b", true))
	server.SetError("Service Unavailable")
	_, child := Start(ctx, "sign RS256")
	child.End()
	child.End() // a second End is ignored
	server.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-done

	exports := c.Exports()
	if len(exports) != 1 {
		t.Fatalf("%d exports, want 1 (flushed at shutdown)", len(exports))
	}
	body := exports[0].Body
	// The wire form, as a collector reads it.
	var wire struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []map[string]any `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Scope struct{ Name string } `json:"scope"`
				Spans []map[string]any      `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal([]byte(body), &wire); err != nil {
		t.Fatal(err)
	}
	if len(wire.ResourceSpans) != 1 || len(wire.ResourceSpans[0].ScopeSpans) != 1 {
		t.Fatalf("shape: %s", body)
	}
	res, _ := json.Marshal(wire.ResourceSpans[0].Resource.Attributes)
	if string(res) != `[{"key":"service.name","value":{"stringValue":"entrance-test"}}]` {
		t.Errorf("resource attributes %s", res)
	}
	ss := wire.ResourceSpans[0].ScopeSpans[0]
	if ss.Scope.Name != ScopeName || len(ss.Spans) != 2 {
		t.Fatalf("scope spans: %s", body)
	}
	ch, sv := ss.Spans[0], ss.Spans[1]
	tid := server.TraceID().String()
	for _, tc := range []struct {
		span  map[string]any
		field string
		want  any
	}{
		{sv, "traceId", tid},
		{sv, "spanId", server.Context().SpanID.String()},
		{sv, "name", "GET /{tenant}/v2.0/.well-known/openid-configuration"},
		{sv, "kind", float64(KindServer)},
		{sv, "flags", float64(1)},
		{sv, "parentSpanId", nil},
		{ch, "traceId", tid},
		{ch, "parentSpanId", server.Context().SpanID.String()},
		{ch, "name", "sign RS256"},
		{ch, "kind", float64(KindInternal)},
		{ch, "attributes", nil},
	} {
		if got := tc.span[tc.field]; got != tc.want {
			t.Errorf("%s = %#v, want %#v", tc.field, got, tc.want)
		}
	}
	attrs, _ := json.Marshal(sv["attributes"])
	if want := `[{"key":"http.request.method","value":{"stringValue":"GET"}},{"key":"http.response.status_code","value":{"intValue":"503"}},{"key":"b","value":{"boolValue":true}}]`; string(attrs) != want {
		t.Errorf("attributes\n got %s\nwant %s", attrs, want)
	}
	st, _ := json.Marshal(sv["status"])
	if string(st) != `{"code":2,"message":"Service Unavailable"}` {
		t.Errorf("status %s", st)
	}
	for _, s := range []map[string]any{sv, ch} {
		start, err1 := strconv.ParseInt(s["startTimeUnixNano"].(string), 10, 64)
		end, err2 := strconv.ParseInt(s["endTimeUnixNano"].(string), 10, 64)
		if err1 != nil || err2 != nil || end < start || time.Since(time.Unix(0, start)) > time.Minute {
			t.Errorf("times %v %v", s["startTimeUnixNano"], s["endTimeUnixNano"])
		}
	}
	if len(tid) != 32 || strings.ToLower(tid) != tid {
		t.Errorf("trace id %q", tid)
	}
}

func TestBatchingIntervalAndSize(t *testing.T) {
	c := tracingtest.New(t, nil)
	tr := New(Options{URL: c.URL + "/v1/traces", SampleRatio: 1, BatchSize: 3, Interval: 50 * time.Millisecond})
	go tr.Run(context.Background())
	defer tr.Shutdown(context.Background())

	for range 7 {
		_, s := tr.StartServer(context.Background(), "")
		s.End()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Spans()) < 7 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(c.Spans()); n != 7 {
		t.Fatalf("%d spans exported, want 7", n)
	}
	for _, e := range c.Exports() {
		if n := len(e.Spans); n > 3 {
			t.Errorf("a batch of %d spans, more than BatchSize", n)
		}
	}
}

// A collector that hangs never holds up End: the queue fills, further spans
// are dropped and counted, and Shutdown gives up at its deadline.
func TestSlowCollectorDropsAndShutdownDeadline(t *testing.T) {
	hold := make(chan struct{})
	defer close(hold)
	c := tracingtest.New(t, hold)
	tr := New(Options{URL: c.URL + "/v1/traces", SampleRatio: 1, QueueSize: 4, BatchSize: 1, Interval: time.Hour})
	go tr.Run(context.Background())

	_, s := tr.StartServer(context.Background(), "")
	s.End()
	select {
	case <-c.Arrived: // the first export is now stuck in the collector
	case <-time.After(5 * time.Second):
		t.Fatal("no export reached the collector")
	}
	start := time.Now()
	for range 20 {
		_, s := tr.StartServer(context.Background(), "")
		s.End()
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ending 20 spans took %v", d)
	}
	if got := tr.Dropped(); got != 16 {
		t.Errorf("Dropped() = %d, want 16 (20 spans, queue of 4)", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := tr.Shutdown(ctx); err == nil {
		t.Error("Shutdown reported success with the collector hanging")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v past its deadline", d)
	}
}

func TestCollectorDown(t *testing.T) {
	c := tracingtest.New(t, nil)
	url := c.URL + "/v1/traces"
	c.Close()
	tr := New(Options{URL: url, SampleRatio: 1, Interval: time.Hour})
	go tr.Run(context.Background())
	_, s := tr.StartServer(context.Background(), "")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v (a failed export is logged, not returned)", err)
	}
}

func TestNoSpanCostsNothing(t *testing.T) {
	ctx := context.Background()
	var nilSpan *Span
	allocs := testing.AllocsPerRun(100, func() {
		c, s := Start(ctx, "sign RS256")
		s.SetAttributes()
		s.SetName("x")
		s.SetError("x")
		s.End()
		_ = c
		nilSpan.End()
	})
	if allocs != 0 {
		t.Errorf("Start without a span in the context: %v allocations, want 0", allocs)
	}
	// An unsampled parent makes no children either.
	tr := New(Options{SampleRatio: 0})
	ctx, parent := tr.StartServer(ctx, "")
	if c, s := Start(ctx, "child"); s != nil || c != ctx || parent.Recording() {
		t.Error("an unsampled parent produced a recording child")
	}
	parent.End()
	if len(tr.queue) != 0 {
		t.Error("an unsampled span was queued")
	}
}
