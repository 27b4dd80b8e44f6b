package token

import (
	"context"
	"errors"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/devicecode"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// Grant type values of the device code grant: RFC 8628's URN, and the bare
// "device_code" that MSAL and ADAL send (Entra takes both).
const (
	GrantDeviceCode      = "urn:ietf:params:oauth:grant-type:device_code"
	GrantDeviceCodeShort = "device_code"
)

// errDeviceCodeRedeemed aborts the claim of a device code another poll
// redeemed first.
var errDeviceCodeRedeemed = errors.New("device code already redeemed")

// deviceCode answers a poll of the device code grant: device_code (ADAL
// sends it as code), client_id. Until the user has finished at the device
// page the answer is authorization_pending, or slow_down when the device
// polls faster than the interval; then authorization_declined, or the
// tokens — to exactly one poll — or expired_token after 15 minutes. All
// are HTTP 400 but the tokens, as at Entra.
func (h *Handler) deviceCode(ctx context.Context, req *request) (*result, error) {
	value := firstNonEmpty(req.form.Get("device_code"), req.form.Get("code"))
	if value == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "device_code")
	}
	app, err := h.client(ctx, req)
	if err != nil {
		return nil, err
	}
	id := store.HashToken(value)
	dc, err := h.opts.Store.GetDeviceCode(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, aadsts.New(aadsts.BadVerificationCode)
	} else if err != nil {
		return nil, err
	}
	// A device code of another client, or polled at another tenant than
	// the one it was asked at (or the one the user signed in to), is not
	// one this request can know about.
	if !strings.EqualFold(dc.ClientID, app.AppID) || !req.tenantAllows(dc.TenantID) {
		return nil, aadsts.New(aadsts.BadVerificationCode)
	}
	public := app.IsFallbackPublicClient
	platform := store.PlatformWeb
	if public {
		platform = store.PlatformPublicClient
	}
	acr, err := h.authenticate(ctx, req, app, !public)
	if err != nil {
		return nil, err
	}
	if err := checkOrigin(req, platform); err != nil {
		return nil, err
	}

	switch now := req.now; {
	case !dc.RedeemedAt.IsZero():
		return nil, aadsts.New(aadsts.InvalidGrant)
	case !now.Before(dc.ExpiresAt):
		return nil, aadsts.New(aadsts.DeviceCodeExpiredPoll)
	case !dc.DeclinedAt.IsZero():
		return nil, aadsts.New(aadsts.UserDeclinedConsent).WithOAuthError("authorization_declined")
	case dc.ApprovedAt.IsZero():
		return nil, h.devicePending(ctx, id, req)
	}

	tenant, user, err := h.tenantAndUser(ctx, req, dc.TenantID, dc.UserID)
	if err != nil {
		return nil, err
	}
	// MSAL sends the scope again with every poll; the OpenID Connect scopes
	// asked for at the device code endpoint stay granted either way.
	scope, resource := req.form.Get("scope"), req.form.Get("resource")
	if scope == "" {
		scope = dc.Scope
	} else {
		scope = withOIDCScopes(scope, dc.Scope)
	}
	if resource == "" {
		resource = dc.Resource
	}
	// Issue, then claim the device code under its row lock: of two polls
	// that both got here, the one that loses revokes the refresh token it
	// issued and gets no tokens.
	family := ids.NewGUID()
	out, err := h.issueForUser(ctx, req, tokens.Grant{
		Tenant: tenant, Client: app, User: user, ClientAuth: acr,
		AuthTime: dc.AuthTime, AuthMethods: dc.AuthMethods, SessionID: dc.SessionID,
		FamilyID: family, Confidential: !public, Platform: platform,
	}, scope, resource, true)
	if err != nil {
		return nil, err
	}
	_, err = h.opts.Store.UpdateDeviceCode(ctx, id, func(v store.DeviceCode) (store.DeviceCode, error) {
		if !v.RedeemedAt.IsZero() {
			return v, errDeviceCodeRedeemed
		}
		v.RedeemedAt = req.now.UTC()
		return v, nil
	})
	if errors.Is(err, errDeviceCodeRedeemed) {
		if _, rerr := h.opts.Store.RevokeRefreshTokenFamily(ctx, family); rerr != nil {
			return nil, rerr
		}
		return nil, aadsts.New(aadsts.InvalidGrant)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// devicePending records the poll and answers authorization_pending, or
// slow_down when the previous poll was less than the interval ago (RFC
// 8628 §3.5; the first poll is never too early). MSAL keeps polling on both,
// starting at 50 ms and tripling its wait up to 5 s, so a few slow_downs
// are normal. The interval is not raised after a slow_down (as RFC 8628
// asks of clients): MSAL ignores the interval, and a client that keeps
// polling too fast keeps getting slow_down.
func (h *Handler) devicePending(ctx context.Context, id string, req *request) error {
	tooFast := false
	_, err := h.opts.Store.UpdateDeviceCode(ctx, id, func(v store.DeviceCode) (store.DeviceCode, error) {
		tooFast = !v.LastPolledAt.IsZero() && req.now.Sub(v.LastPolledAt) < devicecode.Interval
		v.LastPolledAt = req.now.UTC()
		return v, nil
	})
	if err != nil {
		return err
	}
	e := aadsts.New(aadsts.DeviceCodeAuthorizationPend)
	if tooFast {
		e = e.WithOAuthError("slow_down")
	}
	return e
}
