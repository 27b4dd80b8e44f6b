package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// errCodeRedeemed aborts the redemption's UpdateAuthorizationCode when
// another redemption won.
var errCodeRedeemed = errors.New("authorization code already redeemed")

// authorizationCode redeems an authorization code (grant_type=
// authorization_code): code, redirect_uri, code_verifier, and scope (v2) or
// resource (v1), which may name another resource the user has consented to.
//
// A code is single use. A second redemption is treated as theft, as OAuth 2.0
// §4.1.2 asks: it fails with AADSTS54005 and revokes the refresh tokens the
// first one issued.
func (h *Handler) authorizationCode(ctx context.Context, req *request) (*result, error) {
	code := req.form.Get("code")
	if code == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "code")
	}
	redirectURI := req.form.Get("redirect_uri")
	if redirectURI == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "redirect_uri")
	}
	app, err := h.client(ctx, req)
	if err != nil {
		return nil, err
	}
	id := store.HashToken(code)
	c, err := h.opts.Store.GetAuthorizationCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, aadsts.New(aadsts.MalformedRequest)
	} else if err != nil {
		return nil, err
	}
	// A code of another client reveals nothing about itself.
	// A B2C user flow's grant (Policy set) is redeemed only at that flow's
	// token endpoint (internal/b2c), which issues B2C's tokens.
	if !strings.EqualFold(c.ClientID, app.AppID) || c.Policy != "" {
		return nil, aadsts.New(aadsts.InvalidGrant)
	}
	acr, err := h.authenticate(ctx, req, app, c.Platform == store.PlatformWeb)
	if err != nil {
		return nil, err
	}
	if err := checkOrigin(req, c.Platform); err != nil {
		return nil, err
	}
	if !req.tenantAllows(c.TenantID) {
		return nil, aadsts.New(aadsts.CodeForOtherTenant)
	}
	if !c.RedeemedAt.IsZero() {
		return nil, h.codeReplayed(ctx, c, "")
	}
	if !req.now.Before(c.ExpiresAt) {
		return nil, aadsts.New(aadsts.ExpiredOrRevokedGrant)
	}
	if redirectURI != c.RedirectURI {
		return nil, aadsts.New(aadsts.ReplyURLMismatch, redirectURI, app.AppID).WithOAuthError("invalid_grant")
	}
	if !pkceVerified(c.CodeChallenge, c.CodeChallengeMethod, req.form.Get("code_verifier")) {
		return nil, aadsts.New(aadsts.CodeVerifierMismatch)
	}

	tenant, user, err := h.tenantAndUser(ctx, req, c.TenantID, c.UserID)
	if err != nil {
		return nil, err
	}
	// The token request may name the scopes again, or another resource the
	// user has consented to; the OpenID Connect scopes granted at authorize
	// stay granted either way.
	scope, resource := req.form.Get("scope"), req.form.Get("resource")
	if scope == "" {
		scope = c.Scope
	} else {
		scope = withOIDCScopes(scope, c.Scope)
	}
	if resource == "" {
		resource = c.Resource
	}

	// Issue first, then claim the code: if another redemption claimed it in
	// between, the refresh token issued here is revoked with the family, so
	// a replay never leaves a live refresh token behind, whichever request
	// the database served first.
	family := ids.NewGUID()
	out, err := h.issueForUser(ctx, req, tokens.Grant{
		Tenant: tenant, Client: app, User: user, ClientAuth: acr,
		AuthTime: c.AuthTime, AuthMethods: c.AuthMethods, SessionID: c.SessionID, Nonce: c.Nonce,
		FamilyID: family, Confidential: c.Platform == store.PlatformWeb, Platform: c.Platform,
	}, scope, resource, false)
	if err != nil {
		return nil, err
	}
	_, err = h.opts.Store.UpdateAuthorizationCode(ctx, id, func(c store.AuthorizationCode) (store.AuthorizationCode, error) {
		if !c.RedeemedAt.IsZero() {
			return c, errCodeRedeemed
		}
		c.RedeemedAt = req.now.UTC()
		c.RefreshTokenFamilyID = family
		return c, nil
	})
	if errors.Is(err, errCodeRedeemed) {
		latest, gerr := h.opts.Store.GetAuthorizationCode(ctx, id)
		if gerr != nil {
			return nil, gerr
		}
		return nil, h.codeReplayed(ctx, latest, family)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// codeReplayed revokes the refresh tokens issued from a code redeemed a
// second time (and ours, when this request issued some before losing the
// race), and returns AADSTS54005.
func (h *Handler) codeReplayed(ctx context.Context, c store.AuthorizationCode, ours string) error {
	for _, fam := range []string{c.RefreshTokenFamilyID, ours} {
		if fam == "" {
			continue
		}
		n, err := h.opts.Store.RevokeRefreshTokenFamily(ctx, fam)
		if err != nil {
			return err
		}
		if n > 0 {
			h.opts.Logger.WarnContext(ctx, "authorization code replayed: refresh tokens revoked",
				"client_id", c.ClientID, "tenant", c.TenantID, "user", c.UserID, "family", fam, "revoked", n)
		}
	}
	return aadsts.New(aadsts.CodeAlreadyRedeemed)
}

// pkceVerified checks the code_verifier against the authorize request's
// code_challenge (RFC 7636): S256, or plain when the method was omitted.
// A code issued without a challenge needs no verifier.
func pkceVerified(challenge, method, verifier string) bool {
	if challenge == "" {
		return true
	}
	if verifier == "" {
		return false
	}
	want := verifier
	if strings.EqualFold(method, "S256") {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// checkOrigin applies Entra's rules for browser redemptions: a code or
// refresh token issued to a SPA redirect URI is redeemed only cross-origin
// (AADSTS9002327), and only SPA ones may be (AADSTS9002326) — so a web app's
// code cannot be redeemed from a browser that never holds its secret.
func checkOrigin(req *request, platform string) error {
	switch {
	case platform == store.PlatformSPA && req.origin == "":
		return aadsts.New(aadsts.SPARedemptionNeedsOrigin)
	case platform != store.PlatformSPA && req.origin != "":
		return aadsts.New(aadsts.CrossOriginOnlyForSPA, req.origin)
	}
	return nil
}

// tenantAndUser loads the tenant and the user a grant is for, and refuses
// disabled accounts (AADSTS50057). Both come through the request's
// directory view: the user record the revocation checks read is as fresh
// as the directory was when the request came in.
func (h *Handler) tenantAndUser(ctx context.Context, req *request, tenantID, userID string) (store.Tenant, store.User, error) {
	dir, err := h.directory(ctx, req)
	if err != nil {
		return store.Tenant{}, store.User{}, err
	}
	t, err := dir.GetTenant(ctx, tenantID)
	if errors.Is(err, store.ErrNotFound) {
		return t, store.User{}, aadsts.New(aadsts.ExpiredOrRevokedGrant)
	} else if err != nil {
		return t, store.User{}, err
	}
	u, err := dir.GetUser(ctx, tenantID, userID)
	if errors.Is(err, store.ErrNotFound) {
		// The user was deleted since: the grant is gone with them.
		return t, u, aadsts.New(aadsts.ExpiredOrRevokedGrant)
	} else if err != nil {
		return t, u, err
	}
	if !u.AccountEnabled {
		return t, u, aadsts.New(aadsts.UserDisabled)
	}
	return t, u, nil
}

// withOIDCScopes adds to scope the OpenID Connect scopes of granted that it
// lacks.
func withOIDCScopes(scope, granted string) string {
	have := map[string]bool{}
	for _, s := range strings.Fields(scope) {
		have[strings.ToLower(s)] = true
	}
	out := scope
	for _, s := range strings.Fields(granted) {
		switch l := strings.ToLower(s); l {
		case directory.ScopeOpenID, directory.ScopeProfile, directory.ScopeEmail, directory.ScopeOfflineAccess:
			if !have[l] {
				out += " " + l
				have[l] = true
			}
		}
	}
	return strings.TrimSpace(out)
}
