package token

import (
	"context"
	"errors"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// GrantPassword is the grant_type of the resource owner password
// credentials grant (ROPC).
const GrantPassword = "password"

// password signs a user in with their username and password (grant_type=
// password, username, password, scope or v1 resource). Entra allows it
// only in these cases, and so does Entrance:
//   - a public client only when the app allows public client flows
//     (isFallbackPublicClient: true); it must then send no credential
//     (AADSTS700025). Otherwise the app is confidential and must
//     authenticate (AADSTS7000218);
//   - not on /common or /consumers of the v2 endpoint (AADSTS9001023, see
//     parse); /organizations (and v1's /common) find the tenant from the
//     username's domain;
//   - members only: a guest is refused once their password is verified
//     (AADSTS50020), since guests authenticate at home. Entrance has no
//     second factor, so no account needs more than its password;
//   - not from a browser (an Origin header: AADSTS9002326).
//
// The password is checked by internal/authn, as on the sign-in page: the
// same lockout, the same AADSTS50126 for an unknown user and a wrong
// password, and a sign-in log entry. Consent must already exist (there is no
// page to ask on: AADSTS65001).
func (h *Handler) password(ctx context.Context, req *request) (*result, error) {
	username, pw := strings.TrimSpace(req.form.Get("username")), req.form.Get("password")
	if username == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "username")
	}
	if pw == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "password")
	}
	if err := checkOrigin(req, store.PlatformWeb); err != nil {
		return nil, err
	}
	app, err := h.client(ctx, req)
	if err != nil {
		return nil, err
	}
	public := app.IsFallbackPublicClient
	acr, err := h.authenticate(ctx, req, app, !public)
	if err != nil {
		return nil, err
	}
	tenant, err := h.passwordTenant(ctx, req, app, username)
	if err != nil {
		return nil, err
	}
	sp, err := h.opts.Store.GetServicePrincipalByAppID(ctx, tenant.ID, app.AppID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A multi-tenant app nobody in this tenant has consented to.
		return nil, aadsts.New(aadsts.AppNotFound, req.clientID, tenant.ID)
	case err != nil:
		return nil, err
	case !sp.AccountEnabled:
		return nil, aadsts.New(aadsts.AppDisabled, app.AppID, app.DisplayName)
	}

	at := authn.Attempt{
		TenantID: tenant.ID, Username: username, Password: pw,
		AppID: app.AppID, AppDisplayName: app.DisplayName, IP: req.ipAddress(),
		CorrelationID: aadsts.CorrelationID(req.r), ClientApp: authn.ClientAppMobileDesktop, MembersOnly: true,
	}
	user, err := h.opts.Authn.Password(ctx, at)
	if err != nil {
		return nil, err
	}
	if sp.AppRoleAssignmentRequired {
		ok, err := scopes.IsAssigned(ctx, h.opts.Store, tenant.ID, app, user.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, aadsts.New(aadsts.UserNotAssigned, app.AppID, app.DisplayName, user.UserPrincipalName)
		}
	}
	platform := store.PlatformWeb
	if public {
		platform = store.PlatformPublicClient
	}
	return h.issueForUser(ctx, req, tokens.Grant{
		Tenant: tenant, Client: app, User: user, ClientAuth: acr,
		AuthTime: req.now, AuthMethods: []string{store.AuthMethodPassword},
		Confidential: !public, Platform: platform,
	}, req.form.Get("scope"), req.form.Get("resource"), true)
}

// passwordTenant is the tenant a password grant signs in to: the one in the
// path, or for /organizations (and v1's /common) the tenant owning the
// username's domain — Entra's home realm discovery. An unknown domain falls
// back to the client's home tenant, where authn answers AADSTS50126 like for
// any unknown user.
func (h *Handler) passwordTenant(ctx context.Context, req *request, app store.Application, username string) (store.Tenant, error) {
	if req.tenant.ID != "" {
		return req.tenant, nil
	}
	if _, domain, ok := directory.SplitUPN(username); ok && directory.IsDomainName(strings.ToLower(domain)) {
		t, err := h.opts.Store.GetTenantByDomain(ctx, strings.ToLower(domain))
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return t, err
		}
	}
	return h.opts.Store.GetTenant(ctx, app.TenantID)
}
