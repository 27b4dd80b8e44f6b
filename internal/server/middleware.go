package server

import (
	"cmp"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/reqinfo"
	"github.com/entranceidp/entrance/internal/tracing"
)

// maxBodyBytes caps every request body: protocol requests are small forms.
const maxBodyBytes = 1 << 20

// Security headers on every response. HSTS only over TLS (a proxy in front of
// --insecure-http sets its own). X-Frame-Options is left to the pages that
// need it: MSAL.js's silent sign-in loads /authorize in a hidden iframe.
var (
	hdrNosniff = []string{"nosniff"}
	hdrHSTS    = []string{"max-age=31536000; includeSubDomains"}
	hdrXSS     = []string{"0"}
)

// withMiddleware wraps the mux: panics become Entra's server error, each
// request gets a trace id and its real origin, its body is capped, its path
// lower-cased for routing, and it is measured and logged by route pattern.
func (s *Server) withMiddleware(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := s.requestInfo(r)
		ctx := r.Context()
		var span *tracing.Span
		if s.tracer != nil {
			// The SERVER span continues the caller's trace when it sent a
			// valid traceparent. Its trace id is also the request's Entra
			// trace id (x-ms-request-id, trace_id of error bodies) in GUID
			// form, so an error body leads an operator to its trace.
			ctx, span = s.tracer.StartServer(ctx, r.Header.Get("Traceparent"))
			info.TraceID = span.TraceID().GUID()
		}
		// Every store call a handler makes runs under this deadline: with
		// the database unreachable, requests fail (503) instead of hanging.
		ctx, cancel := context.WithTimeout(reqinfo.With(ctx, info), s.requestTimeout())
		defer cancel()
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}

		h := w.Header()
		h["X-Ms-Request-Id"] = []string{info.TraceID}
		h["X-Content-Type-Options"] = hdrNosniff
		h["X-Xss-Protection"] = hdrXSS
		if r.TLS != nil {
			h["Strict-Transport-Security"] = hdrHSTS
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(rec, r.Body, maxBodyBytes)
		}
		lowerPath(r)

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "trace_id", info.TraceID, "panic", p)
				if !rec.wroteHeader {
					s.errors.WriteJSON(rec, r, aadsts.New(aadsts.ServerError))
				}
			}
			s.observe(r, rec, info, time.Since(start), span)
		}()
		if s.throttled(rec, r) {
			return
		}
		mux.ServeHTTP(rec, r)
	})
}

// defaultRequestTimeout bounds a request: ordinary ones take milliseconds,
// a sign-in about a tenth of a second (argon2id).
const defaultRequestTimeout = 10 * time.Second

func (s *Server) requestTimeout() time.Duration {
	return cmp.Or(s.cfg.RequestTimeout, defaultRequestTimeout)
}

// observe records the request's metrics and log line. The route is the
// matched ServeMux pattern (never the path or query: later endpoints carry
// codes and secrets in them, and patterns keep metric labels bounded).
func (s *Server) observe(r *http.Request, rec *statusRecorder, info *reqinfo.Info, d time.Duration, span *tracing.Span) {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.metrics.observe(route, status, d)
	if span != nil {
		s.endSpan(span, r, route, status)
	}
	// One line per request is debug-level: at info level a log write per
	// request (a syscall) costs a third of the throughput of the cached
	// discovery endpoints. Metrics count every request; failures still log.
	level := slog.LevelDebug
	if status >= 500 {
		level = slog.LevelError
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	s.log.LogAttrs(r.Context(), level, "request",
		slog.String("route", route),
		slog.String("method", r.Method),
		slog.Int("status", status),
		slog.Duration("duration", d),
		slog.Int64("bytes", rec.bytes),
		slog.String("trace_id", info.TraceID),
		slog.String("client_ip", info.ClientIP),
	)
}

// endSpan names the request's SERVER span after its route and ends it. Its
// attributes are the route, the method, the status and our own host name:
// never the path, query, Host header or anything else the client chose
// (paths and queries carry codes and secrets).
func (s *Server) endSpan(span *tracing.Span, r *http.Request, route string, status int) {
	if span.Recording() {
		span.SetName(route)
		span.SetAttributes(
			tracing.String("http.request.method", spanMethod(r.Method)),
			tracing.Int("http.response.status_code", int64(status)),
			tracing.String("server.address", s.serverAddress),
		)
		if r.Pattern != "" {
			// The pattern is "METHOD /path/{wildcard}"; http.route is the path part.
			_, path, ok := strings.Cut(r.Pattern, " ")
			if !ok {
				path = r.Pattern
			}
			span.SetAttributes(tracing.String("http.route", path))
		}
		if status >= 500 {
			span.SetError(http.StatusText(status))
		}
	}
	span.End()
}

// spanMethod is the request method, or _OTHER for one HTTP does not define
// (OpenTelemetry's convention: the method is client input).
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodOptions, http.MethodPut,
		http.MethodDelete, http.MethodPatch, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// lowerPath lower-cases the path before routing: Entra matches tenant and
// path segments case-insensitively (MSAL Go lower-cases whole authority
// URLs), while ServeMux patterns are case-sensitive. No Entrance path carries
// a case-sensitive value (codes and tokens travel in queries and bodies).
func lowerPath(r *http.Request) {
	if hasUpper(r.URL.Path) {
		r.URL.Path = strings.ToLower(r.URL.Path)
	}
	if hasUpper(r.URL.RawPath) {
		r.URL.RawPath = strings.ToLower(r.URL.RawPath)
	}
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// requestInfo works out the trace id and where the request came from.
// X-Forwarded-For/-Proto/-Host are honoured only when the direct peer is a
// trusted proxy; otherwise anyone could claim any address or host.
func (s *Server) requestInfo(r *http.Request) *reqinfo.Info {
	info := &reqinfo.Info{TraceID: ids.NewGUID(), Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		info.Scheme = "https"
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		info.ClientIP = host
		return info
	}
	info.ClientIP = peer.Addr().Unmap().String()
	if !s.trusted(peer.Addr()) {
		return info
	}
	// The client is the right-most X-Forwarded-For address that is not one of
	// our proxies (entries to its left could be forged by the client).
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			info.ClientIP = a.Unmap().String()
			if !s.trusted(a) {
				break
			}
		}
	}
	if p := strings.ToLower(firstValue(r.Header.Get("X-Forwarded-Proto"))); p == "https" || p == "http" {
		info.Scheme = p
	}
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
		info.Host = h
	}
	return info
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// firstValue is the first of a comma-separated header value list.
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.TrimSpace(first)
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = http.StatusOK, true
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing,
// deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// statusText is the label value of a status code.
func statusText(code int) string { return strconv.Itoa(code) }
