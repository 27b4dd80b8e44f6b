// Package protocol holds Entrance's HTTP endpoints, one file per endpoint:
// discovery.go (OpenID configuration, v1 and v2), keys.go (JWKS),
// instance.go (MSAL instance discovery) and errorpage.go (where every
// error_uri points). Handlers parse the request, read the
// directory and keys, and answer in Entra's shapes; failures go through the one
// error catalogue (internal/aadsts).
//
// Paths are matched case-sensitively by http.ServeMux; the server lower-cases
// the request path before routing (tenant and path segments are
// case-insensitive in Entra), and handlers lower-case what they read again so
// they are correct on their own.
package protocol

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/store"
)

// Options are what the handlers need.
type Options struct {
	Store store.Store
	Keys  *keys.Manager
	URLs  URLs
	// HostAliases are the other hosts (host or host:port) instance discovery
	// answers for, besides the public URL's host.
	HostAliases []string
	Errors      *aadsts.Writer
	Logger      *slog.Logger
}

// Handlers serves the protocol endpoints.
type Handlers struct {
	opts Options
	docs docCache
	// publicHost is the public URL's host[:port], lower-cased, without the
	// scheme's default port; publicHostname the same without any port.
	publicHost, publicHostname string
}

// New returns the handlers.
func New(opts Options) *Handlers {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Errors == nil {
		opts.Errors = &aadsts.Writer{PublicURL: opts.URLs.Public}
	}
	h := &Handlers{opts: opts}
	if u, err := url.Parse(opts.URLs.Public); err == nil {
		h.publicHost = normalHost(u.Scheme, u.Host)
		h.publicHostname = strings.ToLower(u.Hostname())
	}
	h.docs.reset()
	return h
}

// Register adds every route to mux.
func (h *Handlers) Register(mux *http.ServeMux) {
	for _, rt := range []struct {
		pattern string
		handler http.HandlerFunc
	}{
		{"/{tenant}/v2.0/.well-known/openid-configuration", h.discoveryV2},
		{"/{tenant}/.well-known/openid-configuration", h.discoveryV1},
		{"/{tenant}/discovery/v2.0/keys", h.keysV2},
		{"/{tenant}/discovery/keys", h.keysV1},
		{"/{tenant}/discovery/instance", h.instance},
	} {
		mux.HandleFunc("GET "+rt.pattern, rt.handler)
		mux.HandleFunc("OPTIONS "+rt.pattern, preflight)
	}
	mux.HandleFunc("GET /error", h.errorPage)
}

// URLs builds every URL and issuer from the public base URL.
type URLs struct {
	// Public is the base of endpoints and v2 issuers, e.g. https://localhost:8443.
	Public string
	// V1IssuerBase is the base of v1 issuers (Entra: https://sts.windows.net).
	V1IssuerBase string
}

// IssuerV2 is a tenant's v2 issuer, {public}/{tid}/v2.0 — equal to its
// discovery base, as go-oidc, openid-client and Auth.js require.
func (u URLs) IssuerV2(tenantID string) string { return u.Public + "/" + tenantID + "/v2.0" }

// IssuerV1 is a tenant's v1 issuer, {v1 base}/{tid}/ (with Entra's trailing slash).
func (u URLs) IssuerV1(tenantID string) string { return u.V1IssuerBase + "/" + tenantID + "/" }

// templateTenant stands for the tenant in the issuer of alias documents.
const templateTenant = "{tenantid}"

// Headers of every discovery, keys and instance response, as Entra sends them.
// The slices are shared by all responses and never modified.
var (
	hdrJSON         = []string{"application/json; charset=utf-8"}
	hdrCacheDay     = []string{"max-age=86400, private"}
	hdrAllowAll     = []string{"*"}
	hdrAllowMethods = []string{"GET, OPTIONS"}
)

func setCORS(h http.Header) {
	h["Access-Control-Allow-Origin"] = hdrAllowAll
	h["Access-Control-Allow-Methods"] = hdrAllowMethods
}

// preflight answers CORS preflight requests: the documents are public.
func preflight(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// tenantSegment is the {tenant} path value, lower-cased.
func tenantSegment(r *http.Request) string {
	return strings.ToLower(r.PathValue("tenant"))
}

// fail writes err as an Entra JSON error, with the CORS headers the
// endpoints' successes carry so browser clients can read it. Errors that are
// not already AADSTS errors come from reading the store: the database is
// unavailable, so they are answered 503 and logged with the trace id.
func (h *Handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *aadsts.Error
	if !errors.As(err, &e) {
		e = aadsts.New(aadsts.TemporarilyUnavailable).Wrap(err)
	}
	if e.Status() >= 500 && r.Context().Err() == nil {
		h.opts.Logger.ErrorContext(r.Context(), "request failed", "trace_id", aadsts.TraceID(r), "code", e.Code, "err", err)
	}
	setCORS(w.Header())
	h.opts.Errors.WriteJSON(w, r, e)
}

// tenantError converts a directory.ResolveTenant error.
func tenantError(seg string, err error) error {
	if errors.Is(err, directory.ErrTenantNotFound) {
		return aadsts.New(aadsts.TenantNotFound, seg)
	}
	return err
}
