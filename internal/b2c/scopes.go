package b2c

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/entranceidp/entrance/internal/store"
)

// B2C's scopes (its access token docs): openid asks for an ID token,
// offline_access for a refresh token, the client's own id for an access
// token to itself, and {App ID URI}/{scope} for an access token to an API of
// the tenant. Only one resource per request; an API's scopes count only
// when an administrator granted them to the client (B2C has no user
// consent), and a request succeeds when at least one of them is granted.

// scopeGrant is what a scope parameter resolves to.
type scopeGrant struct {
	OpenID, Offline bool
	// Audience is the access token's aud ("" for none); Scopes its scp.
	Audience string
	Scopes   []string
	// Granted are the request's scopes that hold, in its order: the
	// response's scope.
	Granted []string
}

// hasResource reports whether an access token is asked for.
func (g scopeGrant) hasResource() bool { return g.Audience != "" }

func (h *Handler) resolveScopes(ctx context.Context, t target, client store.Application, scope string) (scopeGrant, error) {
	var g scopeGrant
	var resource *store.Application
	var asked []string // the resource's scope values asked for
	var askedFull []string
	setResource := func(a store.Application) error {
		if resource != nil && resource.AppID != a.AppID {
			return b2cErr(codeMultipleResources, scope)
		}
		resource = &a
		return nil
	}
	for _, s := range strings.Fields(scope) {
		switch ls := strings.ToLower(s); {
		case ls == "openid":
			g.OpenID = true
			g.Granted = append(g.Granted, "openid")
		case ls == "offline_access":
			g.Offline = true
			g.Granted = append(g.Granted, "offline_access")
		case ls == "profile" || ls == "email":
			// MSAL adds these to every request; B2C ignores them.
		case ls == strings.ToLower(client.AppID):
			if err := setResource(client); err != nil {
				return g, err
			}
			g.Granted = append(g.Granted, client.AppID)
		case strings.Contains(s, "/"):
			i := strings.LastIndex(s, "/")
			api, err := h.opts.Store.GetApplicationByIdentifierURI(ctx, s[:i])
			if errors.Is(err, store.ErrNotFound) || err == nil && (api.TenantID != t.tenant.ID || !exposes(api, s[i+1:])) {
				return g, b2cErr(codeScopeNotSupported, s)
			}
			if err != nil {
				return g, err
			}
			if err := setResource(api); err != nil {
				return g, err
			}
			asked, askedFull = append(asked, s[i+1:]), append(askedFull, s)
		default:
			return g, b2cErr(codeScopeNeedsResource, s)
		}
	}
	if resource == nil {
		return g, nil
	}
	g.Audience = resource.AppID
	if resource.AppID == client.AppID {
		return g, nil
	}
	granted, err := h.adminGranted(ctx, t.tenant.ID, client.AppID, resource.AppID)
	if err != nil {
		return g, err
	}
	for i, v := range asked {
		if slices.Contains(granted, v) {
			g.Scopes = append(g.Scopes, v)
			g.Granted = append(g.Granted, askedFull[i])
		}
	}
	if len(g.Scopes) == 0 {
		return g, b2cErr(codeNoPermission)
	}
	return g, nil
}

// exposes reports whether api has the enabled delegated scope value.
func exposes(api store.Application, value string) bool {
	for _, s := range api.API.OAuth2PermissionScopes {
		if s.Value == value && s.IsEnabled {
			return true
		}
	}
	return false
}

// adminGranted lists the scope values granted to the client on the
// resource for everyone (admin consent).
func (h *Handler) adminGranted(ctx context.Context, tenantID, clientAppID, resourceAppID string) ([]string, error) {
	st := h.opts.Store
	client, err := st.GetServicePrincipalByAppID(ctx, tenantID, clientAppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	res, err := st.GetServicePrincipalByAppID(ctx, tenantID, resourceAppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	grants, err := st.ListOAuth2PermissionGrantsOf(ctx, tenantID, client.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, gr := range grants {
		if gr.ResourceID == res.ID && gr.ConsentType == store.ConsentAllPrincipals {
			out = append(out, strings.Fields(gr.Scope)...)
		}
	}
	return out, nil
}
