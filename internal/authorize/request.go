package authorize

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Request is a validated authorization request. It travels between the
// sign-in pages inside the sealed flow state, hence the short JSON names.
type Request struct {
	Version string `json:"v"` // "1.0" | "2.0": the endpoint, and so the ID token's version
	// PathTenant is the {tenant} segment; TenantID the tenant it names, ""
	// for common and organizations (the user's home tenant decides).
	PathTenant          string `json:"pt"`
	TenantID            string `json:"t,omitempty"`
	ClientID            string `json:"c"`
	ResponseType        string `json:"rt"`
	RedirectURI         string `json:"ru"`
	Platform            string `json:"pf"`
	ResponseMode        string `json:"rm"` // the effective mode
	Scope               string `json:"s,omitempty"`
	Resource            string `json:"r,omitempty"`
	State               string `json:"st,omitempty"`
	Nonce               string `json:"n,omitempty"`
	CodeChallenge       string `json:"cc,omitempty"`
	CodeChallengeMethod string `json:"cm,omitempty"`
	Prompt              string `json:"p,omitempty"`
	LoginHint           string `json:"lh,omitempty"`
	DomainHint          string `json:"dh,omitempty"`
	// SID is the sid of an earlier ID token: MSAL.js 1.x names the session
	// with it, instead of login_hint, when it renews tokens silently.
	SID string `json:"sid,omitempty"`
	// ClientInfo: client_info=1, MSAL's ask for the client_info value
	// (the home account) with the answer.
	ClientInfo    bool   `json:"ci,omitempty"`
	MaxAge        int    `json:"ma"` // -1 when not sent
	Claims        string `json:"cl,omitempty"`
	CorrelationID string `json:"corr"`
}

// Response types, modes and prompts.
const (
	TypeCode    = "code"
	TypeIDToken = "id_token"
	TypeToken   = "token"

	ModeQuery    = "query"
	ModeFragment = "fragment"
	ModeFormPost = "form_post"

	PromptLogin         = "login"
	PromptNone          = "none"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// wants reports whether the response type includes t.
func (r Request) wants(t string) bool { return slices.Contains(strings.Fields(r.ResponseType), t) }

// returnsTokens reports whether tokens come back from /authorize itself
// (implicit and hybrid flows), not only a code.
func (r Request) returnsTokens() bool { return r.wants(TypeIDToken) || r.wants(TypeToken) }

// pageError is a failure shown on Entrance's error page: the request cannot
// be answered at a redirect URI that is not (yet) known to be the app's.
type pageError struct {
	err *aadsts.Error
	// For AADSTS50011: what was sent and what is registered.
	redirectURI string
	registered  []string
}

// client validates what must hold before anything may be sent to the
// redirect URI: the tenant, the app, and the redirect URI itself.
func (h *Handler) client(ctx context.Context, req *Request, form url.Values) (store.Application, *pageError, error) {
	seg := req.PathTenant
	if seg != directory.AliasCommon && seg != directory.AliasOrganizations {
		t, err := directory.ResolveTenant(ctx, h.opts.Store, seg)
		if errors.Is(err, directory.ErrTenantNotFound) {
			return store.Application{}, &pageError{err: aadsts.New(aadsts.TenantNotFound, seg)}, nil
		}
		if err != nil {
			return store.Application{}, nil, err
		}
		req.TenantID = t.ID
	}

	clientID := strings.ToLower(strings.TrimSpace(form.Get("client_id")))
	if clientID == "" {
		return store.Application{}, &pageError{err: aadsts.New(aadsts.MissingParameter, "client_id")}, nil
	}
	where := req.TenantID
	if where == "" {
		where = seg
	}
	var app store.Application
	var err error
	if ids.IsGUID(clientID) {
		app, err = h.opts.Store.GetApplicationByAppID(ctx, clientID)
	} else {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		return app, &pageError{err: aadsts.New(aadsts.AppNotFound, clientID, where)}, nil
	}
	if err != nil {
		return app, nil, err
	}
	req.ClientID = app.AppID
	switch {
	case req.TenantID == "" && app.SignInAudience == store.AudienceMyOrg:
		return app, &pageError{err: aadsts.New(aadsts.SingleTenantAppOnCommon, app.AppID, app.DisplayName)}, nil
	case req.TenantID != "" && app.TenantID != req.TenantID && !multiTenant(app):
		return app, &pageError{err: aadsts.New(aadsts.AppNotFound, app.AppID, where)}, nil
	}

	registered := registeredURIs(app)
	sent := form.Get("redirect_uri")
	switch platform, ok := matchRedirectURI(app, sent); {
	case len(registered) == 0:
		return app, &pageError{err: aadsts.New(aadsts.NoReplyAddress)}, nil
	case sent == "":
		return app, &pageError{err: aadsts.New(aadsts.MissingParameter, "redirect_uri"), registered: registered}, nil
	case !ok:
		return app, &pageError{err: aadsts.New(aadsts.ReplyURLMismatch, sent, app.AppID), redirectURI: sent, registered: registered}, nil
	default:
		req.RedirectURI, req.Platform = sent, platform
	}
	return app, nil, nil
}

// multiTenant reports whether users of other tenants may sign in to app.
func multiTenant(app store.Application) bool {
	return app.SignInAudience == store.AudienceMultipleOrgs || app.SignInAudience == store.AudienceMultipleOrgsAndPersonal
}

// params validates the rest of the request. Its errors go to the redirect
// URI, so the response mode is settled first.
func params(req *Request, form url.Values, app store.Application) *aadsts.Error {
	// state first: every error below is sent back with it.
	req.State = form.Get("state")
	// The request travels between the pages as JSON, which cannot carry
	// invalid UTF-8: refuse it rather than echo back another state or nonce.
	// NUL is refused too: PostgreSQL would refuse a login_hint with it.
	for _, p := range []string{"state", "nonce", "scope", "resource", "login_hint", "domain_hint", "sid", "claims"} {
		if v := form.Get(p); !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return aadsts.New(aadsts.InvalidRequestParameter, p)
		}
	}
	req.ResponseType = strings.Join(strings.Fields(form.Get("response_type")), " ")
	withTokens := req.returnsTokens()
	// Tokens never go in a query string, where servers log them and
	// Referer headers carry them on: fragment unless the app asks for
	// form_post.
	req.ResponseMode = ModeQuery
	if withTokens {
		req.ResponseMode = ModeFragment
	}
	switch mode := form.Get("response_mode"); mode {
	case "":
	case ModeQuery, ModeFragment, ModeFormPost:
		if mode == ModeQuery && withTokens {
			return aadsts.New(aadsts.UnsupportedResponseMode, mode, " when requesting a token")
		}
		req.ResponseMode = mode
	default:
		return aadsts.New(aadsts.UnsupportedResponseMode, mode, "")
	}

	if e := responseTypes(req, app); e != nil {
		return e
	}

	req.Scope = strings.Join(strings.Fields(form.Get("scope")), " ")
	if req.Version == "2.0" && req.Scope == "" {
		return aadsts.New(aadsts.MissingParameter, "scope")
	}
	if req.Version == "1.0" {
		req.Resource = strings.TrimSpace(form.Get("resource"))
		if req.wants(TypeToken) && req.Resource == "" {
			return aadsts.New(aadsts.ResourceNotProvided)
		}
	}
	req.Nonce = form.Get("nonce")
	if req.wants(TypeIDToken) {
		// The nonce is the app's only defence against a replayed ID token
		// arriving in its fragment or form post.
		if req.Nonce == "" {
			return aadsts.New(aadsts.MissingParameter, "nonce")
		}
		// v2 ID tokens are OpenID Connect's, which the openid scope asks
		// for; v1 (ADAL.js) sends no scope and always gets one, so there
		// openid is implied (the sign-in is then what the user consents to).
		hasOpenID := slices.ContainsFunc(strings.Fields(req.Scope), func(s string) bool { return strings.EqualFold(s, "openid") })
		switch {
		case hasOpenID:
		case req.Version == "2.0":
			return aadsts.New(aadsts.InvalidRequestParameter, "scope").WithOAuthError("invalid_scope")
		default:
			req.Scope = strings.TrimSpace("openid " + req.Scope)
		}
	}
	req.LoginHint = strings.TrimSpace(form.Get("login_hint"))
	req.DomainHint = strings.TrimSpace(form.Get("domain_hint"))
	req.SID = strings.TrimSpace(form.Get("sid"))
	req.ClientInfo = form.Get("client_info") == "1"

	switch p := form.Get("prompt"); p {
	case "", PromptLogin, PromptNone, PromptConsent, PromptSelectAccount:
		req.Prompt = p
	default:
		return aadsts.New(aadsts.InvalidRequestParameter, "prompt")
	}

	req.CodeChallenge = form.Get("code_challenge")
	if req.CodeChallenge != "" {
		switch m := form.Get("code_challenge_method"); m {
		case "", "plain":
			req.CodeChallengeMethod = "plain"
		case "S256":
			req.CodeChallengeMethod = m
		default:
			return aadsts.New(aadsts.InvalidRequestParameter, "code_challenge_method")
		}
		if !validChallenge(req.CodeChallenge, req.CodeChallengeMethod) {
			return aadsts.New(aadsts.InvalidRequestParameter, "code_challenge")
		}
	}
	// A SPA's code is redeemed in the browser, where no secret can be
	// kept: PKCE is what binds it to the page that asked for it.
	if req.Platform == store.PlatformSPA && req.wants(TypeCode) && req.CodeChallenge == "" {
		return aadsts.New(aadsts.SPANeedsPKCE)
	}

	req.MaxAge = -1
	if v := form.Get("max_age"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return aadsts.New(aadsts.InvalidRequestParameter, "max_age")
		}
		req.MaxAge = n
	}
	if c := form.Get("claims"); c != "" {
		var v map[string]any
		if json.Unmarshal([]byte(c), &v) != nil {
			return aadsts.New(aadsts.InvalidRequestParameter, "claims")
		}
		req.Claims = c
	}
	return nil
}

// responseTypes checks response_type: code, id_token and token in any
// combination and order ("id_token token" and "token id_token" alike), and
// tokens only for an app that enabled them (web.implicitGrantSettings,
// which covers its spa redirect URIs too).
func responseTypes(req *Request, app store.Application) *aadsts.Error {
	types := strings.Fields(req.ResponseType)
	if len(types) == 0 {
		return aadsts.New(aadsts.MissingParameter, "response_type")
	}
	for i, t := range types {
		if t != TypeCode && t != TypeToken && t != TypeIDToken || slices.Contains(types[:i], t) {
			return aadsts.New(aadsts.InvalidRequestParameter, "response_type").WithOAuthError("unsupported_response_type")
		}
	}
	implicit := app.Web.ImplicitGrantSettings
	switch {
	case req.wants(TypeIDToken) && !implicit.EnableIDTokenIssuance:
		return aadsts.New(aadsts.IDTokenResponseNotEnabled)
	case req.wants(TypeToken) && !implicit.EnableAccessTokenIssuance:
		return aadsts.New(aadsts.TokenResponseNotEnabled)
	}
	return nil
}

// validChallenge checks a PKCE code challenge (RFC 7636): S256 is the
// base64url SHA-256 of the verifier (43 characters); plain is the verifier
// itself, 43 to 128 unreserved characters.
func validChallenge(c, method string) bool {
	if method == "S256" && len(c) != 43 || len(c) < 43 || len(c) > 128 {
		return false
	}
	for _, r := range c {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// correlationID is the client-request-id MSAL sends (as a header, or as a
// query parameter from browsers) when it is a GUID; otherwise a new one.
func correlationID(r *http.Request) string {
	if c := r.Header.Get("Client-Request-Id"); ids.IsGUID(c) {
		return strings.ToLower(c)
	}
	if c := r.Form.Get("client-request-id"); ids.IsGUID(c) {
		return strings.ToLower(c)
	}
	return ids.NewGUID()
}
