package b2c

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/ui"
)

// The token endpoint of a user flow: authorization_code and refresh_token,
// as B2C serves them. The policy comes from the URL, never the body, and a
// code or refresh token is redeemed only at the flow that issued it
// (AADB2C90088). Clients authenticate with client_secret_post or
// client_secret_basic; public clients (spa, mobile) send no secret.

// tokenResponse is B2C's token response, in its key order.
type tokenResponse struct {
	AccessToken           string `json:"access_token,omitempty"`
	IDToken               string `json:"id_token,omitempty"`
	TokenType             string `json:"token_type"`
	NotBefore             int64  `json:"not_before"`
	ExpiresIn             int    `json:"expires_in,omitempty"`
	ExpiresOn             int64  `json:"expires_on,omitempty"`
	Resource              string `json:"resource,omitempty"`
	IDTokenExpiresIn      int    `json:"id_token_expires_in,omitempty"`
	ProfileInfo           string `json:"profile_info"`
	Scope                 string `json:"scope"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	RefreshTokenExpiresIn int    `json:"refresh_token_expires_in,omitempty"`
	ClientInfo            string `json:"client_info,omitempty"`
}

// tokenRequest is a parsed token request.
type tokenRequest struct {
	t      target
	app    store.Application
	form   url.Values
	secret string // "" when none was sent
	now    time.Time
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request, e endpoint) {
	out, err := h.tokenGrant(w, r, e)
	if err != nil {
		h.writeJSON(w, r, err)
		return
	}
	body, err := json.Marshal(out)
	if err != nil {
		h.writeJSON(w, r, err)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store, no-cache")
	hd.Set("Pragma", "no-cache")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (h *Handler) tokenGrant(w http.ResponseWriter, r *http.Request, e endpoint) (*tokenResponse, error) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		return nil, b2cErr(codeMissingParameter, "grant_type")
	}
	t, err := h.resolve(ctx, e)
	if err != nil {
		return nil, err
	}
	req := &tokenRequest{t: t, form: r.PostForm, now: h.opts.Now()}
	clientID := r.PostForm.Get("client_id")
	req.secret = r.PostForm.Get("client_secret")
	if id, secret, ok := r.BasicAuth(); ok {
		// client_secret_basic: both parts form-url-encoded before base64.
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return nil, b2cErr(codeBadSecret)
		}
		clientID, req.secret = id, secret
	}
	grant := r.PostForm.Get("grant_type")
	if grant == "" {
		return nil, b2cErr(codeMissingParameter, "grant_type")
	}
	if grant != "authorization_code" && grant != "refresh_token" {
		return nil, b2cErr(codeGrantType, grant)
	}
	if clientID == "" {
		return nil, b2cErr(codeMissingParameter, "client_id")
	}
	if req.app, err = h.app(ctx, t, strings.ToLower(clientID)); err != nil {
		return nil, err
	}
	allowOrigin(w, r, req.app)
	if grant == "authorization_code" {
		return h.redeemCode(ctx, req)
	}
	return h.redeemRefreshToken(ctx, req)
}

// allowOrigin lets a single-page app of the client read the answer.
func allowOrigin(w http.ResponseWriter, r *http.Request, app store.Application) {
	o := r.Header.Get("Origin")
	if o == "" {
		return
	}
	for _, u := range app.SPA.RedirectURIs {
		if ui.Origin(u) == strings.ToLower(o) {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Add("Vary", "Origin")
			return
		}
	}
}

// authenticate checks the client's secret: a grant issued to a web app with
// credentials needs one; a public client's grant must come without.
func (h *Handler) authenticate(req *tokenRequest, confidential bool) error {
	if !confidential {
		if req.secret != "" {
			return b2cErr(codePublicClientSecret)
		}
		return nil
	}
	if req.secret == "" {
		return b2cErr(codeSecretRequired)
	}
	for _, c := range req.app.PasswordCredentials {
		if h.opts.SecretHasher.Verify(c.SecretHash, req.secret) && !req.now.Before(c.StartDateTime) &&
			(c.EndDateTime.IsZero() || req.now.Before(c.EndDateTime)) {
			return nil
		}
	}
	return b2cErr(codeBadSecret)
}

func (h *Handler) redeemCode(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	code := req.form.Get("code")
	if code == "" {
		return nil, b2cErr(codeMissingParameter, "code")
	}
	c, err := h.opts.Store.GetAuthorizationCode(ctx, store.HashToken(code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, b2cErr(codeGrantExpired)
	}
	if err != nil {
		return nil, err
	}
	if err := grantFor(req, c.Policy, c.TenantID, c.ClientID); err != nil {
		return nil, err
	}
	if !req.now.Before(c.ExpiresAt) {
		return nil, b2cErr(codeGrantExpired)
	}
	if req.form.Get("redirect_uri") != c.RedirectURI {
		return nil, b2cErr(codeRedirectNotRegistered, req.form.Get("redirect_uri"), c.ClientID)
	}
	if err := h.authenticate(req, c.Platform == store.PlatformWeb && len(req.app.PasswordCredentials) > 0); err != nil {
		return nil, err
	}
	if err := checkVerifier(c, req.form.Get("code_verifier")); err != nil {
		return nil, err
	}
	// One redemption wins, under the row lock; a replay revokes what the
	// first one issued (a stolen code must not outlive its theft).
	family := ids.NewGUID()
	replayed := false
	c, err = h.opts.Store.UpdateAuthorizationCode(ctx, c.ID, func(c store.AuthorizationCode) (store.AuthorizationCode, error) {
		if !c.RedeemedAt.IsZero() {
			replayed = true
			return c, nil
		}
		c.RedeemedAt, c.RefreshTokenFamilyID = req.now.UTC(), family
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	if replayed {
		if c.RefreshTokenFamilyID != "" {
			if _, err := h.opts.Store.RevokeRefreshTokenFamily(ctx, c.RefreshTokenFamilyID); err != nil {
				return nil, err
			}
		}
		return nil, b2cErr(codeGrantRevoked)
	}
	u, err := h.user(ctx, req.t, c.UserID)
	if err != nil {
		return nil, err
	}
	g := tokens.B2CGrant{
		Nonce: c.Nonce, AuthTime: c.AuthTime, NewUser: c.NewUser, SessionID: c.SessionID,
		FamilyID: family, Confidential: c.Platform == store.PlatformWeb, Platform: c.Platform,
	}
	return h.issueTokens(ctx, req, u, c.Scope, g)
}

// grantFor checks that a code or refresh token was issued by this flow of
// this tenant, to this client.
func grantFor(req *tokenRequest, policy, tenantID, clientID string) error {
	if !strings.EqualFold(policy, req.t.flow.Name) || tenantID != req.t.tenant.ID {
		expected := policy
		if expected == "" {
			expected = "(not a user flow)"
		}
		return b2cErr(codeGrantOtherPolicy, strings.ToLower(req.t.flow.Name), strings.ToLower(expected))
	}
	if clientID != req.app.AppID {
		return b2cErr(codeClientMismatch, req.app.AppID)
	}
	return nil
}

// checkVerifier checks PKCE (RFC 7636).
func checkVerifier(c store.AuthorizationCode, verifier string) error {
	if c.CodeChallenge == "" {
		return nil
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return b2cErr(codeVerifierInvalid)
	}
	got := verifier
	if c.CodeChallengeMethod == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		got = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.CodeChallenge)) != 1 {
		return b2cErr(codeVerifierMismatch)
	}
	return nil
}

func (h *Handler) redeemRefreshToken(ctx context.Context, req *tokenRequest) (*tokenResponse, error) {
	value := req.form.Get("refresh_token")
	if value == "" {
		return nil, b2cErr(codeMissingParameter, "refresh_token")
	}
	rec, err := h.opts.Store.GetRefreshToken(ctx, tokens.NewRefreshTokenID(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, b2cErr(codeGrantExpired)
	}
	if err != nil {
		return nil, err
	}
	if err := grantFor(req, rec.Policy, rec.TenantID, rec.ClientID); err != nil {
		return nil, err
	}
	switch {
	case rec.Revoked:
		return nil, b2cErr(codeGrantRevoked)
	case !req.now.Before(rec.ExpiresAt):
		return nil, b2cErr(codeGrantExpired)
	}
	if err := h.authenticate(req, rec.Confidential && len(req.app.PasswordCredentials) > 0); err != nil {
		return nil, err
	}
	u, err := h.user(ctx, req.t, rec.UserID)
	if err != nil {
		return nil, err
	}
	// A password reset or an administrator's revocation after the sign-in
	// ends what it granted.
	if u.SignInSessionsValidFromDateTime.After(rec.AuthTime) || u.LastPasswordChangeDateTime.After(rec.AuthTime) {
		return nil, b2cErr(codeGrantRevoked)
	}
	if _, err := h.opts.Store.UpdateRefreshToken(ctx, rec.ID, func(t store.RefreshToken) (store.RefreshToken, error) {
		t.RedeemedAt = req.now.UTC()
		return t, nil
	}); err != nil {
		return nil, err
	}
	scope := rec.Scope
	g := tokens.B2CGrant{
		AuthTime: rec.AuthTime, SessionID: rec.SessionID, FamilyID: rec.FamilyID, FamilyCreatedAt: rec.FamilyCreatedAt,
		Confidential: rec.Confidential, Platform: rec.Platform,
	}
	return h.issueTokens(ctx, req, u, scope, g)
}

// user loads the grant's user, who must still exist and be enabled.
func (h *Handler) user(ctx context.Context, t target, id string) (store.User, error) {
	u, err := h.opts.Store.GetUser(ctx, t.tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, b2cErr(codeUserGone)
	}
	if err == nil && !u.AccountEnabled {
		return u, b2cErr(codeGrantRevoked)
	}
	return u, err
}

// issueTokens resolves the scope (the request's, else the grant's) and
// issues what it asks for: an ID token for openid, an access token for a
// resource, a refresh token for offline_access.
func (h *Handler) issueTokens(ctx context.Context, req *tokenRequest, u store.User, granted string, g tokens.B2CGrant) (*tokenResponse, error) {
	scope := req.form.Get("scope")
	if strings.TrimSpace(scope) == "" {
		scope = granted
	}
	sg, err := h.resolveScopes(ctx, req.t, req.app, scope)
	if err != nil {
		return nil, err
	}
	// What the user's sign-in granted stays granted when a later request
	// leaves openid or offline_access out.
	grantedScopes := strings.Fields(strings.ToLower(granted))
	openid := sg.OpenID || slices.Contains(grantedScopes, "openid")
	offline := sg.Offline || slices.Contains(grantedScopes, "offline_access")
	g.Tenant, g.Flow, g.Client, g.User = req.t.tenant, req.t.flow, req.app, u
	g.AccessToken, g.Audience, g.Scopes = sg.hasResource(), sg.Audience, sg.Scopes
	g.IDToken, g.RefreshToken = openid, offline
	g.RefreshScope = scope
	out, err := h.opts.Issuer.IssueB2C(ctx, g)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{
		AccessToken: out.AccessToken, IDToken: out.IDToken, TokenType: "Bearer", NotBefore: req.now.Unix(),
		ExpiresIn: out.ExpiresIn, IDTokenExpiresIn: out.IDTokenExpiresIn,
		ProfileInfo: profileInfo(req.t, u), Scope: strings.Join(sg.Granted, " "),
		RefreshToken: out.RefreshToken, RefreshTokenExpiresIn: out.RefreshTokenExpiresIn,
	}
	if !out.NotBefore.IsZero() {
		resp.NotBefore = out.NotBefore.Unix()
	}
	if out.AccessToken != "" {
		resp.ExpiresOn, resp.Resource = out.ExpiresOn.Unix(), sg.Audience
	}
	if req.form.Get("client_info") == "1" {
		resp.ClientInfo = clientInfo(req.t, u)
	}
	return resp, nil
}

// profileInfo is B2C's profile_info: the account in brief, base64url JSON.
func profileInfo(t target, u store.User) string {
	b, _ := json.Marshal(map[string]any{
		"ver": "1.0", "tid": t.tenant.ID, "sub": nil, "name": u.DisplayName, "preferred_username": nil, "idp": "LocalAccount",
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientInfo is what MSAL keys its B2C accounts by: uid is the object id
// and the policy ({oid}-{policy}), utid the tenant.
func clientInfo(t target, u store.User) string {
	b, _ := json.Marshal(struct {
		UID  string `json:"uid"`
		UTID string `json:"utid"`
	}{u.ID + "-" + strings.ToLower(t.flow.Name), t.tenant.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}
