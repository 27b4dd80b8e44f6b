// Package tracingtest is a fake OTLP/HTTP collector for tests. It decodes
// the JSON encoding of what it receives on its own terms, not with
// internal/tracing's types, so a test reads the wire as a real collector
// would.
package tracingtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Attribute is a span attribute as OTLP's JSON encoding carries it.
type Attribute struct {
	Key   string `json:"key"`
	Value struct {
		StringValue *string `json:"stringValue"`
		IntValue    *string `json:"intValue"` // int64 travels as a string
		BoolValue   *bool   `json:"boolValue"`
	} `json:"value"`
}

// Span is a span as OTLP's JSON encoding carries it.
type Span struct {
	TraceID      string      `json:"traceId"`
	SpanID       string      `json:"spanId"`
	ParentSpanID string      `json:"parentSpanId"`
	Name         string      `json:"name"`
	Kind         int         `json:"kind"`
	Start        string      `json:"startTimeUnixNano"`
	End          string      `json:"endTimeUnixNano"`
	Attributes   []Attribute `json:"attributes"`
	Status       struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"status"`
}

// Attr is the string or integer value of attribute k, "" if absent.
func (s Span) Attr(k string) string {
	for _, a := range s.Attributes {
		if a.Key == k {
			switch {
			case a.Value.StringValue != nil:
				return *a.Value.StringValue
			case a.Value.IntValue != nil:
				return *a.Value.IntValue
			}
		}
	}
	return ""
}

// Export is one export request the collector received.
type Export struct {
	Body     string   // as sent
	Services []string // the resources' service.name
	Spans    []Span
}

// Collector is a fake OTLP/HTTP collector on a local port: exports go to
// URL + "/v1/traces".
type Collector struct {
	URL string
	// Arrived receives a value (when there is room) as each export
	// reaches the collector, before it waits for hold.
	Arrived <-chan struct{}

	t       testing.TB
	srv     *httptest.Server
	hold    <-chan struct{}
	arrived chan struct{}

	mu      sync.Mutex
	exports []Export
}

// New starts a collector, closed at the end of the test. With hold set,
// every export waits for hold to close (a slow or hanging collector).
func New(t testing.TB, hold <-chan struct{}) *Collector {
	c := &Collector{t: t, hold: hold, arrived: make(chan struct{}, 100)}
	c.Arrived = c.arrived
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	c.URL = c.srv.URL
	t.Cleanup(c.srv.Close)
	return c
}

// Close stops the collector: later exports fail to connect.
func (c *Collector) Close() { c.srv.Close() }

func (c *Collector) serve(w http.ResponseWriter, r *http.Request) {
	select {
	case c.arrived <- struct{}{}:
	default:
	}
	if c.hold != nil {
		select {
		case <-c.hold:
		case <-r.Context().Done():
			return
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/json" {
		c.t.Errorf("collector: %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Error(err)
	}
	var req struct {
		ResourceSpans []struct {
			Resource struct {
				Attributes []Attribute `json:"attributes"`
			} `json:"resource"`
			ScopeSpans []struct {
				Spans []Span `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		c.t.Errorf("collector: %v in %s", err, body)
	}
	e := Export{Body: string(body)}
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.Resource.Attributes {
			if a.Key == "service.name" && a.Value.StringValue != nil {
				e.Services = append(e.Services, *a.Value.StringValue)
			}
		}
		for _, ss := range rs.ScopeSpans {
			e.Spans = append(e.Spans, ss.Spans...)
		}
	}
	c.mu.Lock()
	c.exports = append(c.exports, e)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}")
}

// Exports are the export requests received so far, in order.
func (c *Collector) Exports() []Export {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Export(nil), c.exports...)
}

// Spans are the spans of every export so far.
func (c *Collector) Spans() []Span {
	var out []Span
	for _, e := range c.Exports() {
		out = append(out, e.Spans...)
	}
	return out
}

// Bodies are the export bodies so far, one per line.
func (c *Collector) Bodies() string {
	var bodies []string
	for _, e := range c.Exports() {
		bodies = append(bodies, e.Body)
	}
	return strings.Join(bodies, "\n")
}
