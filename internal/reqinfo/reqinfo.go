// Package reqinfo carries what the server learns about a request before any
// handler runs: its trace id and where it really came from (after honouring
// X-Forwarded-* from trusted proxies only). The server's middleware sets it;
// handlers and the error writer read it.
package reqinfo

import "context"

// Info describes one request.
type Info struct {
	// TraceID identifies the request in logs and in Entra's x-ms-request-id
	// header and error bodies: a GUID. With tracing on it is the
	// OpenTelemetry trace id in GUID form (the same 16 bytes).
	TraceID string
	// ClientIP is the caller's address (the forwarded one behind a trusted proxy).
	ClientIP string
	// Scheme ("https" or "http") and Host are what the client used to reach
	// us, through a trusted proxy if there is one.
	Scheme string
	Host   string
}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// From returns the request's Info, or nil outside the server's middleware.
func From(ctx context.Context) *Info {
	info, _ := ctx.Value(key{}).(*Info)
	return info
}
