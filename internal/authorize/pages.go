package authorize

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/ui"
)

// Messages on the sign-in forms, in Entra's words.
const (
	msgNoUsername   = "Enter a valid email address or username."
	msgNoAccount    = "We couldn't find an account with that username. Try another, or ask your administrator for one."
	msgBadPassword  = "Your account or password is incorrect. If you don't remember your password, ask your administrator to reset it."
	msgNoPassword   = "Please enter your password."
	msgLocked       = "Your account is temporarily locked to prevent unauthorized use. Try again later."
	msgDisabled     = "Your account has been locked. Contact your support person to unlock it, then try again."
	msgPickAgain    = "That account is no longer signed in. Pick another, or use another account."
	titleSignIn     = "Sign in"
	titlePassword   = "Enter password"
	titlePick       = "Pick an account"
	titlePermission = "Permissions requested"
)

// form fills what every page form carries. It seals the flow.
func (h *Handler) form(r *http.Request, f *flow, app store.Application, title, msg string) (ui.Form, error) {
	sealed, err := h.sealer.seal(f)
	if err != nil {
		return ui.Form{}, err
	}
	return ui.Form{
		Title: title, AppName: app.DisplayName, Error: msg,
		Action: "/" + f.Req.PathTenant + "/login",
		Flow:   sealed, CSRF: h.opts.CSRF.Token(browserFrom(r)),
	}, nil
}

// The browser's CSRF cookie value travels in the request context from where
// it is read or set (authorize, login) to where forms are built.
type browserKey struct{}

func withBrowser(r *http.Request, v string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), browserKey{}, v))
}

func browserFrom(r *http.Request) string {
	v, _ := r.Context().Value(browserKey{}).(string)
	return v
}

// csp is the policy of the sign-in pages: forms post to us, and the
// redirect that answers the last one goes to the app.
func csp(f *flow) ui.CSP {
	c := ui.CSP{}
	if o := ui.Origin(f.Req.RedirectURI); o != "" {
		c.FormAction = []string{o}
	}
	return c
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, f *flow, page string, data any) {
	if err := ui.Render(w, http.StatusOK, page, data, csp(f)); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "render", "page", page, "err", err)
	}
}

// askCredentials starts a credential sign-in: at the password page when the
// username is known (login_hint), else at the username page.
func (h *Handler) askCredentials(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, hint string) {
	f.forget()
	if _, _, name, ok := claims.ParseLoginHint(hint); ok {
		hint = name // the opaque login_hint claim carries the username
	}
	if hint == "" {
		h.showUsername(w, r, f, app, "", "")
		return
	}
	h.takeUsername(w, r, f, app, hint)
}

func (h *Handler) showUsername(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, username, msg string) {
	fm, err := h.form(r, f, app, titleSignIn, msg)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.render(w, r, f, ui.PageUsername, ui.Username{Form: fm, Username: username})
}

func (h *Handler) showPassword(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, msg string) {
	fm, err := h.form(r, f, app, titlePassword, msg)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.render(w, r, f, ui.PagePassword, ui.Password{Form: fm, Username: f.Username})
}

func (h *Handler) showPicker(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, accounts []session.Account, msg string) {
	f.forget()
	fm, err := h.form(r, f, app, titlePick, msg)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	page := ui.Picker{Form: fm}
	for _, a := range accounts {
		name := a.User.DisplayName
		if name == "" {
			name = a.User.UserPrincipalName
		}
		tenant := ""
		if f.Req.TenantID == "" {
			if t, err := h.opts.Store.GetTenant(r.Context(), a.Session.TenantID); err == nil {
				tenant = t.DisplayName
			}
		}
		page.Accounts = append(page.Accounts, ui.PickerAccount{
			Value: a.Session.TenantID + "." + a.User.ID, Name: name, UPN: a.User.UserPrincipalName, Tenant: tenant,
		})
	}
	h.render(w, r, f, ui.PagePicker, page)
}

func (h *Handler) showConsent(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, u store.User, check ConsentCheck) {
	perms := check.Missing
	if f.Req.Prompt == PromptConsent || len(perms) == 0 {
		perms = check.Requested
	}
	fm, err := h.form(r, f, app, titlePermission, "")
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	page := ui.Consent{Form: fm, Username: u.UserPrincipalName, CanConsentForOrg: check.Admin,
		NeedsAdmin: !check.Admin && needsAdmin(check.Missing)}
	if t, err := h.opts.Store.GetTenant(r.Context(), app.TenantID); err == nil {
		page.Publisher = t.DisplayName
	}
	for _, p := range perms {
		name := p.DisplayName
		if name == "" {
			name = p.Value
		}
		if p.Resource != "" {
			name += " (" + p.Resource + ")"
		}
		page.Permissions = append(page.Permissions, ui.Permission{Name: name, Description: p.Description, AdminOnly: p.AdminOnly})
	}
	h.render(w, r, f, ui.PageConsent, page)
}

// login serves every sign-in page's form: POST /{tenant}/login with the
// sealed flow, the CSRF token and an action.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, "request")})
		return
	}
	browser, ok := h.opts.CSRF.Verify(r)
	if !ok {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, ui.CSRFField)})
		return
	}
	r = withBrowser(r, browser)
	f, err := h.sealer.open(r.PostFormValue("flow"), store.HashToken(browser), h.opts.Now())
	if err != nil {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.FlowTokenExpired)})
		return
	}
	ctx := r.Context()
	app, err := h.opts.Store.GetApplicationByAppID(ctx, f.Req.ClientID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = aadsts.New(aadsts.AppNotFound, f.Req.ClientID, f.Req.PathTenant)
		}
		h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	// The app may have changed since the flow began; its redirect URI must
	// still be registered before anything is sent there. (A device sign-in
	// has none: it ends on the device page.)
	if _, ok := matchRedirectURI(app, f.Req.RedirectURI); !ok && f.Device == "" {
		h.page(w, r, f.Req.CorrelationID, &pageError{
			err:         aadsts.New(aadsts.ReplyURLMismatch, f.Req.RedirectURI, app.AppID),
			redirectURI: f.Req.RedirectURI, registered: registeredURIs(app),
		})
		return
	}

	switch action := r.PostFormValue("action"); {
	case action == "username":
		h.takeUsername(w, r, f, app, r.PostFormValue("username"))
	case action == "password" && f.Username != "":
		h.takePassword(w, r, f, app, r.PostFormValue("password"))
	case action == "back":
		f.forget()
		h.showUsername(w, r, f, app, "", "")
	case action == "pick":
		h.takePick(w, r, f, app, r.PostFormValue("account"))
	case action == "consent" && f.signedIn():
		h.takeConsent(w, r, f, app, r.PostFormValue("organization") == "1")
	case (action == "cancel" || action == "needs_admin") && f.signedIn():
		h.cancelConsent(w, r, f, action == "needs_admin")
	default:
		h.page(w, r, f.Req.CorrelationID, &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, "action")})
	}
}

// takeUsername finds the tenant a username signs in to and asks for its
// password. On common and organizations the tenant is the one whose domain
// the username has. Whether the user exists is not revealed here: the
// password step answers the same for unknown users and wrong passwords.
func (h *Handler) takeUsername(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, username string) {
	f.forget()
	username = strings.TrimSpace(username)
	// NUL and invalid UTF-8 are no one's username, and PostgreSQL would
	// refuse them in the lookup.
	if username == "" || len(username) > 256 || !utf8.ValidString(username) || strings.ContainsRune(username, 0) {
		h.showUsername(w, r, f, app, username, msgNoUsername)
		return
	}
	if f.TenantID == "" {
		_, domain, ok := directory.SplitUPN(username)
		if !ok || !directory.IsDomainName(domain) {
			h.showUsername(w, r, f, app, username, msgNoUsername)
			return
		}
		t, err := h.opts.Store.GetTenantByDomain(r.Context(), domain)
		if errors.Is(err, store.ErrNotFound) {
			h.showUsername(w, r, f, app, username, msgNoAccount)
			return
		}
		if err != nil {
			h.fail(w, r, f, err)
			return
		}
		f.TenantID = t.ID
	}
	f.Username = username
	h.showPassword(w, r, f, app, "")
}

func (h *Handler) takePassword(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, password string) {
	if password == "" {
		h.showPassword(w, r, f, app, msgNoPassword)
		return
	}
	ctx := r.Context()
	u, err := h.opts.Authn.Password(ctx, authn.Attempt{
		TenantID: f.TenantID, Username: f.Username, Password: password,
		AppID: app.AppID, AppDisplayName: app.DisplayName,
		IP: clientIP(r), CorrelationID: f.Req.CorrelationID,
	})
	var e *aadsts.Error
	if errors.As(err, &e) {
		msg := msgBadPassword
		switch e.Code {
		case aadsts.AccountLocked:
			msg = msgLocked
		case aadsts.UserDisabled:
			msg = msgDisabled
		}
		h.showPassword(w, r, f, app, msg+" (AADSTS"+strconv.Itoa(e.Code)+")")
		return
	}
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	now := h.opts.Now()
	acct := store.SessionAccount{UserID: u.ID, AuthTime: now.UTC(), AuthMethods: []string{store.AuthMethodPassword}}
	s, err := h.opts.Sessions.SignIn(ctx, w, r, f.TenantID, acct)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	f.UserID, f.SessionID, f.AuthTime, f.Methods, f.Fresh = u.ID, s.ID, acct.AuthTime, acct.AuthMethods, true
	h.signedIn(w, r, f, app, u, s)
}

func (h *Handler) takePick(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, value string) {
	if value == "" {
		f.forget()
		h.showUsername(w, r, f, app, "", "")
		return
	}
	accounts, err := h.accounts(w, r, f)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	for _, a := range accounts {
		if a.Session.TenantID+"."+a.User.ID == value {
			h.useAccount(w, r, f, app, a)
			return
		}
	}
	h.showPicker(w, r, f, app, accounts, msgPickAgain)
}

// current reloads the flow's account from its session: it must still be
// signed in (not signed out in another tab, not revoked) when the code is
// issued.
func (h *Handler) current(r *http.Request, f *flow) (store.User, store.Session, bool, error) {
	ctx := r.Context()
	s, err := h.opts.Store.GetSession(ctx, f.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, store.Session{}, false, nil
	}
	if err != nil {
		return store.User{}, store.Session{}, false, err
	}
	for _, a := range s.Accounts {
		if a.UserID != f.UserID || !a.AuthTime.Equal(f.AuthTime) {
			continue
		}
		u, err := h.opts.Store.GetUser(ctx, s.TenantID, a.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, store.Session{}, false, nil
		}
		if err != nil {
			return store.User{}, store.Session{}, false, err
		}
		return u, s, !session.Revoked(u, a), nil
	}
	return store.User{}, store.Session{}, false, nil
}

func (h *Handler) takeConsent(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, forOrg bool) {
	u, s, ok, err := h.current(r, f)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if !ok {
		h.redirectError(w, r, f, aadsts.New(aadsts.SilentSignInNoSession))
		return
	}
	ctx := r.Context()
	q := ConsentQuery{TenantID: f.TenantID, Client: app, User: u, Scope: f.Req.Scope, Resource: f.Req.Resource}
	check, err := h.opts.Consent.Check(ctx, q)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	// The page only offers what the user may grant; a forged post may not
	// grant more. Admin-type permissions are only ever granted for the
	// whole organization.
	if needsAdmin(check.Missing) {
		if !check.Admin {
			h.redirectError(w, r, f, aadsts.New(aadsts.AdminConsentRequired))
			return
		}
		forOrg = true
	}
	admin := check.Admin
	if err := h.opts.Consent.Grant(ctx, q, forOrg && admin); err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.issue(w, r, f, app, u, s)
}

// cancelConsent answers Cancel on the consent page (65004), or the way back
// from "Need admin approval" (90094).
func (h *Handler) cancelConsent(w http.ResponseWriter, r *http.Request, f *flow, needsAdmin bool) {
	e := aadsts.New(aadsts.UserDeclinedConsent)
	if needsAdmin {
		e = aadsts.New(aadsts.AdminConsentRequired)
	}
	h.redirectError(w, r, f, e)
}
