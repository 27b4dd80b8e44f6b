package b2c

import (
	"errors"
	"net/http"
	"strings"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/ui"
)

// logout is a user flow's end_session_endpoint (seed 003): it ends the
// browser's session with the tenant and sends the browser to
// post_logout_redirect_uri, with state, when that is a redirect URI of an
// app the session signed in to (or of client_id's app) — anything else would
// make the endpoint an open redirector, so the browser then stays on the
// signed-out page, as it does when no URI is given.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request, e endpoint) {
	corr := correlationID(r)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, corr, b2cErr(codeBadState))
		return
	}
	ctx := r.Context()
	t, err := h.resolve(ctx, e)
	if err != nil {
		h.errorPage(w, r, corr, err)
		return
	}
	loaded, err := h.opts.Sessions.Load(ctx, w, r)
	if err != nil {
		h.errorPage(w, r, corr, err)
		return
	}
	var ended []store.Session
	for _, s := range loaded {
		if s.TenantID == t.tenant.ID {
			ended = append(ended, s)
		}
	}
	if err := h.opts.Sessions.End(ctx, w, ended); err != nil {
		h.errorPage(w, r, corr, err)
		return
	}

	target := r.Form.Get("post_logout_redirect_uri")
	appIDs := []string{}
	for _, s := range ended {
		appIDs = append(appIDs, s.Apps...)
	}
	if c := strings.ToLower(r.Form.Get("client_id")); c != "" {
		appIDs = append(appIDs, c)
	}
	allowed := false
	for _, id := range appIDs {
		if target == "" || allowed {
			break
		}
		app, err := h.opts.Store.GetApplicationByAppID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			h.errorPage(w, r, corr, err)
			return
		}
		_, ok := redirectPlatform(app, target)
		allowed = ok && app.TenantID == t.tenant.ID
	}
	if allowed {
		if st := r.Form.Get("state"); st != "" {
			target = appendParams(target, "query", [][2]string{{"state", st}})
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	if err := ui.Render(w, http.StatusOK, ui.PageSignedOut, ui.SignedOut{Title: "Signed out"}, ui.CSP{NoSelfForm: true}); err != nil {
		h.opts.Logger.ErrorContext(ctx, "render", "page", ui.PageSignedOut, "err", err)
	}
}
