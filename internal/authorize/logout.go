package authorize

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/ui"
)

// logout is the end-session endpoint, v1 and v2, GET and POST. It ends the
// browser's SSO sessions — of the tenant in the path, or all of them on
// common and organizations — or, with a logout_hint naming one account, only
// that account's sign-in. The signed-out page then loads every app the
// session signed in to at its web.logoutUrl in a hidden iframe (front-channel
// single sign-out), and sends the browser on to post_logout_redirect_uri
// only when that is exactly a redirect URI registered for one of those apps
// (or for client_id's app): anything else would make the endpoint an open
// redirector, so the browser stays on the signed-out page.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, "request")})
		return
	}
	ctx := r.Context()
	corrID := correlationID(r)
	seg := strings.ToLower(r.PathValue("tenant"))
	tenantID := ""
	if seg != directory.AliasCommon && seg != directory.AliasOrganizations {
		t, err := directory.ResolveTenant(ctx, h.opts.Store, seg)
		if errors.Is(err, directory.ErrTenantNotFound) {
			h.page(w, r, corrID, &pageError{err: aadsts.New(aadsts.TenantNotFound, seg)})
			return
		}
		if err != nil {
			h.page(w, r, corrID, &pageError{err: h.internal(r, err)})
			return
		}
		tenantID = t.ID
	}

	loaded, err := h.opts.Sessions.Load(ctx, w, r)
	if err != nil {
		h.page(w, r, corrID, &pageError{err: h.internal(r, err)})
		return
	}
	var sessions []store.Session
	for _, s := range loaded {
		if tenantID == "" || s.TenantID == tenantID {
			sessions = append(sessions, s)
		}
	}
	ended, err := h.endSessions(r, w, sessions, r.Form.Get("logout_hint"))
	if err != nil {
		h.page(w, r, corrID, &pageError{err: h.internal(r, err)})
		return
	}

	// The apps of the ended sessions, and client_id's app, may receive the
	// browser afterwards; only the session's apps are told to sign out.
	var appIDs []string
	for _, s := range ended {
		for _, id := range s.Apps {
			if !slices.Contains(appIDs, id) {
				appIDs = append(appIDs, id)
			}
		}
	}
	page := ui.SignedOut{Title: "Signed out"}
	c := ui.CSP{NoSelfForm: true}
	target := r.Form.Get("post_logout_redirect_uri")
	allowed := false
	for _, id := range appIDs {
		app, err := h.opts.Store.GetApplicationByAppID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			h.page(w, r, corrID, &pageError{err: h.internal(r, err)})
			return
		}
		if u := app.Web.LogoutURL; u != "" && !slices.Contains(page.FrontChannel, u) {
			page.FrontChannel = append(page.FrontChannel, u)
			if o := ui.Origin(u); o != "" && !slices.Contains(c.FrameSrc, o) {
				c.FrameSrc = append(c.FrameSrc, o)
			}
		}
		allowed = allowed || registered(app, target)
	}
	if clientID := strings.ToLower(r.Form.Get("client_id")); !allowed && target != "" && clientID != "" {
		if app, err := h.opts.Store.GetApplicationByAppID(ctx, clientID); err == nil {
			allowed = registered(app, target)
		}
	}
	if allowed {
		page.RedirectURI = target
		if st := r.Form.Get("state"); st != "" {
			page.RedirectURI = appendParams(target, ModeQuery, [][2]string{{"state", st}})
		}
	}
	if err := ui.Render(w, http.StatusOK, ui.PageSignedOut, page, c); err != nil {
		h.opts.Logger.ErrorContext(ctx, "render", "page", ui.PageSignedOut, "err", err)
	}
}

// endSessions ends the sessions, or only the hinted account's sign-in when
// logout_hint names an account in one of them. It returns the sessions
// whose apps must be told.
func (h *Handler) endSessions(r *http.Request, w http.ResponseWriter, sessions []store.Session, hint string) ([]store.Session, error) {
	ctx := r.Context()
	if hint != "" {
		accounts, err := h.opts.Sessions.Accounts(ctx, sessions)
		if err != nil {
			return nil, err
		}
		for _, a := range accounts {
			if matchesHint(a, hint) {
				return []store.Session{a.Session}, h.opts.Sessions.SignOut(ctx, w, a.Session, a.User.ID)
			}
		}
	}
	return sessions, h.opts.Sessions.End(ctx, w, sessions)
}

// registered reports whether uri is exactly one of app's redirect URIs.
func registered(app store.Application, uri string) bool {
	return uri != "" && slices.Contains(registeredURIs(app), uri)
}
