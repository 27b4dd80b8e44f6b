// Package tracing is Entrance's small OpenTelemetry tracer: spans with W3C
// trace context (the traceparent header) and an exporter that sends them to
// an OTLP/HTTP collector in the protocol's JSON encoding. It is written on
// the standard library alone; the OpenTelemetry SDK would pull in gRPC and
// protobuf for a feature this small.
//
// A server makes one Tracer when tracing is configured and none otherwise;
// every method of *Span is a no-op on a nil span, and Start returns a nil span
// when the context carries none, so code that traces costs a nil check (and a
// context lookup) when tracing is off.
package tracing

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
)

// TraceID is a W3C trace id: 16 bytes, not all zero.
type TraceID [16]byte

// SpanID is a W3C parent (span) id: 8 bytes, not all zero.
type SpanID [8]byte

// String is the 32 lower-case hex digits of the traceparent header and OTLP.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// GUID is the same 16 bytes in GUID text form (8-4-4-4-12 lower-case hex, in
// byte order), the form of Entra's request ids (x-ms-request-id and the
// trace_id of error bodies): removing the dashes gives String().
func (t TraceID) GUID() string { return ids.FormatGUID(t) }

// IsValid reports whether t is not all zero.
func (t TraceID) IsValid() bool { return t != TraceID{} }

// String is the 16 lower-case hex digits of the traceparent header and OTLP.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// IsValid reports whether s is not all zero.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// SpanContext is what travels between services in a traceparent header.
type SpanContext struct {
	TraceID TraceID
	SpanID  SpanID
	Sampled bool
}

// ParseTraceparent reads a W3C traceparent header
// (version-traceid-parentid-flags, e.g.
// 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01). It refuses
// anything malformed: wrong lengths or separators, upper-case or non-hex
// digits, version ff, an all-zero trace or parent id, and version 00 with
// anything after the flags. A later version may append fields after a dash,
// which are ignored, as the specification asks.
func ParseTraceparent(h string) (SpanContext, bool) {
	const n = 55 // 2+1+32+1+16+1+2
	if len(h) < n || h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return SpanContext{}, false
	}
	var ver [1]byte
	if !decodeLowerHex(ver[:], h[0:2]) || ver[0] == 0xff {
		return SpanContext{}, false
	}
	if len(h) > n && (ver[0] == 0 || h[n] != '-') {
		return SpanContext{}, false
	}
	var sc SpanContext
	var flags [1]byte
	if !decodeLowerHex(sc.TraceID[:], h[3:35]) || !decodeLowerHex(sc.SpanID[:], h[36:52]) ||
		!decodeLowerHex(flags[:], h[53:55]) {
		return SpanContext{}, false
	}
	if !sc.TraceID.IsValid() || !sc.SpanID.IsValid() {
		return SpanContext{}, false
	}
	sc.Sampled = flags[0]&1 == 1
	return sc, true
}

// decodeLowerHex decodes exactly len(dst)*2 lower-case hex digits.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

// Traceparent formats sc as a version 00 traceparent header.
func (sc SpanContext) Traceparent() string {
	var out [55]byte
	out[0], out[1], out[2] = '0', '0', '-'
	hex.Encode(out[3:35], sc.TraceID[:])
	out[35] = '-'
	hex.Encode(out[36:52], sc.SpanID[:])
	out[52], out[53], out[54] = '-', '0', '0'
	if sc.Sampled {
		out[54] = '1'
	}
	return string(out[:])
}

// newTraceID is a random trace id that is also a version 4 GUID: the version
// and variant bits sit in bytes 6 and 8, so the right-most 7 bytes, which
// W3C samplers read, stay random.
func newTraceID() TraceID {
	var t TraceID
	_, _ = rand.Read(t[:]) // crypto/rand.Read never fails (Go 1.24+).
	t[6] = t[6]&0x0f | 0x40
	t[8] = t[8]&0x3f | 0x80
	return t
}

func newSpanID() SpanID {
	var s SpanID
	for !s.IsValid() {
		_, _ = rand.Read(s[:])
	}
	return s
}

// Kind is OTLP's span kind enum.
type Kind int

// The span kinds Entrance makes (OTLP's SPAN_KIND_INTERNAL and _SERVER).
const (
	KindInternal Kind = 1
	KindServer   Kind = 2
)

// statusError is OTLP's STATUS_CODE_ERROR.
const statusError = 2

// Attr is one span attribute: a string, integer or boolean value.
type Attr struct {
	Key  string
	kind byte // 's', 'i', 'b'
	str  string
	num  int64
}

// String, Int and Bool make attributes. Never give them secrets, tokens,
// codes, passwords, query strings or other user input.
func String(k, v string) Attr    { return Attr{Key: k, kind: 's', str: v} }
func Int(k string, v int64) Attr { return Attr{Key: k, kind: 'i', num: v} }
func Bool(k string, v bool) Attr {
	a := Attr{Key: k, kind: 'b'}
	if v {
		a.num = 1
	}
	return a
}

// Span is one timed operation. A span is used by one goroutine at a time;
// after End it belongs to the exporter. All methods accept a nil span.
type Span struct {
	t        *Tracer
	sc       SpanContext
	parent   SpanID
	name     string
	kind     Kind
	start    time.Time
	end      time.Time
	attrs    []Attr
	buf      [5]Attr // backing store of attrs: a server span's fit
	errorMsg string
	isError  bool
	ended    bool
}

// Context is the span's trace id, span id and sampling decision.
func (s *Span) Context() SpanContext {
	if s == nil {
		return SpanContext{}
	}
	return s.sc
}

// TraceID is the span's trace id (zero for a nil span).
func (s *Span) TraceID() TraceID { return s.Context().TraceID }

// Recording reports whether the span will be exported.
func (s *Span) Recording() bool { return s != nil && s.sc.Sampled && !s.ended }

// SetName names the span (a server span learns its route only after routing).
func (s *Span) SetName(name string) {
	if s.Recording() {
		s.name = name
	}
}

// SetAttributes adds attributes to a recording span.
func (s *Span) SetAttributes(attrs ...Attr) {
	if s.Recording() {
		s.attrs = append(s.attrs, attrs...)
	}
}

// SetError marks the span as failed; msg must not carry secrets or user input.
func (s *Span) SetError(msg string) {
	if s.Recording() {
		s.isError, s.errorMsg = true, msg
	}
}

// End finishes the span and hands it to the exporter without waiting: when
// the exporter's queue is full the span is dropped and counted.
func (s *Span) End() {
	if !s.Recording() {
		return
	}
	s.end = s.start.Add(time.Since(s.start)) // monotonic duration
	s.ended = true
	s.t.enqueue(s)
}

type ctxKey struct{}

// ContextWith returns ctx carrying span, the parent of spans Start makes.
func ContextWith(ctx context.Context, span *Span) context.Context {
	return context.WithValue(ctx, ctxKey{}, span)
}

// FromContext is the span ctx carries, or nil.
func FromContext(ctx context.Context) *Span {
	s, _ := ctx.Value(ctxKey{}).(*Span)
	return s
}

// Start begins an INTERNAL child span of the span ctx carries. When ctx
// carries none, or an unsampled one, it returns ctx and a nil span (whose
// methods do nothing) without allocating.
func Start(ctx context.Context, name string) (context.Context, *Span) {
	parent := FromContext(ctx)
	if !parent.Recording() {
		return ctx, nil
	}
	s := parent.t.newSpan(name, KindInternal, SpanContext{TraceID: parent.sc.TraceID, SpanID: newSpanID(), Sampled: true}, parent.sc.SpanID)
	return ContextWith(ctx, s), s
}

// sampleThreshold turns a ratio into the bound the trace id is compared
// with. Like OpenTelemetry's TraceIdRatioBased sampler it reads the trace id's
// last bytes, but only the right-most 7, the ones W3C Trace Context (level 2)
// requires to be random: a new trace id is a version 4 GUID, whose variant
// bits sit in byte 8.
func sampleThreshold(ratio float64) uint64 {
	switch {
	case ratio >= 1:
		return 1 << 56
	case ratio <= 0:
		return 0
	}
	return uint64(ratio * (1 << 56))
}

func sampled(t TraceID, threshold uint64) bool {
	return binary.BigEndian.Uint64(t[8:16])&(1<<56-1) < threshold
}
