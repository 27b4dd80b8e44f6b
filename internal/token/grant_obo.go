package token

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/jwtverify"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// GrantJWTBearer is the grant_type of the on-behalf-of grant (RFC 7523's
// JWT bearer grant with Microsoft's requested_token_use=on_behalf_of).
const GrantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// onBehalfOf exchanges a user's access token for one to a downstream API
// (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
// requested_token_use=on_behalf_of, assertion, scope or v1 resource). The
// caller is a middle-tier API, a confidential client; the assertion is the
// token its own caller sent it:
//   - a valid Entrance access token (internal/jwtverify: signature against
//     the tenant's published keys, RS256 only, the tenant's issuer, exp and
//     nbf) — else AADSTS50013, or 500133 when expired;
//   - issued for the caller: aud is its appId or one of its identifier URIs
//     (AADSTS500131), so an API cannot exchange tokens meant for another;
//   - for a user: an app-only token cannot be exchanged (AADSTS7000114).
//
// The new token is for the same user (oid, sub, name...) with the caller as
// appid/azp, and needs the user's (or an admin's) consent for the caller on
// the downstream API (AADSTS65001). offline_access adds a refresh token,
// which belongs to the caller.
func (h *Handler) onBehalfOf(ctx context.Context, req *request) (*result, error) {
	switch use := req.form.Get("requested_token_use"); use {
	case "on_behalf_of":
	case "":
		return nil, aadsts.New(aadsts.MissingParameter, "requested_token_use")
	default:
		return nil, aadsts.New(aadsts.InvalidRequestParameter, "requested_token_use")
	}
	assertion := req.form.Get("assertion")
	if assertion == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "assertion")
	}
	app, err := h.client(ctx, req)
	if err != nil {
		return nil, err
	}
	acr, err := h.authenticate(ctx, req, app, true)
	if err != nil {
		return nil, err
	}
	if err := checkOrigin(req, store.PlatformWeb); err != nil {
		return nil, err
	}

	c, err := h.opts.Verifier.Verify(ctx, assertion, &app)
	var ve *jwtverify.Error
	switch {
	case errors.As(err, &ve) && (ve.Kind == jwtverify.Expired || ve.Kind == jwtverify.NotYetValid):
		return nil, aadsts.New(aadsts.UserAssertionExpired, req.now.UTC().Format(time.DateTime), time.Unix(c.Exp, 0).UTC().Format(time.DateTime))
	case errors.As(err, &ve):
		return nil, aadsts.New(aadsts.InvalidUserAssertion, ve.Reason)
	case err != nil:
		return nil, err
	}
	if !audienceIsApp(c.Aud, app) {
		return nil, aadsts.New(aadsts.UserAssertionAudience, c.Aud, app.AppID, app.AppID, app.DisplayName)
	}
	if c.AppOnly() {
		return nil, aadsts.New(aadsts.AppOnlyOnBehalfOf, app.AppID)
	}
	if !req.tenantAllows(c.Tid) {
		// The user's token is from another tenant than the one asked for.
		return nil, aadsts.New(aadsts.InvalidUserAssertion, "The assertion was issued by tenant '"+c.Tid+"', not by '"+req.tenantSeg+"'.")
	}
	tenant, user, err := h.tenantAndUser(ctx, req, strings.ToLower(c.Tid), strings.ToLower(c.Oid))
	if err != nil {
		return nil, err
	}
	issued := c.IssuedAt()
	if v := user.SignInSessionsValidFromDateTime; !v.IsZero() && issued.Before(v) {
		// An admin revoked the user's sessions after this token was issued.
		return nil, aadsts.New(aadsts.GrantRevoked, entraTime(issued), entraTime(v))
	}
	authTime := issued
	if c.AuthTime != 0 {
		authTime = time.Unix(c.AuthTime, 0)
	}
	// v2 tokens carry no amr; Entrance signs users in with a password only.
	amr := c.AMR
	if len(amr) == 0 {
		amr = []string{store.AuthMethodPassword}
	}
	return h.issueForUser(ctx, req, tokens.Grant{
		Tenant: tenant, Client: app, User: user, ClientAuth: acr,
		AuthTime: authTime, AuthMethods: amr,
		Confidential: true, Platform: store.PlatformWeb,
	}, req.form.Get("scope"), req.form.Get("resource"), true)
}

// audienceIsApp reports whether aud names app: its appId (v2 tokens, or v1
// ones asked for by GUID) or one of its identifier URIs (v1 tokens).
func audienceIsApp(aud string, app store.Application) bool {
	if strings.EqualFold(aud, app.AppID) {
		return true
	}
	return slices.ContainsFunc(app.IdentifierURIs, func(u string) bool {
		return strings.EqualFold(strings.TrimSuffix(u, "/"), strings.TrimSuffix(aud, "/"))
	})
}
