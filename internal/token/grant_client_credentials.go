package token

import (
	"context"
	"errors"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// GrantClientCredentials is the grant_type of the client credentials grant.
const GrantClientCredentials = "client_credentials"

// clientCredentials issues an app-only access token (grant_type=
// client_credentials): scope={resource}/.default on v2 (the App ID URI or
// the appId), resource= on v1. The token carries the app roles assigned to
// the client's service principal on the resource, no scp, and comes without
// an ID token or a refresh token. As in Entra:
//   - only a confidential client may use it (no credential: AADSTS7000218);
//   - not from a browser (an Origin header: AADSTS9002326), since a SPA
//     cannot keep a secret;
//   - not on /common or /consumers (AADSTS9001023, see parse); on
//     /organizations the client's home tenant is meant;
//   - every resource scope must be {resource}/.default (AADSTS1002012); the
//     openid, profile and offline_access MSAL Go adds are ignored.
func (h *Handler) clientCredentials(ctx context.Context, req *request) (*result, error) {
	if req.origin != "" {
		return nil, aadsts.New(aadsts.CrossOriginOnlyForSPA, req.origin)
	}
	scope, resource := req.form.Get("scope"), ""
	if req.version == v1 {
		if resource = req.form.Get("resource"); resource == "" {
			return nil, aadsts.New(aadsts.MissingParameter, "resource")
		}
	} else if err := onlyDefaultScopes(scope); err != nil {
		return nil, err
	}
	// Who the client is, then its credential, and only then what it asks
	// for: an unauthenticated caller learns nothing about the resources.
	cc, err := h.appOnlyClient(ctx, req)
	if err != nil {
		return nil, err
	}
	acr, err := h.authenticate(ctx, req, cc.client, true)
	if err != nil {
		return nil, err
	}
	res, err := h.appOnlyResource(ctx, req, cc, scope, resource)
	if err != nil {
		return nil, err
	}
	out, err := h.opts.Issuer.IssueAppOnly(ctx, tokens.AppGrant{
		Tenant: cc.tenant, Client: cc.client, ServicePrincipalID: cc.sp.ID, ClientAuth: acr,
		Resolution: res.res, Roles: res.roles,
	})
	if err != nil {
		return nil, err
	}
	// Entra's client credentials answers carry no scope; v1 ones name the
	// resource as asked.
	return &result{Issued: out, resource: resource}, nil
}

// onlyDefaultScopes checks a v2 client credentials scope: every scope that
// is not an OpenID Connect one must be {resource}/.default.
func onlyDefaultScopes(scope string) error {
	found := false
	for _, s := range strings.Fields(scope) {
		if scopes.IsOIDC(s) {
			continue
		}
		if !strings.HasSuffix(strings.ToLower(s), "/"+scopes.DefaultScope) {
			return aadsts.New(aadsts.ClientCredentialsNeedsDefault, s)
		}
		found = true
	}
	if !found {
		if strings.TrimSpace(scope) == "" {
			return aadsts.New(aadsts.MissingParameter, "scope")
		}
		return aadsts.New(aadsts.ClientCredentialsNeedsDefault, scope)
	}
	return nil
}

// appOnly is the client of a client credentials request in the tenant,
// and appOnlyGrant what it asks for. Both change only when the directory
// does, so both are cached (see dirCache); the client's credentials are
// checked on every request, against the cached copy.
type appOnly struct {
	tenant store.Tenant
	client store.Application
	sp     store.ServicePrincipal
}

type appOnlyGrant struct {
	res   scopes.Resolution
	roles []string
}

// appOnlyClient resolves the tenant (on /organizations, the client's home
// tenant, as Entra guesses it), the client and its service principal there:
// the client acts as it, its home one or the one consent created for a
// multi-tenant app (none: AADSTS700016; disabled: AADSTS7000112).
func (h *Handler) appOnlyClient(ctx context.Context, req *request) (appOnly, error) {
	key := "cc-client\x00" + req.tenantSeg + "\x00" + strings.ToLower(req.clientID)
	return cached(ctx, h.cache, key, func() (appOnly, error) {
		var cc appOnly
		var err error
		if cc.client, err = h.client(ctx, req); err != nil {
			return cc, err
		}
		if cc.tenant = req.tenant; cc.tenant.ID == "" {
			if cc.tenant, err = h.opts.Store.GetTenant(ctx, cc.client.TenantID); err != nil {
				return cc, err
			}
		}
		cc.sp, err = h.opts.Store.GetServicePrincipalByAppID(ctx, cc.tenant.ID, cc.client.AppID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return cc, aadsts.New(aadsts.AppNotFound, req.clientID, req.tenantSeg)
		case err != nil:
			return cc, err
		case !cc.sp.AccountEnabled:
			return cc, aadsts.New(aadsts.AppDisabled, cc.client.AppID, cc.client.DisplayName)
		}
		return cc, nil
	})
}

// appOnlyResource resolves the resource of scope (v2) or resource (v1)
// and the app roles the client's service principal holds on it.
func (h *Handler) appOnlyResource(ctx context.Context, req *request, cc appOnly, scope, resource string) (appOnlyGrant, error) {
	key := strings.Join([]string{"cc-resource", cc.tenant.ID, cc.client.AppID, scope, resource}, "\x00")
	return cached(ctx, h.cache, key, func() (appOnlyGrant, error) {
		var g appOnlyGrant
		var err error
		if g.res, err = scopes.Resolve(ctx, h.opts.Store, cc.tenant.ID, cc.client, scope, resource); err != nil {
			return g, err
		}
		if !g.res.Default {
			return g, aadsts.New(aadsts.ClientCredentialsNeedsDefault, scope)
		}
		if err := g.res.CheckSelf(); err != nil {
			return g, err
		}
		g.roles, err = scopes.AppRoles(ctx, h.opts.Store, cc.tenant.ID, g.res.Resource, cc.client.AppID)
		return g, err
	})
}
