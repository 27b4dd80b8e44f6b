// Package token is the token endpoint: v2 POST /{tenant}/oauth2/v2.0/token
// and v1 POST /{tenant}/oauth2/token. A request goes
//
//	parse (request.go) → grant (one file each: grant_code.go, grant_refresh.go, …)
//	  → client authentication (clientauth.go, assertion.go) as the grant requires
//	  → issuing (internal/tokens) → Entra's JSON (response.go)
//
// Every failure is an AADSTS error from internal/aadsts, written in Entra's
// JSON shape. Grants that later releases add (client_credentials,
// on-behalf-of, device code, ROPC) are one file and one line in New each.
package token

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/jwtverify"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// Grant type values of the grant_type parameter.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// Options are what the endpoint needs. Zero durations take Entra's defaults.
type Options struct {
	// Observe, if set, is told of every token request by grant type and
	// result (the AADSTS code, 0 for tokens issued), for metrics.
	Observe func(grantType string, errorCode int)
	Store   store.Store
	Issuer  *tokens.Issuer
	// SecretHasher checks client secrets against their stored hashes.
	SecretHasher *secrets.ClientSecretHasher
	// PublicURL is the server's base URL: client assertions must name one of
	// its token endpoints as their audience.
	PublicURL string
	Errors    *aadsts.Writer
	Logger    *slog.Logger
	// SingleUseRefreshTokens makes a refresh token usable once: a second
	// redemption fails with AADSTS70008. Entra keeps old refresh tokens valid
	// after use (the default), and clients that refresh concurrently rely on
	// it; turn this on for stricter rotation (OAuth 2.0 Security BCP §4.14).
	SingleUseRefreshTokens bool
	// AssertionClockSkew is how far a client assertion's exp and nbf may be
	// off. Default 5 minutes.
	AssertionClockSkew time.Duration
	// Authn checks passwords for the password grant (the sign-in page's
	// lockout and sign-in log); nil refuses that grant.
	Authn *authn.Authenticator
	// Verifier checks the user assertion of the on-behalf-of grant; nil
	// refuses that grant.
	Verifier *jwtverify.Verifier
	// DirectoryCacheTTL is how often the client credentials grant checks
	// whether the directory changed before using what it read from it
	// before (default 1 second; negative: no cache, every grant reads the
	// directory on every request). The grants that act for a user check on
	// every request (see dirCache).
	DirectoryCacheTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultAssertionClockSkew is the default Options.AssertionClockSkew.
const DefaultAssertionClockSkew = 5 * time.Minute

// Handler serves the token endpoint.
type Handler struct {
	opts   Options
	grants map[string]grantFunc
	cache  *dirCache
}

// grantFunc runs one grant type: it authenticates the client as the grant
// requires and returns the tokens to answer with.
type grantFunc func(ctx context.Context, req *request) (*result, error)

// New returns the handler.
func New(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Errors == nil {
		opts.Errors = &aadsts.Writer{PublicURL: opts.PublicURL}
	}
	if opts.AssertionClockSkew <= 0 {
		opts.AssertionClockSkew = DefaultAssertionClockSkew
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DirectoryCacheTTL == 0 {
		opts.DirectoryCacheTTL = DefaultDirectoryCacheTTL
	}
	h := &Handler{opts: opts, cache: newDirCache(opts.Store, opts.DirectoryCacheTTL, opts.Now)}
	// One entry per grant; any other grant_type is AADSTS70003.
	h.grants = map[string]grantFunc{
		GrantAuthorizationCode: h.authorizationCode,
		GrantRefreshToken:      h.refreshToken,
		GrantClientCredentials: h.clientCredentials,
		GrantDeviceCode:        h.deviceCode,
		GrantDeviceCodeShort:   h.deviceCode,
	}
	if opts.Verifier != nil {
		h.grants[GrantJWTBearer] = h.onBehalfOf
	}
	if opts.Authn != nil {
		h.grants[GrantPassword] = h.password
	}
	return h
}

// Register adds the endpoint's routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, v2) })
	mux.HandleFunc("POST /{tenant}/oauth2/token", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, v1) })
	mux.HandleFunc("OPTIONS /{tenant}/oauth2/v2.0/token", h.preflight)
	mux.HandleFunc("OPTIONS /{tenant}/oauth2/token", h.preflight)
	// Home realm discovery, which MSAL calls before a password grant (as
	// /common/UserRealm/...: the server lower-cases paths before routing).
	mux.HandleFunc("GET /{tenant}/userrealm/{upn}", h.userRealm)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", func(w http.ResponseWriter, r *http.Request) { h.serveDeviceCode(w, r, v2) })
	mux.HandleFunc("POST /{tenant}/oauth2/devicecode", func(w http.ResponseWriter, r *http.Request) { h.serveDeviceCode(w, r, v1) })
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, version string) {
	// A request from an origin no SPA registered is still answered (its
	// grant may refuse it, 9002326), but without CORS headers its page
	// cannot read the answer.
	if _, err := h.allowOrigin(w, r); err != nil {
		h.fail(w, r, err)
		return
	}
	req, err := h.parse(r, version)
	var out *result
	if err == nil {
		grant, ok := h.grants[req.grantType]
		if !ok {
			err = aadsts.New(aadsts.UnsupportedGrantType, req.grantType)
		} else {
			out, err = grant(r.Context(), req)
		}
	}
	if h.opts.Observe != nil && req != nil {
		h.opts.Observe(req.grantType, errorCode(err))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeSuccess(w, r, version, out)
}

// errorCode is err's AADSTS code: 0 for nil, -1 for a failure that is not
// an AADSTS error (a store outage).
func errorCode(err error) int {
	if err == nil {
		return 0
	}
	var e *aadsts.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return -1
}

// fail writes err as Entra's JSON error. Errors that are not AADSTS errors
// come from the store (or, rarely, signing): they are answered 503
// temporarily_unavailable, like the other endpoints, and logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *aadsts.Error
	if !errors.As(err, &e) {
		e = aadsts.New(aadsts.TemporarilyUnavailable).Wrap(err)
	}
	switch {
	case e.Status() >= 500 && r.Context().Err() == nil:
		h.opts.Logger.ErrorContext(r.Context(), "token request failed", "trace_id", aadsts.TraceID(r), "code", e.Code, "err", err)
	case h.opts.Logger.Enabled(r.Context(), slog.LevelDebug):
		h.opts.Logger.DebugContext(r.Context(), "token request refused", "trace_id", aadsts.TraceID(r), "code", e.Code, "err", err)
	}
	h.opts.Errors.WriteJSON(w, r, e)
}
