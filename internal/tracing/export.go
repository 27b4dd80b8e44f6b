package tracing

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultQueueSize     = 2048
	DefaultBatchSize     = 512
	DefaultInterval      = 2 * time.Second
	DefaultExportTimeout = 10 * time.Second
	// ScopeName is the instrumentation scope of every span.
	ScopeName = "github.com/entranceidp/entrance"
)

// Options configure a Tracer.
type Options struct {
	// URL is the collector's OTLP/HTTP traces endpoint, the full URL
	// (http://collector:4318/v1/traces); TracesURL derives it from a base.
	URL string
	// ServiceName is the service.name resource attribute.
	ServiceName string
	// SampleRatio is the share of new traces recorded, 0 to 1. A request
	// that continues a trace follows its caller's decision instead.
	SampleRatio float64
	// Client sends the exports; default: a client on http.DefaultTransport.
	Client *http.Client
	// Logger reports failed exports and dropped spans.
	Logger *slog.Logger
	// QueueSize bounds the spans waiting for export (more are dropped);
	// BatchSize is the most spans in one export, which also starts an
	// export early; Interval is how often waiting spans are exported;
	// ExportTimeout bounds each export.
	QueueSize     int
	BatchSize     int
	Interval      time.Duration
	ExportTimeout time.Duration
}

// TracesURL is the traces endpoint of an OTLP/HTTP base URL
// (OTEL_EXPORTER_OTLP_ENDPOINT): the base with /v1/traces appended.
func TracesURL(base string) string {
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return base + "/v1/traces"
}

// Tracer starts spans and exports the sampled ones in batches.
type Tracer struct {
	opts      Options
	threshold uint64
	queue     chan *Span
	dropped   atomic.Int64

	started  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	cancelMu sync.Mutex
	cancel   context.CancelFunc // of Run's exports, once Run started
}

// New makes a tracer; Run exports its spans.
func New(opts Options) *Tracer {
	opts.QueueSize = cmp.Or(opts.QueueSize, DefaultQueueSize)
	opts.BatchSize = cmp.Or(opts.BatchSize, DefaultBatchSize)
	opts.Interval = cmp.Or(opts.Interval, DefaultInterval)
	opts.ExportTimeout = cmp.Or(opts.ExportTimeout, DefaultExportTimeout)
	opts.ServiceName = cmp.Or(opts.ServiceName, "entrance")
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tracer{
		opts:      opts,
		threshold: sampleThreshold(opts.SampleRatio),
		queue:     make(chan *Span, opts.QueueSize),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// StartServer begins the SERVER span of an incoming request. A valid
// traceparent header is continued (same trace id, the header's span as
// parent, its sampling decision); without one, or with a malformed one, a
// new trace begins and the sample ratio decides. The span is returned even
// when it is not sampled: its trace id still names the request.
func (t *Tracer) StartServer(ctx context.Context, traceparent string) (context.Context, *Span) {
	var parent SpanID
	sc, ok := SpanContext{}, false
	if traceparent != "" {
		sc, ok = ParseTraceparent(traceparent)
	}
	if ok {
		parent = sc.SpanID
	} else {
		sc.TraceID = newTraceID()
		sc.Sampled = sampled(sc.TraceID, t.threshold)
	}
	sc.SpanID = newSpanID()
	s := t.newSpan("", KindServer, sc, parent)
	return ContextWith(ctx, s), s
}

func (t *Tracer) newSpan(name string, kind Kind, sc SpanContext, parent SpanID) *Span {
	s := &Span{t: t, sc: sc, parent: parent, name: name, kind: kind}
	if sc.Sampled {
		s.start = time.Now()
		s.attrs = s.buf[:0]
	}
	return s
}

// enqueue hands a finished span to Run, never waiting.
func (t *Tracer) enqueue(s *Span) {
	select {
	case t.queue <- s:
	default:
		t.dropped.Add(1)
	}
}

// Dropped is how many spans were dropped because the queue was full.
func (t *Tracer) Dropped() int64 { return t.dropped.Load() }

// Run exports queued spans every Interval, or as soon as BatchSize are
// waiting, until Shutdown; then it exports what is left and returns. Exports
// run under ctx (each bounded by ExportTimeout). Call it once.
func (t *Tracer) Run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.cancelMu.Lock()
	t.cancel = cancel
	t.cancelMu.Unlock()
	t.started.Store(true)
	defer close(t.done)

	tick := time.NewTicker(t.opts.Interval)
	defer tick.Stop()
	batch := make([]*Span, 0, t.opts.BatchSize)
	var reported int64
	flush := func() {
		if n := t.dropped.Load(); n > reported {
			t.opts.Logger.Warn("tracing: export queue full, spans dropped", "dropped", n-reported, "dropped_total", n)
			reported = n
		}
		if len(batch) == 0 {
			return
		}
		if err := t.export(ctx, batch); err != nil {
			t.opts.Logger.Warn("tracing: export failed, spans dropped", "spans", len(batch), "err", err)
		}
		clear(batch)
		batch = batch[:0]
	}
	add := func(s *Span) {
		batch = append(batch, s)
		if len(batch) >= t.opts.BatchSize {
			flush()
		}
	}
	for {
		select {
		case s := <-t.queue:
			add(s)
		case <-tick.C:
			flush()
		case <-t.stop:
		drain:
			for {
				select {
				case s := <-t.queue:
					add(s)
				default:
					break drain
				}
			}
			flush()
			return
		}
	}
}

// Shutdown makes Run export the spans still queued and return, waiting for
// it until ctx ends; then it cancels the export in flight. Spans ended
// afterwards are dropped.
func (t *Tracer) Shutdown(ctx context.Context) error {
	t.stopOnce.Do(func() { close(t.stop) })
	if !t.started.Load() {
		return nil
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		t.cancelMu.Lock()
		t.cancel()
		t.cancelMu.Unlock()
		<-t.done
		return fmt.Errorf("tracing: spans not flushed: %w", ctx.Err())
	}
}

// export POSTs one batch as OTLP/HTTP JSON.
func (t *Tracer) export(ctx context.Context, batch []*Span) error {
	body, err := json.Marshal(t.encode(batch))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.ExportTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.opts.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.opts.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is logged once at start, redacted
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("collector answered %s", resp.Status)
	}
	return nil
}

// The OTLP JSON encoding (opentelemetry-proto's ExportTraceServiceRequest
// under the protobuf JSON mapping): ids in hex, 64-bit integers as decimal
// strings, enums as integers.
type (
	exportRequest struct {
		ResourceSpans []resourceSpans `json:"resourceSpans"`
	}
	resourceSpans struct {
		Resource   resource     `json:"resource"`
		ScopeSpans []scopeSpans `json:"scopeSpans"`
	}
	resource struct {
		Attributes []keyValue `json:"attributes"`
	}
	scopeSpans struct {
		Scope scope      `json:"scope"`
		Spans []spanJSON `json:"spans"`
	}
	scope struct {
		Name string `json:"name"`
	}
	spanJSON struct {
		TraceID           string     `json:"traceId"`
		SpanID            string     `json:"spanId"`
		ParentSpanID      string     `json:"parentSpanId,omitempty"`
		Flags             uint32     `json:"flags"`
		Name              string     `json:"name"`
		Kind              Kind       `json:"kind"`
		StartTimeUnixNano string     `json:"startTimeUnixNano"`
		EndTimeUnixNano   string     `json:"endTimeUnixNano"`
		Attributes        []keyValue `json:"attributes,omitempty"`
		Status            status     `json:"status"`
	}
	status struct {
		Code    int    `json:"code,omitempty"`
		Message string `json:"message,omitempty"`
	}
	keyValue struct {
		Key   string   `json:"key"`
		Value anyValue `json:"value"`
	}
	anyValue struct {
		StringValue *string `json:"stringValue,omitempty"`
		IntValue    *string `json:"intValue,omitempty"`
		BoolValue   *bool   `json:"boolValue,omitempty"`
	}
)

func (t *Tracer) encode(batch []*Span) exportRequest {
	spans := make([]spanJSON, len(batch))
	for i, s := range batch {
		j := spanJSON{
			TraceID:           s.sc.TraceID.String(),
			SpanID:            s.sc.SpanID.String(),
			Flags:             1, // sampled: only sampled spans are exported
			Name:              s.name,
			Kind:              s.kind,
			StartTimeUnixNano: strconv.FormatInt(s.start.UnixNano(), 10),
			EndTimeUnixNano:   strconv.FormatInt(s.end.UnixNano(), 10),
			Attributes:        attrsJSON(s.attrs),
		}
		if s.parent.IsValid() {
			j.ParentSpanID = s.parent.String()
		}
		if s.isError {
			j.Status = status{Code: statusError, Message: s.errorMsg}
		}
		spans[i] = j
	}
	return exportRequest{ResourceSpans: []resourceSpans{{
		Resource:   resource{Attributes: attrsJSON([]Attr{String("service.name", t.opts.ServiceName)})},
		ScopeSpans: []scopeSpans{{Scope: scope{Name: ScopeName}, Spans: spans}},
	}}}
}

func attrsJSON(attrs []Attr) []keyValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]keyValue, len(attrs))
	for i, a := range attrs {
		kv := keyValue{Key: a.Key}
		switch a.kind {
		case 's':
			v := a.str
			kv.Value.StringValue = &v
		case 'i':
			v := strconv.FormatInt(a.num, 10)
			kv.Value.IntValue = &v
		case 'b':
			v := a.num == 1
			kv.Value.BoolValue = &v
		}
		out[i] = kv
	}
	return out
}
