// Package scopes resolves what a request asks for — the v2 scope parameter
// or the v1 resource parameter — into one resource and its permissions, the
// way Entra does, and answers the questions around it: what the user has
// consented to, what is still missing, which app roles, groups and directory
// roles go into a token. The authorize endpoint (consent page) and the token
// endpoint both use it, so they agree.
//
// The OpenID Connect scopes (openid, profile, email, offline_access) are
// Microsoft Graph delegated permissions in Entra, consented to and stored on
// Graph like User.Read; the built-in Graph is directory.GraphApplication.
package scopes

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// DefaultScope is the scope value that stands for everything consented.
const DefaultScope = ".default"

// oidcOrder is Entra's order of the OpenID Connect scopes.
var oidcOrder = []string{directory.ScopeOpenID, directory.ScopeProfile, directory.ScopeEmail, directory.ScopeOfflineAccess}

// IsOIDC reports whether s is one of the OpenID Connect scopes.
func IsOIDC(s string) bool { return slices.Contains(oidcOrder, strings.ToLower(s)) }

// Resolution is what a request asks for, resolved.
type Resolution struct {
	// Resource is the API the access token is for: an application from the
	// store, or directory.GraphApplication() for Graph — also when the
	// request names no resource at all (bare scopes such as User.Read, or
	// only OpenID Connect scopes: Entra then issues a Graph token, the one
	// userinfo accepts).
	Resource store.Application
	// Identifier is how the client named the resource, as it wrote it (an
	// App ID URI or an appId); empty when it named none.
	Identifier string
	// Scopes are the delegated scope values requested on Resource, spelled
	// as the resource defines them. Empty for .default and OIDC-only requests.
	Scopes []string
	// Default is true for {resource}/.default and for v1 resource=: the token
	// carries everything consented.
	Default bool
	// OIDC are the OpenID Connect scopes requested, in Entra's order.
	OIDC []string
	// SelfByURI: the client asks for a token for itself by App ID URI
	// (see CheckSelf).
	SelfByURI bool

	clientAppID string
}

// IsGraph reports whether the token is for Microsoft Graph.
func (r Resolution) IsGraph() bool { return r.Resource.AppID == directory.GraphAppID }

// Has reports whether OpenID Connect scope s was requested.
func (r Resolution) Has(s string) bool { return slices.Contains(r.OIDC, strings.ToLower(s)) }

// Audience is the aud of a v1.0 access token: the identifier the client
// used, or the resource's appId when it named none (Graph tokens for bare
// scopes carry Graph's appId).
func (r Resolution) Audience() string {
	if r.Identifier != "" {
		return r.Identifier
	}
	return r.Resource.AppID
}

// CheckSelf returns AADSTS90009 when the client asked for a token for itself
// by App ID URI. Entra tolerates that at /authorize and when redeeming the
// code, but refuses it on the other grants (refresh_token, password, device
// code, on-behalf-of, client_credentials): a client that signs in with
// api://{its id}/scope fails at its first refresh. The token endpoint calls
// this for those grants.
func (r Resolution) CheckSelf() error {
	if !r.SelfByURI {
		return nil
	}
	return aadsts.New(aadsts.TokenForItselfNeedsGUID, r.clientAppID, r.Identifier)
}

// ResponseScope is the "scope" of a v2.0 token response for a token that
// carries granted (the scp values). As recorded Entra responses show, Graph
// lists the OpenID Connect scopes first (email openid profile; never
// offline_access), then its permissions (as full URIs when the client named
// Graph's URI, bare when it asked for bare values); other resources list
// their permissions as {identifier}/{value}. A .default request adds
// {identifier}/.default at the end.
func (r Resolution) ResponseScope(granted []string) string {
	var out, values []string
	prefix := r.Audience() + "/"
	if r.IsGraph() {
		// Graph permissions come back spelled as the client asked: bare
		// (User.Read) or as full URIs. MSAL compares the response's scopes
		// with the request's, case-insensitively, and fails on any missing.
		prefix = directory.GraphURI + "/"
		if r.Identifier == "" {
			prefix = ""
		}
		oidc := map[string]bool{}
		for _, s := range append(slices.Clone(r.OIDC), granted...) {
			oidc[strings.ToLower(s)] = true
		}
		for _, s := range []string{directory.ScopeEmail, directory.ScopeOpenID, directory.ScopeProfile} {
			if oidc[s] {
				out = append(out, s)
			}
		}
	}
	for _, s := range granted {
		if !r.IsGraph() || !IsOIDC(s) {
			values = append(values, s)
		}
	}
	sort.Strings(values)
	for _, s := range values {
		out = append(out, prefix+s)
	}
	if r.Default {
		out = append(out, prefix+DefaultScope)
	}
	return strings.Join(out, " ")
}

// ResponseScopeV1 is the "scope" of a v1.0 token response: the bare values.
func ResponseScopeV1(granted []string) string { return strings.Join(granted, " ") }

// ask is one resource-scoped token of the scope parameter.
type ask struct {
	token string // as written, for error messages
	ident string // the resource identifier; "" for a bare value (Graph)
	value string
}

// Resolve resolves a request of client in tenantID: scope is the v2 scope
// parameter (for v1, the scope parameter, which only adds OpenID Connect
// scopes) and resource the v1 resource parameter or "". Rules, as Entra's:
//   - openid, profile, email, offline_access are OpenID Connect scopes;
//   - {identifier}/{value}: identifier an App ID URI or appId; a bare value
//     (User.Read) is a Graph scope; {identifier}/.default asks for everything
//     consented and cannot be mixed with other scopes of the resource (70011);
//   - one resource per request (700022); an unknown resource, or one without
//     a service principal in the tenant, is 500011; a scope the resource
//     does not expose (or has disabled) is 70011;
//   - only OpenID Connect scopes: a Graph token (Scopes empty);
//   - no scope and no resource: 900144.
//
// Errors are *aadsts.Error, or store errors.
func Resolve(ctx context.Context, st store.Directory, tenantID string, client store.Application, scope, resource string) (Resolution, error) {
	r := Resolution{clientAppID: client.AppID}
	var asks []ask
	seen := map[string]bool{}
	for _, tok := range strings.Fields(scope) {
		key := strings.ToLower(tok)
		switch {
		case seen[key]:
			continue
		case IsOIDC(key):
			r.OIDC = append(r.OIDC, key)
		case resource != "":
			// v1 takes the resource from resource=; its scope parameter
			// only matters for openid.
		default:
			a := ask{token: tok, value: tok}
			if i := strings.LastIndexByte(tok, '/'); i >= 0 {
				a.ident, a.value = tok[:i], tok[i+1:]
				if a.ident == "" || a.value == "" {
					return Resolution{}, aadsts.New(aadsts.InvalidScope, tok)
				}
			}
			asks = append(asks, a)
		}
		seen[key] = true
	}
	slices.SortStableFunc(r.OIDC, func(a, b string) int { return slices.Index(oidcOrder, a) - slices.Index(oidcOrder, b) })
	if resource != "" {
		asks = append(asks, ask{token: resource, ident: resource, value: DefaultScope})
	}
	if len(asks) == 0 {
		if len(r.OIDC) == 0 {
			return Resolution{}, aadsts.New(aadsts.MissingParameter, "scope")
		}
		r.Resource = directory.GraphApplication()
		return r, nil
	}

	apps := map[string]store.Application{} // by lower(identifier)
	for _, a := range asks {
		key := strings.ToLower(a.ident)
		app, ok := apps[key]
		if !ok {
			var err error
			if app, err = findResource(ctx, st, tenantID, a.ident); err != nil {
				return Resolution{}, err
			}
			apps[key] = app
		}
		switch {
		case r.Resource.AppID == "":
			r.Resource = app
		case r.Resource.AppID != app.AppID:
			return Resolution{}, aadsts.New(aadsts.MultipleResourcesInScope, scope)
		}
		if r.Identifier == "" && a.ident != "" {
			r.Identifier = a.ident
		}
		if strings.EqualFold(a.value, DefaultScope) {
			r.Default = true
			continue
		}
		ps, ok := scopeByValue(app, a.value)
		if !ok {
			return Resolution{}, aadsts.New(aadsts.InvalidScope, a.token)
		}
		if !slices.Contains(r.Scopes, ps.Value) {
			r.Scopes = append(r.Scopes, ps.Value)
		}
	}
	if r.Default && len(r.Scopes) > 0 {
		// "Clients can't combine static (.default) consent and dynamic consent."
		return Resolution{}, aadsts.New(aadsts.InvalidScope, scope)
	}
	r.SelfByURI = r.Resource.AppID == client.AppID && r.Identifier != "" && !ids.IsGUID(r.Identifier)
	return r, nil
}

// findResource finds the resource an identifier names ("" is Graph) and
// checks it is usable in the tenant: Graph always is; another app must be
// homed there or have a service principal there (installed or consented).
func findResource(ctx context.Context, st store.Directory, tenantID, ident string) (store.Application, error) {
	if ident == "" {
		return directory.GraphApplication(), nil
	}
	app, err := directory.LookupApplication(ctx, st, ident)
	if errors.Is(err, store.ErrNotFound) {
		return store.Application{}, aadsts.New(aadsts.ResourceNotFound, ident, tenantID)
	}
	if err != nil || directory.IsGraph(app.AppID) || app.TenantID == tenantID {
		return app, err
	}
	if _, err := st.GetServicePrincipalByAppID(ctx, tenantID, app.AppID); errors.Is(err, store.ErrNotFound) {
		return store.Application{}, aadsts.New(aadsts.ResourceNotFound, ident, tenantID)
	} else if err != nil {
		return store.Application{}, err
	}
	return app, nil
}

// scopeByValue finds an enabled delegated scope of app by value; Entra
// matches scope values case-insensitively.
func scopeByValue(app store.Application, value string) (store.PermissionScope, bool) {
	for _, s := range app.API.OAuth2PermissionScopes {
		if s.IsEnabled && strings.EqualFold(s.Value, value) {
			return s, true
		}
	}
	return store.PermissionScope{}, false
}
