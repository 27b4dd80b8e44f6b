// Package authorize serves Entra's interactive endpoints: authorize (v1 and
// v2, GET and POST), the sign-in pages it leads through (username, password,
// account picker, consent), and sign-out with front-channel logout.
//
// A request is checked in two stages. Until the app and its redirect URI are
// known to belong together, failures are shown on Entrance's error page and
// never redirected (an attacker must not be able to send users, or codes, to
// a URI of their choosing). After that, failures go to the redirect URI in
// the response mode, as Entra's do: error, error_description, state.
package authorize

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/reqinfo"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/ui"
)

// Options are what the handlers need.
type Options struct {
	Store    store.Store
	Sessions *session.Manager
	Authn    *authn.Authenticator
	Consent  Consent
	// Issuer issues the tokens of implicit and hybrid responses, the same
	// way the token endpoint issues its own.
	Issuer *tokens.Issuer
	Errors *aadsts.Writer
	CSRF   *ui.CSRF
	// FlowKey (32 bytes, the same on every replica) seals the state of
	// sign-ins in progress.
	FlowKey []byte
	// CodeLifetime is how long an authorization code may be redeemed.
	// Default 10 minutes (Entra's).
	CodeLifetime time.Duration
	// FlowLifetime is how long a user may take on the sign-in pages.
	// Default 1 hour.
	FlowLifetime time.Duration
	Logger       *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultCodeLifetime = 10 * time.Minute
	DefaultFlowLifetime = time.Hour
)

// Handler serves the endpoints.
type Handler struct {
	opts   Options
	sealer *sealer
}

// New returns the handlers.
func New(opts Options) (*Handler, error) {
	if opts.Store == nil || opts.Sessions == nil || opts.Authn == nil || opts.Consent == nil || opts.CSRF == nil || opts.Issuer == nil {
		return nil, errors.New("authorize: Store, Sessions, Authn, Consent, CSRF and Issuer are required")
	}
	s, err := newSealer(opts.FlowKey)
	if err != nil {
		return nil, err
	}
	if opts.CodeLifetime <= 0 {
		opts.CodeLifetime = DefaultCodeLifetime
	}
	if opts.FlowLifetime <= 0 {
		opts.FlowLifetime = DefaultFlowLifetime
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Errors == nil {
		opts.Errors = &aadsts.Writer{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{opts: opts, sealer: s}, nil
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, m := range []string{"GET ", "POST "} {
		mux.HandleFunc(m+"/{tenant}/oauth2/v2.0/authorize", h.authorize("2.0"))
		mux.HandleFunc(m+"/{tenant}/oauth2/authorize", h.authorize("1.0"))
		mux.HandleFunc(m+"/{tenant}/oauth2/v2.0/logout", h.logout)
		mux.HandleFunc(m+"/{tenant}/oauth2/logout", h.logout)
	}
	mux.HandleFunc("POST /{tenant}/login", h.login)
	h.registerDevice(mux)
	mux.HandleFunc("GET /static/entrance.css", ui.Static)
}

// authorize is the authorize endpoint of one version.
func (h *Handler) authorize(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, "request")})
			return
		}
		ctx := r.Context()
		req := Request{
			Version:       version,
			PathTenant:    strings.ToLower(r.PathValue("tenant")),
			CorrelationID: correlationID(r),
		}
		app, perr, err := h.client(ctx, &req, r.Form)
		if err != nil {
			h.page(w, r, req.CorrelationID, &pageError{err: h.internal(r, err)})
			return
		}
		if perr != nil {
			h.page(w, r, req.CorrelationID, perr)
			return
		}
		browser := h.opts.CSRF.Browser(w, r)
		r = withBrowser(r, browser)
		f := &flow{
			Req:      req,
			Browser:  store.HashToken(browser),
			Expires:  h.opts.Now().Add(h.opts.FlowLifetime).Unix(),
			TenantID: req.TenantID,
		}
		if e := params(&f.Req, r.Form, app); e != nil {
			h.redirectError(w, r, f, e)
			return
		}
		h.choose(w, r, f, app)
	}
}

// choose decides how the user signs in: from an account already signed in
// to the browser (single sign-on), by picking one, or with credentials.
func (h *Handler) choose(w http.ResponseWriter, r *http.Request, f *flow, app store.Application) {
	accounts, err := h.accounts(w, r, f)
	if err == nil {
		accounts, err = h.hinted(r.Context(), f.Req, accounts)
	}
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	req := f.Req
	none := req.Prompt == PromptNone
	switch req.Prompt {
	case PromptLogin:
		h.askCredentials(w, r, f, app, req.LoginHint)
		return
	case PromptSelectAccount:
		if len(accounts) > 0 {
			h.showPicker(w, r, f, app, accounts, "")
		} else {
			h.askCredentials(w, r, f, app, req.LoginHint)
		}
		return
	}
	if req.LoginHint != "" || req.SID != "" {
		for _, a := range accounts {
			if req.names(a) {
				h.useAccount(w, r, f, app, a)
				return
			}
		}
		if none {
			h.redirectError(w, r, f, aadsts.New(aadsts.SilentSignInNoSession))
			return
		}
		h.askCredentials(w, r, f, app, req.LoginHint)
		return
	}
	switch {
	case len(accounts) == 1:
		h.useAccount(w, r, f, app, accounts[0])
	case len(accounts) == 0 && none:
		h.redirectError(w, r, f, aadsts.New(aadsts.SilentSignInNoSession))
	case len(accounts) == 0:
		h.askCredentials(w, r, f, app, "")
	case none:
		h.redirectError(w, r, f, aadsts.New(aadsts.InteractionRequired))
	default:
		h.showPicker(w, r, f, app, accounts, "")
	}
}

// accounts are the browser's signed-in accounts that may answer the request:
// those of the request's tenant, or of any tenant on common/organizations.
func (h *Handler) accounts(w http.ResponseWriter, r *http.Request, f *flow) ([]session.Account, error) {
	sessions, err := h.opts.Sessions.Load(r.Context(), w, r)
	if err != nil {
		return nil, err
	}
	all, err := h.opts.Sessions.Accounts(r.Context(), sessions)
	if err != nil {
		return nil, err
	}
	var out []session.Account
	for _, a := range all {
		if f.Req.TenantID == "" || a.Session.TenantID == f.Req.TenantID {
			out = append(out, a)
		}
	}
	return out, nil
}

// hinted keeps the accounts domain_hint points at, which is how an app
// renewing tokens silently says which of several sessions it means:
// "organizations" is every work account (all of Entrance's), "consumers"
// the personal-account tenant, a domain or tenant ID that tenant. A hint
// naming no tenant here narrows nothing, as Entra then falls back to
// asking the user.
func (h *Handler) hinted(ctx context.Context, req Request, accounts []session.Account) ([]session.Account, error) {
	hint := strings.ToLower(req.DomainHint)
	tenant := ""
	switch hint {
	case "", directory.AliasOrganizations, directory.AliasCommon:
		return accounts, nil
	case directory.AliasConsumers:
		tenant = directory.ConsumersTenantID
	default:
		t, err := directory.ResolveTenant(ctx, h.opts.Store, hint)
		if errors.Is(err, directory.ErrTenantNotFound) {
			return accounts, nil
		}
		if err != nil {
			return nil, err
		}
		tenant = t.ID
	}
	var out []session.Account
	for _, a := range accounts {
		if a.Session.TenantID == tenant {
			out = append(out, a)
		}
	}
	return out, nil
}

// names reports whether the request names account a: by the sid of an
// earlier ID token when it sends one, else by login_hint.
func (req Request) names(a session.Account) bool {
	if req.SID != "" {
		return strings.EqualFold(claims.SessionSID(a.Session.ID), req.SID)
	}
	return matchesHint(a, req.LoginHint)
}

// matchesHint reports whether a login_hint (or logout_hint) names the
// account: the opaque login_hint claim value (it names the home account), or
// the username as the user types it (UPN, a guest's home UPN, or email).
func matchesHint(a session.Account, hint string) bool {
	u := a.User
	if oid, _, _, ok := claims.ParseLoginHint(hint); ok {
		home := u.ID
		if u.HomeUserID != "" {
			home = u.HomeUserID
		}
		return strings.EqualFold(oid, home)
	}
	return strings.EqualFold(u.UserPrincipalName, hint) || strings.EqualFold(claims.Username(u), hint) ||
		(u.Mail != "" && strings.EqualFold(u.Mail, hint))
}

// useAccount continues with an account signed in to the browser, unless
// max_age says its sign-in is too old.
func (h *Handler) useAccount(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, a session.Account) {
	if f.Req.MaxAge >= 0 && h.opts.Now().Sub(a.AuthTime) > time.Duration(f.Req.MaxAge)*time.Second {
		if f.Req.Prompt == PromptNone {
			h.redirectError(w, r, f, aadsts.New(aadsts.SilentSignInNoSession))
			return
		}
		f.forget()
		f.Username, f.TenantID = a.User.UserPrincipalName, a.Session.TenantID
		h.showPassword(w, r, f, app, "")
		return
	}
	f.TenantID, f.UserID, f.SessionID = a.Session.TenantID, a.User.ID, a.Session.ID
	f.AuthTime, f.Methods = a.AuthTime, a.AuthMethods
	h.signedIn(w, r, f, app, a.User, a.Session)
}

// signedIn runs once the user is known: consent, then the code.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, u store.User, s store.Session) {
	ctx := r.Context()
	q := ConsentQuery{TenantID: f.TenantID, Client: app, User: u, Scope: f.Req.Scope, Resource: f.Req.Resource}
	check, err := h.opts.Consent.Check(ctx, q)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if check.NotAssigned {
		h.redirectError(w, r, f, aadsts.New(aadsts.UserNotAssigned, app.DisplayName, app.AppID, u.UserPrincipalName).WithOAuthError("access_denied"))
		return
	}
	if len(check.Missing) > 0 || f.Req.Prompt == PromptConsent {
		if f.Req.Prompt == PromptNone {
			h.redirectError(w, r, f, aadsts.New(aadsts.ConsentRequired, app.AppID, app.DisplayName).WithOAuthError("consent_required"))
			return
		}
		h.showConsent(w, r, f, app, u, check)
		return
	}
	h.issue(w, r, f, app, u, s)
}

// internal turns an unexpected error (the store failing) into the error the
// user sees, and logs it with the trace id.
func (h *Handler) internal(r *http.Request, err error) *aadsts.Error {
	var e *aadsts.Error
	if errors.As(err, &e) {
		return e
	}
	if r.Context().Err() == nil {
		h.opts.Logger.ErrorContext(r.Context(), "sign-in failed", "trace_id", aadsts.TraceID(r), "err", err)
	}
	return aadsts.New(aadsts.TemporarilyUnavailable).Wrap(err)
}

// fail answers an error after the redirect URI is validated: at the app.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, f *flow, err error) {
	h.redirectError(w, r, f, h.internal(r, err))
}

// clientIP is the caller's address as the server middleware worked it out.
func clientIP(r *http.Request) string {
	if info := reqinfo.From(r.Context()); info != nil {
		return info.ClientIP
	}
	return r.RemoteAddr
}
