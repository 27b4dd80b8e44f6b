package b2c

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/ui"
)

// request is a validated authorize request; it travels in the sealed flow.
type request struct {
	Form         urlForm `json:"f"`
	Segment      string  `json:"sg"` // the {tenant} as requested
	TenantID     string  `json:"t"`
	Policy       string  `json:"p"` // the flow's name as declared
	ClientID     string  `json:"c"`
	RedirectURI  string  `json:"ru"`
	Platform     string  `json:"pf"`
	ResponseType string  `json:"rt"`
	ResponseMode string  `json:"rm"`
	Scope        string  `json:"s"`
	State        string  `json:"st,omitempty"`
	Nonce        string  `json:"n,omitempty"`
	Challenge    string  `json:"cc,omitempty"`
	Method       string  `json:"cm,omitempty"`
	Prompt       string  `json:"pr,omitempty"`
	LoginHint    string  `json:"lh,omitempty"`
	Correlation  string  `json:"corr"`
}

func (q request) has(responseType string) bool {
	return slices.Contains(strings.Fields(q.ResponseType), responseType)
}

// authorize starts a user flow. Until the app and redirect URI are known to
// belong together failures are shown on an error page, never redirected;
// after that they go to the app in the response mode.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, e endpoint) {
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
	req := request{Form: e.form, Segment: e.segment, TenantID: t.tenant.ID, Policy: t.flow.Name, Correlation: corr}
	app, err := h.client(ctx, t, &req, r.Form)
	if err != nil {
		h.errorPage(w, r, corr, err)
		return
	}
	browser := h.opts.CSRF.Browser(w, r)
	r = withBrowser(r, browser)
	f := &flow{Req: req, Browser: store.HashToken(browser), Expires: h.opts.Now().Add(h.opts.FlowLifetime).Unix()}
	if err := h.params(ctx, t, app, &f.Req, r.Form); err != nil {
		h.redirectError(w, r, f, err)
		return
	}
	h.start(w, r, f, t, app)
}

// client checks the app and its redirect URI: what must hold before
// anything is sent to the redirect URI.
func (h *Handler) client(ctx context.Context, t target, req *request, form url.Values) (store.Application, error) {
	clientID := strings.ToLower(strings.TrimSpace(form.Get("client_id")))
	if clientID == "" {
		return store.Application{}, b2cErr(codeNoClientID)
	}
	app, err := h.app(ctx, t, clientID)
	if err != nil {
		return app, err
	}
	req.ClientID = app.AppID
	sent := form.Get("redirect_uri")
	platform, ok := redirectPlatform(app, sent)
	switch {
	case len(app.Web.RedirectURIs)+len(app.SPA.RedirectURIs)+len(app.PublicClient.RedirectURIs) == 0:
		return app, b2cErr(codeNoRedirectURIs, app.AppID)
	case !ok:
		return app, b2cErr(codeRedirectNotRegistered, sent, app.AppID)
	}
	req.RedirectURI, req.Platform = sent, platform
	return app, nil
}

// app finds a client registered in the B2C tenant.
func (h *Handler) app(ctx context.Context, t target, clientID string) (store.Application, error) {
	var app store.Application
	err := store.ErrNotFound
	if ids.IsGUID(clientID) {
		app, err = h.opts.Store.GetApplicationByAppID(ctx, clientID)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && app.TenantID != t.tenant.ID {
		return app, b2cErr(codeClientNotInTenant, clientID, directory.InitialDomain(t.tenant))
	}
	return app, err
}

// redirectPlatform finds how app registered uri (exact match, as B2C's).
func redirectPlatform(app store.Application, uri string) (string, bool) {
	if uri == "" {
		return "", false
	}
	for _, p := range []struct {
		name string
		uris []string
	}{
		{store.PlatformWeb, app.Web.RedirectURIs},
		{store.PlatformSPA, app.SPA.RedirectURIs},
		{store.PlatformPublicClient, app.PublicClient.RedirectURIs},
	} {
		if slices.Contains(p.uris, uri) {
			return p.name, true
		}
	}
	return "", false
}

// params validates the rest of the request; its errors go to the app.
func (h *Handler) params(ctx context.Context, t target, app store.Application, req *request, form url.Values) error {
	req.State = form.Get("state")
	rt := strings.Join(strings.Fields(form.Get("response_type")), " ")
	req.ResponseType = rt
	types := strings.Fields(rt)
	tokensBack := slices.Contains(types, "token") || slices.Contains(types, "id_token")
	req.ResponseMode = "query"
	if tokensBack {
		req.ResponseMode = "fragment"
	}
	switch m := form.Get("response_mode"); m {
	case "":
	case "query", "fragment", "form_post":
		if m == "query" && tokensBack {
			return b2cErr(codeResponseMode, m)
		}
		req.ResponseMode = m
	default:
		return b2cErr(codeResponseMode, m)
	}
	if rt == "" {
		return b2cErr(codeMissingParameter, "response_type")
	}
	for _, t := range types {
		if t != "code" && t != "id_token" && t != "token" {
			return b2cErr(codeResponseType, rt)
		}
	}
	implicit := app.Web.ImplicitGrantSettings
	if slices.Contains(types, "id_token") && !implicit.EnableIDTokenIssuance ||
		slices.Contains(types, "token") && !implicit.EnableAccessTokenIssuance {
		return b2cErr(codeImplicitNotAllowed)
	}

	req.Scope = strings.Join(strings.Fields(form.Get("scope")), " ")
	if req.Scope == "" {
		return b2cErr(codeNoScope)
	}
	g, err := h.resolveScopes(ctx, t, app, req.Scope)
	if err != nil {
		return err
	}
	req.Nonce = form.Get("nonce")
	switch {
	case req.has("id_token") && !g.OpenID:
		return b2cErr(codeIDTokenNeedsOpenID)
	case req.has("id_token") && req.Nonce == "":
		return b2cErr(codeMissingParameter, "nonce")
	case req.has("token") && !g.hasResource():
		return b2cErr(codeScopeNeedsResource, req.Scope)
	case req.has("code") && !g.OpenID && !g.hasResource():
		return b2cErr(codeCodeNeedsScope)
	}

	switch p := form.Get("prompt"); p {
	case "", "login", "none", "consent", "select_account":
		req.Prompt = p
	default:
		return b2cErr(codePrompt)
	}
	req.LoginHint = strings.TrimSpace(form.Get("login_hint"))
	req.Challenge = form.Get("code_challenge")
	if req.Challenge != "" {
		switch m := form.Get("code_challenge_method"); m {
		case "", "plain":
			req.Method = "plain"
		case "S256":
			req.Method = m
		default:
			return b2cErr(codeChallengeMethod)
		}
	} else if req.Platform == store.PlatformSPA && req.has("code") {
		return b2cErr(codeSPANeedsPKCE)
	}
	return nil
}

// start runs the user flow: from the browser's session when the flow
// allows single sign-on, else from its first page.
func (h *Handler) start(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application) {
	acct, ok, err := h.ssoAccount(w, r, t, f.Req.LoginHint)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	sso := ok && f.Req.Prompt != "login"
	if f.Req.Prompt == "none" && (!sso || t.flow.Type == store.UserFlowSignUp || t.flow.Type == store.UserFlowProfileEdit || t.flow.Type == store.UserFlowPasswordReset) {
		// Seed 003: a silent request that needs the user fails at once.
		h.redirectError(w, r, f, b2cErr(codeNoSession))
		return
	}
	if sso {
		f.UserID, f.SessionID, f.AuthTime, f.Email = acct.User.ID, acct.Session.ID, acct.AuthTime, acct.User.Mail
		// Password sign-ins are logged by authn; single sign-on here.
		h.opts.Authn.Record(r.Context(), authn.Event{TenantID: t.tenant.ID, User: acct.User, AppID: app.AppID,
			AppDisplayName: app.DisplayName, IP: clientIP(r), CorrelationID: f.Req.Correlation})
	}
	switch t.flow.Type {
	case store.UserFlowSignUpOrSignIn, store.UserFlowSignIn:
		if sso {
			h.issue(w, r, f, t, app)
			return
		}
		h.showSignIn(w, r, f, t, app, f.Req.LoginHint, "")
	case store.UserFlowSignUp:
		h.showEmail(w, r, f, t, app, "", "")
	case store.UserFlowProfileEdit:
		if sso {
			h.showProfile(w, r, f, t, app, "")
			return
		}
		h.showSignIn(w, r, f, t, app, f.Req.LoginHint, "")
	case store.UserFlowPasswordReset:
		f.Reset = true
		h.showEmail(w, r, f, t, app, "", "")
	}
}

// ssoAccount is the account signed in to the tenant in this browser: the
// one login_hint names, else the most recent. (B2C's default single
// sign-on scope is the tenant: every user flow of the tenant shares it.)
func (h *Handler) ssoAccount(w http.ResponseWriter, r *http.Request, t target, hint string) (session.Account, bool, error) {
	loaded, err := h.opts.Sessions.Load(r.Context(), w, r)
	if err != nil {
		return session.Account{}, false, err
	}
	var mine []store.Session
	for _, s := range loaded {
		if s.TenantID == t.tenant.ID {
			mine = append(mine, s)
		}
	}
	accounts, err := h.opts.Sessions.Accounts(r.Context(), mine)
	if err != nil || len(accounts) == 0 {
		return session.Account{}, false, err
	}
	if hint != "" {
		for _, a := range accounts {
			if strings.EqualFold(a.User.Mail, hint) || strings.EqualFold(a.User.UserPrincipalName, hint) {
				return a, true, nil
			}
		}
		return session.Account{}, false, nil
	}
	best := accounts[0]
	for _, a := range accounts[1:] {
		if a.AuthTime.After(best.AuthTime) {
			best = a
		}
	}
	return best, true, nil
}

// issue ends the flow: an authorization code and, in the implicit and
// hybrid flows, the tokens, sent to the app in the response mode.
func (h *Handler) issue(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application) {
	ctx := r.Context()
	u, s, ok, err := h.current(ctx, f)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if !ok {
		h.redirectError(w, r, f, b2cErr(codeNoSession))
		return
	}
	req := f.Req
	var params [][2]string
	code := ""
	if req.has("code") {
		now := h.opts.Now().UTC()
		code = ids.RandomToken(32)
		c := store.AuthorizationCode{
			ID: store.HashToken(code), TenantID: t.tenant.ID, ClientID: app.AppID,
			RedirectURI: req.RedirectURI, Platform: req.Platform, UserID: u.ID, SessionID: s.ID,
			Scope: req.Scope, EndpointVersion: "2.0", Nonce: req.Nonce,
			CodeChallenge: req.Challenge, CodeChallengeMethod: req.Method,
			AuthTime: f.AuthTime, AuthMethods: []string{store.AuthMethodPassword},
			IssuedAt: now, ExpiresAt: now.Add(h.opts.CodeLifetime),
			Policy: t.flow.Name, NewUser: f.NewUser,
		}
		if err := h.opts.Store.CreateAuthorizationCode(ctx, c); err != nil {
			h.fail(w, r, f, err)
			return
		}
		params = append(params, [2]string{"code", code})
	}
	if req.has("token") || req.has("id_token") {
		g, err := h.resolveScopes(ctx, t, app, req.Scope)
		if err != nil {
			h.redirectError(w, r, f, err)
			return
		}
		out, err := h.opts.Issuer.IssueB2C(ctx, tokens.B2CGrant{
			Tenant: t.tenant, Flow: t.flow, Client: app, User: u,
			AccessToken: req.has("token"), Audience: g.Audience, Scopes: g.Scopes,
			IDToken: req.has("id_token"), Nonce: req.Nonce, AuthTime: f.AuthTime, NewUser: f.NewUser, FromAuthorize: true, Code: code,
		})
		if err != nil {
			h.fail(w, r, f, err)
			return
		}
		if out.AccessToken != "" {
			params = append(params, [2]string{"access_token", out.AccessToken}, [2]string{"token_type", "Bearer"},
				[2]string{"expires_in", itoa(out.ExpiresIn)}, [2]string{"scope", strings.Join(g.Granted, " ")})
		}
		if out.IDToken != "" {
			params = append(params, [2]string{"id_token", out.IDToken})
		}
	}
	if req.State != "" {
		params = append(params, [2]string{"state", req.State})
	}
	if _, err := h.opts.Sessions.Used(ctx, s, app.AppID); err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.respond(w, r, f, params)
}

// current reloads the flow's account from its session: it must still be
// signed in when the code is issued.
func (h *Handler) current(ctx context.Context, f *flow) (store.User, store.Session, bool, error) {
	s, err := h.opts.Store.GetSession(ctx, f.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, store.Session{}, false, nil
	}
	if err != nil {
		return store.User{}, store.Session{}, false, err
	}
	for _, a := range s.Accounts {
		if a.UserID != f.UserID {
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

// redirectError sends an error to the app: error, error_description, state.
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, f *flow, err error) {
	e := h.internal(r, err)
	params := [][2]string{{"error", e.OAuth()}, {"error_description", e.description(f.Req.Correlation, h.opts.Now())}}
	if f.Req.State != "" {
		params = append(params, [2]string{"state", f.Req.State})
	}
	h.respond(w, r, f, params)
}

// fail answers an unexpected error at the app.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, f *flow, err error) {
	h.redirectError(w, r, f, err)
}

// respond delivers params to the redirect URI in the response mode.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, f *flow, params [][2]string) {
	req := f.Req
	if req.ResponseMode == "form_post" {
		page := ui.FormPost{Title: "Working...", Action: req.RedirectURI}
		for _, p := range params {
			page.Fields = append(page.Fields, ui.Field{Name: p[0], Value: p[1]})
		}
		c := ui.CSP{Script: true, NoSelfForm: true}
		if o := ui.Origin(req.RedirectURI); o != "" {
			c.FormAction = []string{o}
			// A prompt=none answer is what an app's hidden iframe loads
			// (seed 003's silent renewal): the app's origin may frame it.
			if req.Prompt == "none" {
				c.FrameAncestors = []string{o}
			}
		}
		if err := ui.Render(w, http.StatusOK, ui.PageFormPost, page, c); err != nil {
			h.opts.Logger.ErrorContext(r.Context(), "render", "page", ui.PageFormPost, "err", err)
		}
		return
	}
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("Referrer-Policy", "no-referrer")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	http.Redirect(w, r, appendParams(req.RedirectURI, req.ResponseMode, params), status)
}

// appendParams adds response parameters to a URI's query or fragment.
func appendParams(uri, mode string, params [][2]string) string {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	if mode == "fragment" {
		return uri + "#" + b.String()
	}
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + b.String()
}
