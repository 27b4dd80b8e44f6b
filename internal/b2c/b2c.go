// Package b2c serves Azure AD B2C's endpoints for a tenant of type b2c: per
// user flow (policy) metadata, keys, authorize, token and logout, and the
// user flow pages — sign-up or sign-in, sign-in, sign-up with an email
// verified by a one-time code, profile edit and password reset.
//
// A policy is named in one of B2C's three URL forms, all served alike:
//
//	/{tenant}/{policy}/oauth2/v2.0/authorize        path form
//	/{tenant}/oauth2/v2.0/authorize?p={policy}      query form (QueryForm)
//	/tfp/{tenant}/{policy}/oauth2/v2.0/authorize    tfp form
//
// where {tenant} is the tenant's GUID or one of its domains and the policy
// is matched case-insensitively. Tokens follow B2C's format
// (internal/claims, B2CIDToken): ver 1.0, sub = object id, the flow's claims,
// issuer {public}/{tid}/v2.0/ or the flow's tfp form. Failures carry B2C's
// AADB2C codes (errors.go).
package b2c

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/protocol"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/ui"
)

// Options are what the endpoints need.
type Options struct {
	Store    store.Store
	Keys     *keys.Manager
	Issuer   *tokens.Issuer
	URLs     protocol.URLs
	Sessions *session.Manager
	// Authn checks passwords: the sign-in pages' lockout and sign-in log.
	Authn        *authn.Authenticator
	CSRF         *ui.CSRF
	SecretHasher *secrets.ClientSecretHasher
	// FlowKey (32 bytes, the same on every replica) seals the state of
	// user flows in progress.
	FlowKey []byte
	// Mail sends email verification codes.
	Mail Sender
	// ShowCodes also shows verification codes on the page: for `entrance
	// dev` and tests, never in production.
	ShowCodes bool
	// CodeLifetime is how long an authorization code may be redeemed
	// (default 10 minutes); FlowLifetime how long a user may take on the
	// pages (default 1 hour).
	CodeLifetime time.Duration
	FlowLifetime time.Duration
	Errors       *aadsts.Writer
	Logger       *slog.Logger
	Now          func() time.Time
}

// Handler serves the B2C endpoints.
type Handler struct {
	opts   Options
	sealer *sealer
}

// New returns the handler.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Keys == nil || opts.Issuer == nil || opts.Sessions == nil || opts.Authn == nil ||
		opts.CSRF == nil || opts.SecretHasher == nil || opts.Mail == nil {
		return nil, errors.New("b2c: Store, Keys, Issuer, Sessions, Authn, CSRF, SecretHasher and Mail are required")
	}
	s, err := newSealer(opts.FlowKey)
	if err != nil {
		return nil, err
	}
	if opts.CodeLifetime <= 0 {
		opts.CodeLifetime = 10 * time.Minute
	}
	if opts.FlowLifetime <= 0 {
		opts.FlowLifetime = time.Hour
	}
	if opts.Errors == nil {
		opts.Errors = &aadsts.Writer{PublicURL: opts.URLs.Public}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{opts: opts, sealer: s}, nil
}

// URL forms of a policy.
type urlForm uint8

const (
	formPath  urlForm = iota // /{tenant}/{policy}/...
	formQuery                // /{tenant}/...?p={policy}
	formTFP                  // /tfp/{tenant}/{policy}/...
)

// Endpoints of a policy.
const (
	epDiscovery = "v2.0/.well-known/openid-configuration"
	epKeys      = "discovery/v2.0/keys"
	epAuthorize = "oauth2/v2.0/authorize"
	epToken     = "oauth2/v2.0/token"
	epLogout    = "oauth2/v2.0/logout"
)

// endpoint is one request to a policy's endpoint.
type endpoint struct {
	form    urlForm
	segment string // the {tenant} value, lower-cased
	policy  string // as requested
	name    string // epDiscovery, ...
}

// Register mounts the path and tfp forms on mux; the query form is served
// by wrapping the mux with QueryForm.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, form := range []urlForm{formPath, formTFP} {
		prefix := "/{tenant}/{policy}/"
		if form == formTFP {
			prefix = "/tfp/{tenant}/{policy}/"
		}
		route := func(methods, ep string) {
			for _, m := range strings.Fields(methods) {
				mux.HandleFunc(m+" "+prefix+ep, func(w http.ResponseWriter, r *http.Request) {
					h.serve(w, r, endpoint{form: form, segment: strings.ToLower(r.PathValue("tenant")), policy: r.PathValue("policy"), name: ep})
				})
			}
		}
		route("GET OPTIONS", epDiscovery)
		route("GET OPTIONS", epKeys)
		route("GET POST", epAuthorize)
		route("POST OPTIONS", epToken)
		route("GET POST", epLogout)
	}
	// The user flow pages post here; the sealed flow says which request.
	mux.HandleFunc("POST /{tenant}/{policy}/api/selfasserted", h.selfAsserted)
}

// QueryForm serves B2C's query form, /{tenant}/oauth2/v2.0/authorize?p=
// (and token, logout, metadata and keys), ahead of next: those paths belong
// to the Entra endpoints unless the tenant is a B2C tenant and p names a
// policy. Everything else goes to next untouched.
func (h *Handler) QueryForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" || !strings.Contains(r.URL.RawQuery, "p=") {
			next.ServeHTTP(w, r)
			return
		}
		seg, ep, ok := tenantEndpoint(r.URL.Path)
		p := r.URL.Query().Get("p")
		if !ok || p == "" {
			next.ServeHTTP(w, r)
			return
		}
		t, err := directory.ResolveTenant(r.Context(), h.opts.Store, seg)
		if err != nil || t.Type != store.TenantTypeB2C {
			next.ServeHTTP(w, r) // not ours: Entra's endpoints answer (or refuse) it
			return
		}
		r.Pattern = "/{tenant}/" + ep + "?p={policy}" // the metrics' route label
		h.serve(w, r, endpoint{form: formQuery, segment: seg, policy: p, name: ep})
	})
}

// tenantEndpoint splits /{tenant}/{endpoint} for the endpoints that have a
// query form.
func tenantEndpoint(path string) (segment, ep string, ok bool) {
	seg, rest, found := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !found || seg == "" {
		return "", "", false
	}
	switch rest {
	case epDiscovery, epKeys, epAuthorize, epToken, epLogout:
		return strings.ToLower(seg), rest, true
	}
	return "", "", false
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, e endpoint) {
	if r.Method == http.MethodOptions {
		preflight(w, r, e)
		return
	}
	switch e.name {
	case epDiscovery:
		h.discovery(w, r, e)
	case epKeys:
		h.keys(w, r, e)
	case epAuthorize:
		h.authorize(w, r, e)
	case epToken:
		h.token(w, r, e)
	case epLogout:
		h.logout(w, r, e)
	}
}

// preflight answers CORS preflight requests: metadata and keys are public,
// and browser apps (MSAL.js) redeem codes at the token endpoint.
func preflight(w http.ResponseWriter, r *http.Request, e endpoint) {
	hd := w.Header()
	if e.name == epToken {
		if o := r.Header.Get("Origin"); o != "" {
			hd.Set("Access-Control-Allow-Origin", o)
			hd.Add("Vary", "Origin")
		}
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type, client-request-id, x-client-sku, x-client-ver, x-client-os, x-client-cpu, x-client-current-telemetry, x-client-last-telemetry, x-app-name, x-app-ver, return-client-request-id")
	} else {
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	}
	hd.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// target is the tenant and user flow a request names.
type target struct {
	tenant store.Tenant
	flow   store.UserFlow
}

// resolve finds the tenant and its user flow. A tenant that is not B2C
// has no user flows.
func (h *Handler) resolve(ctx context.Context, e endpoint) (target, error) {
	t, err := directory.ResolveTenant(ctx, h.opts.Store, e.segment)
	switch {
	case errors.Is(err, directory.ErrTenantNotFound) || errors.Is(err, directory.ErrTenantAlias):
		return target{}, b2cErr(codeTenantNotFound, e.segment)
	case err != nil:
		return target{}, err
	}
	f, ok := directory.FindUserFlow(t, e.policy)
	if !ok || t.Type != store.TenantTypeB2C {
		return target{}, b2cErr(codePolicyNotFound, e.policy, e.segment)
	}
	return target{tenant: t, flow: f}, nil
}

// internal turns an unexpected error (the store failing) into B2C's
// "temporarily unavailable", logged with the trace id.
func (h *Handler) internal(r *http.Request, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if r.Context().Err() == nil {
		h.opts.Logger.ErrorContext(r.Context(), "b2c request failed", "trace_id", aadsts.TraceID(r), "err", err)
	}
	return b2cErr(codeUnavailable).wrap(err)
}
