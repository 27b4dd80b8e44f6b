package authorize

import (
	"context"
	"net/http"
	"slices"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/ui"
)

// issue answers the request once the user is signed in and has consented:
// with a code, tokens, or both (hybrid), in that order as Entra sends them,
// then client_info when asked for, state and session_state.
func (h *Handler) issue(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, u store.User, s store.Session) {
	if f.Device != "" {
		h.approveDevice(w, r, f, app, u, s)
		return
	}
	ctx := r.Context()
	req := f.Req
	var params [][2]string
	code := ""
	if req.wants(TypeCode) {
		var err error
		if code, err = h.newCode(ctx, f, app, u, s); err != nil {
			h.fail(w, r, f, err)
			return
		}
		params = append(params, [2]string{"code", code})
	}
	if req.returnsTokens() {
		p, err := h.implicitTokens(r, f, app, u, s, code)
		if err != nil {
			h.fail(w, r, f, err)
			return
		}
		params = append(params, p...)
	}
	if req.ClientInfo {
		params = append(params, [2]string{"client_info", claims.ClientInfoFor(u)})
	}
	if _, err := h.opts.Sessions.Used(ctx, s, app.AppID); err != nil {
		h.fail(w, r, f, err)
		return
	}
	if !f.Fresh {
		// Password sign-ins are logged by authn; single sign-on is logged here.
		h.opts.Authn.Record(ctx, authn.Event{
			TenantID: f.TenantID, User: u, AppID: app.AppID, AppDisplayName: app.DisplayName,
			IP: clientIP(r), CorrelationID: req.CorrelationID,
		})
	}
	if req.State != "" {
		params = append(params, [2]string{"state", req.State})
	}
	params = append(params, [2]string{"session_state", session.State(s)})
	h.respond(w, r, f, params)
}

// newCode makes and stores an authorization code. Only its hash is stored;
// the code itself exists in the response alone.
func (h *Handler) newCode(ctx context.Context, f *flow, app store.Application, u store.User, s store.Session) (string, error) {
	now := h.opts.Now().UTC()
	code := ids.RandomToken(32)
	req := f.Req
	c := store.AuthorizationCode{
		ID:                  store.HashToken(code),
		TenantID:            f.TenantID,
		ClientID:            app.AppID,
		RedirectURI:         req.RedirectURI,
		Platform:            req.Platform,
		UserID:              u.ID,
		SessionID:           s.ID,
		Scope:               req.Scope,
		Resource:            req.Resource,
		EndpointVersion:     req.Version,
		Nonce:               req.Nonce,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod,
		ClaimsRequest:       req.Claims,
		AuthTime:            f.AuthTime,
		AuthMethods:         slices.Clone(f.Methods),
		IssuedAt:            now,
		ExpiresAt:           now.Add(h.opts.CodeLifetime),
	}
	if err := h.opts.Store.CreateAuthorizationCode(ctx, c); err != nil {
		return "", err
	}
	return code, nil
}

// redirectError sends an error to the app: error, error_description in
// Entra's form (code, message, trace and correlation ids, timestamp), state.
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, f *flow, e *aadsts.Error) {
	if f.Device != "" {
		h.deviceFailed(w, r, f, e)
		return
	}
	d := h.opts.Errors.Details(r, e, f.Req.CorrelationID)
	params := [][2]string{{"error", d.Error}, {"error_description", d.Description}}
	if f.Req.State != "" {
		params = append(params, [2]string{"state", f.Req.State})
	}
	h.respond(w, r, f, params)
}

// respond delivers params to the redirect URI in the response mode: in the
// query or fragment of a redirect, or as an auto-submitted form.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, f *flow, params [][2]string) {
	req := f.Req
	if req.ResponseMode == ModeFormPost {
		page := ui.FormPost{Title: "Working...", Action: req.RedirectURI}
		for _, p := range params {
			page.Fields = append(page.Fields, ui.Field{Name: p[0], Value: p[1]})
		}
		c := ui.CSP{Script: true, NoSelfForm: true}
		if o := ui.Origin(req.RedirectURI); o != "" {
			c.FormAction = []string{o}
			// A prompt=none answer is what an app's hidden iframe loads to
			// renew tokens silently; it shows nothing to click, so the
			// app's own origin may frame it. Every page a user acts on
			// stays unframeable.
			if req.Prompt == PromptNone {
				c.FrameAncestors = []string{o}
			}
		}
		if err := ui.Render(w, http.StatusOK, ui.PageFormPost, page, c); err != nil {
			h.opts.Logger.ErrorContext(r.Context(), "render", "page", ui.PageFormPost, "err", err)
		}
		return
	}
	h2 := w.Header()
	h2.Set("Cache-Control", "no-store")
	h2.Set("Pragma", "no-cache")
	h2.Set("Referrer-Policy", "no-referrer")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, appendParams(req.RedirectURI, req.ResponseMode, params), status)
}

// page shows an error on Entrance's error page.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, corrID string, pe *pageError) {
	e := pe.err
	if e.Status() >= 500 && r.Context().Err() == nil {
		h.opts.Logger.ErrorContext(r.Context(), "sign-in failed", "trace_id", aadsts.TraceID(r), "code", e.Code, "err", e)
	}
	d := h.opts.Errors.Details(r, e, corrID)
	data := ui.Error{
		Title: "Sign in", Code: e.Code, Message: d.Message, Hint: d.Hint,
		TraceID: d.TraceID, CorrelationID: d.CorrelationID, Timestamp: d.Timestamp, ErrorURI: d.ErrorURI,
		RedirectURI: pe.redirectURI, Registered: pe.registered,
	}
	w.Header().Set("X-Ms-Request-Id", d.TraceID)
	if err := ui.Render(w, e.Status(), ui.PageError, data, ui.CSP{NoSelfForm: true}); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "render", "page", ui.PageError, "err", err)
	}
}
