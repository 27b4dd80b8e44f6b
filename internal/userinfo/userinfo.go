// Package userinfo is Entrance's stand-in for the parts of Microsoft Graph
// that sign-in needs: the OpenID Connect userinfo endpoint (GET or POST
// /oidc/userinfo, which Entra serves from Graph), GET /v1.0/me, and POST
// /v1.0/{me,users/{id}}/getMemberObjects (where a groups overage points). All take
// an access token issued for Entrance's Graph resource, verified like any
// API verifies Entrance's tokens, and answer in Graph's shapes — errors
// included.
package userinfo

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/jwtverify"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/store"
)

// Options are what the handlers need.
type Options struct {
	Store store.Store
	Keys  *keys.Manager
	URLs  URLs
	// PublicURL is the server's base URL (Graph's @odata.context and the
	// authorization_uri of WWW-Authenticate point at it).
	PublicURL string
	// Subject is the pairwise sub of a user for a client (the ID token's).
	Subject func(userID, appID, tenantID string) string
	// Verifier verifies bearer tokens; nil makes one from Store, Keys, URLs,
	// ClockSkew and Now. Pass the server's one so that every endpoint shares
	// its key cache.
	Verifier *jwtverify.Verifier
	// ClockSkew is how far exp and nbf may be off. Default 5 minutes.
	ClockSkew time.Duration
	Logger    *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// URLs gives the issuers a tenant's tokens carry.
type URLs interface {
	IssuerV1(tenantID string) string
	IssuerV2(tenantID string) string
}

// Handler serves userinfo and /v1.0/me.
type Handler struct {
	opts     Options
	verifier *jwtverify.Verifier
}

// New returns the handler.
func New(opts Options) *Handler {
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := opts.Verifier
	if v == nil {
		v = jwtverify.New(jwtverify.Options{Store: opts.Store, Keys: opts.Keys, URLs: opts.URLs, ClockSkew: opts.ClockSkew, Now: opts.Now})
	}
	return &Handler{opts: opts, verifier: v}
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /oidc/userinfo", h.userinfo)
	mux.HandleFunc("POST /oidc/userinfo", h.userinfo)
	mux.HandleFunc("OPTIONS /oidc/userinfo", preflight)
	mux.HandleFunc("GET /v1.0/me", h.me)
	mux.HandleFunc("OPTIONS /v1.0/me", preflight)
	// Lower case: the server lower-cases paths before routing, as Graph and
	// Entra match them case-insensitively.
	mux.HandleFunc("POST /v1.0/me/getmemberobjects", h.getMemberObjects)
	mux.HandleFunc("POST /v1.0/users/{id}/getmemberobjects", h.getMemberObjects)
	mux.HandleFunc("OPTIONS /v1.0/me/getmemberobjects", preflight)
	mux.HandleFunc("OPTIONS /v1.0/users/{id}/getmemberobjects", preflight)
}

// userinfoResponse is the body, in Graph's field order.
type userinfoResponse struct {
	Sub        string `json:"sub"`
	Name       string `json:"name,omitempty"`
	FamilyName string `json:"family_name,omitempty"`
	GivenName  string `json:"given_name,omitempty"`
	Picture    string `json:"picture,omitempty"`
	Email      string `json:"email,omitempty"`
}

// userinfo answers the OpenID Connect userinfo request. sub is the pairwise
// subject of the user for the client the token was issued to, so it equals
// the sub of that client's ID token, as OpenID Connect requires. Profile
// claims need the profile scope and email the email scope — or User.Read,
// which lets the client read all of them from /me anyway.
func (h *Handler) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, u, ok := h.user(w, r)
	if !ok {
		return
	}
	out := userinfoResponse{Sub: h.opts.Subject(u.ID, tok.client(), u.TenantID)}
	if tok.hasScope(directory.ScopeProfile, "User.Read") {
		out.Name, out.FamilyName, out.GivenName = u.DisplayName, u.Surname, u.GivenName
	}
	if tok.hasScope(directory.ScopeEmail, "User.Read") {
		out.Email = u.Mail
	}
	writeJSON(w, r, http.StatusOK, out)
}

// meResponse is Graph's default user projection, in Graph's order; what the
// directory does not hold is null, as Graph shows it.
type meResponse struct {
	ODataContext      string   `json:"@odata.context"`
	BusinessPhones    []string `json:"businessPhones"`
	DisplayName       *string  `json:"displayName"`
	GivenName         *string  `json:"givenName"`
	JobTitle          *string  `json:"jobTitle"`
	Mail              *string  `json:"mail"`
	MobilePhone       *string  `json:"mobilePhone"`
	OfficeLocation    *string  `json:"officeLocation"`
	PreferredLanguage *string  `json:"preferredLanguage"`
	Surname           *string  `json:"surname"`
	UserPrincipalName string   `json:"userPrincipalName"`
	ID                string   `json:"id"`
}

// readUserScopes are the delegated Graph permissions that allow GET /me.
var readUserScopes = []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}

// me answers GET /v1.0/me: the signed-in user, as Graph returns it.
func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	tok, u, ok := h.user(w, r)
	if !ok {
		return
	}
	if !tok.hasScope(readUserScopes...) {
		graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	writeJSON(w, r, http.StatusOK, meResponse{
		ODataContext:      h.opts.PublicURL + "/v1.0/$metadata#users/$entity",
		BusinessPhones:    []string{},
		DisplayName:       nullable(u.DisplayName),
		GivenName:         nullable(u.GivenName),
		Mail:              nullable(u.Mail),
		Surname:           nullable(u.Surname),
		UserPrincipalName: u.UserPrincipalName,
		ID:                u.ID,
	})
}

// user verifies the bearer token and loads its user, answering the failure
// itself (ok false) as Graph does.
func (h *Handler) user(w http.ResponseWriter, r *http.Request) (accessToken, store.User, bool) {
	setCORS(w.Header())
	tok, err := h.bearer(r.Context(), r)
	var ae *authError
	switch {
	case errors.As(err, &ae):
		h.unauthorized(w, r, ae.msg)
		return tok, store.User{}, false
	case err != nil:
		h.unavailable(w, r, err)
		return tok, store.User{}, false
	case tok.Oid == "" || tok.Scp == "":
		// An app-only token (client credentials) has no signed-in user.
		graphError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return tok, store.User{}, false
	}
	u, err := h.opts.Store.GetUser(r.Context(), strings.ToLower(tok.Tid), strings.ToLower(tok.Oid))
	switch {
	case errors.Is(err, store.ErrNotFound):
		graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+tok.Oid+"' does not exist or one of its queried reference-property objects are not present.")
		return tok, u, false
	case err != nil:
		h.unavailable(w, r, err)
		return tok, u, false
	case !u.AccountEnabled:
		h.unauthorized(w, r, "The user account is disabled.")
		return tok, u, false
	}
	return tok, u, true
}

// unauthorized is Graph's 401: a Bearer challenge naming where to get a
// token, and InvalidAuthenticationToken.
func (h *Handler) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+h.opts.PublicURL+`/common/oauth2/authorize", client_id="`+directory.GraphAppID+`"`)
	graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
}

func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		h.opts.Logger.ErrorContext(r.Context(), "graph request failed", "trace_id", aadsts.TraceID(r), "err", err)
	}
	graphError(w, r, http.StatusServiceUnavailable, "serviceNotAvailable", "The service is temporarily unavailable. Please try again.")
}

// graphError writes Graph's error body:
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
func graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	type inner struct {
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type errBody struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError inner  `json:"innerError"`
	}
	writeJSON(w, r, status, struct {
		Error errBody `json:"error"`
	}{errBody{code, msg, inner{
		Date:            time.Now().UTC().Format("2006-01-02T15:04:05"),
		RequestID:       aadsts.TraceID(r),
		ClientRequestID: aadsts.CorrelationID(r),
	}}})
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // plain strings: cannot fail
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if c := r.Header.Get("Client-Request-Id"); ids.IsGUID(c) {
		h.Set("Client-Request-Id", c)
	}
	h.Set("Request-Id", aadsts.TraceID(r))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Graph answers browsers from any origin: the bearer token, not a cookie,
// is the credential.
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, request-id, client-request-id")
}

func preflight(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, client-request-id")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}
