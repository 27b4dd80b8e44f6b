package token

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// errRefreshTokenUsed aborts the UpdateRefreshToken of a redemption that
// lost to another one (or to a revocation).
var errRefreshTokenUsed = errors.New("refresh token already redeemed or revoked")

// refreshToken redeems a refresh token (grant_type=refresh_token): every
// redemption returns a new refresh token of the same family. As in Entra
// ("the Microsoft identity platform doesn't revoke old refresh tokens when
// used to fetch new access tokens"), the old one stays valid until its own
// inactivity limit — clients that refresh from several processes at once
// rely on that. With Options.SingleUseRefreshTokens the old one is marked
// redeemed and a second use fails (AADSTS70008). scope (v2) or resource (v1)
// may name another resource the client has consent for, as Entra's
// multi-resource refresh tokens allow.
//
// Revocation follows seed 002's table: an admin "revoke sessions"
// (signInSessionsValidFromDateTime) revokes every refresh token issued
// before it; a password change revokes the password-based refresh tokens of
// public clients, but not those of confidential clients.
func (h *Handler) refreshToken(ctx context.Context, req *request) (*result, error) {
	value := req.form.Get("refresh_token")
	if value == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "refresh_token")
	}
	app, err := h.client(ctx, req)
	if err != nil {
		return nil, err
	}
	id := tokens.NewRefreshTokenID(value)
	rt, err := h.opts.Store.GetRefreshToken(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, aadsts.New(aadsts.MalformedRequest)
	} else if err != nil {
		return nil, err
	}
	// A B2C user flow's grant (Policy set) is redeemed only at that flow's
	// token endpoint (internal/b2c), which issues B2C's tokens.
	if !strings.EqualFold(rt.ClientID, app.AppID) || rt.Policy != "" {
		return nil, aadsts.New(aadsts.InvalidGrant)
	}
	acr, err := h.authenticate(ctx, req, app, rt.Confidential)
	if err != nil {
		return nil, err
	}
	if err := checkOrigin(req, rt.Platform); err != nil {
		return nil, err
	}
	if !req.tenantAllows(rt.TenantID) {
		return nil, aadsts.New(aadsts.InvalidGrant)
	}
	if err := h.refreshTokenUsable(rt, req.now); err != nil {
		return nil, err
	}
	tenant, user, err := h.tenantAndUser(ctx, req, rt.TenantID, rt.UserID)
	if err != nil {
		return nil, err
	}
	if err := revokedByUser(rt, user); err != nil {
		return nil, err
	}

	scope, resource := req.form.Get("scope"), req.form.Get("resource")
	if scope == "" && resource == "" {
		scope = rt.Scope
		if req.version == v1 {
			resource, scope = splitDefault(rt.Scope)
		}
	} else {
		scope = withOIDCScopes(scope, rt.Scope)
	}
	refreshScope := rt.Scope
	if req.form.Get("scope") != "" || req.form.Get("resource") != "" {
		refreshScope = "" // remember the new request's
	}
	out, err := h.issueForUser(ctx, req, tokens.Grant{
		Tenant: tenant, Client: app, User: user, ClientAuth: acr,
		AuthTime: rt.AuthTime, AuthMethods: rt.AuthMethods, SessionID: rt.SessionID,
		FamilyID: rt.FamilyID, FamilyCreatedAt: rt.FamilyCreatedAt,
		Confidential: rt.Confidential, Platform: rt.Platform, RefreshScope: refreshScope,
	}, scope, resource, true)
	if err != nil {
		return nil, err
	}
	if !h.opts.SingleUseRefreshTokens {
		return out, nil
	}
	// Claim the old token only now: a redemption that fails before this
	// point leaves the client its refresh token.
	_, err = h.opts.Store.UpdateRefreshToken(ctx, id, func(t store.RefreshToken) (store.RefreshToken, error) {
		if !t.RedeemedAt.IsZero() || t.Revoked {
			return t, errRefreshTokenUsed
		}
		t.RedeemedAt = req.now.UTC()
		return t, nil
	})
	if errors.Is(err, errRefreshTokenUsed) {
		// Lost the race: the token issued here must not outlive it.
		if out.RefreshToken != "" {
			if _, rerr := h.opts.Store.UpdateRefreshToken(ctx, out.Refresh.ID, func(t store.RefreshToken) (store.RefreshToken, error) {
				t.Revoked = true
				return t, nil
			}); rerr != nil {
				return nil, rerr
			}
		}
		return nil, aadsts.New(aadsts.ExpiredOrRevokedGrant)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// refreshTokenUsable checks the token's own state: revoked (its family was,
// for instance by a code replay), already redeemed (with single-use refresh
// tokens), its SPA lifetime or its inactivity window over.
func (h *Handler) refreshTokenUsable(rt store.RefreshToken, now time.Time) error {
	switch {
	case rt.Revoked || (h.opts.SingleUseRefreshTokens && !rt.RedeemedAt.IsZero()):
		return aadsts.New(aadsts.ExpiredOrRevokedGrant)
	case rt.Platform == store.PlatformSPA && !now.Before(rt.ExpiresAt):
		return aadsts.New(aadsts.SPARefreshTokenExpired, rt.ExpiresAt.Sub(rt.FamilyCreatedAt).String(), entraTime(rt.FamilyCreatedAt))
	case !now.Before(rt.ExpiresAt):
		return aadsts.New(aadsts.RefreshTokenInactive, entraTime(rt.IssuedAt), now.Sub(rt.IssuedAt).Truncate(time.Second).String())
	}
	return nil
}

// revokedByUser applies the revocations that come from the user object.
func revokedByUser(rt store.RefreshToken, u store.User) error {
	if v := u.SignInSessionsValidFromDateTime; !v.IsZero() && rt.AuthTime.Before(v) {
		return aadsts.New(aadsts.GrantRevoked, entraTime(rt.AuthTime), entraTime(v))
	}
	if p := u.LastPasswordChangeDateTime; !rt.Confidential && !p.IsZero() && rt.AuthTime.Before(p) &&
		slices.Contains(rt.AuthMethods, store.AuthMethodPassword) {
		return aadsts.New(aadsts.GrantRevoked, entraTime(rt.AuthTime), entraTime(p))
	}
	return nil
}

// entraTime formats a time as Entra's messages do.
func entraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }
