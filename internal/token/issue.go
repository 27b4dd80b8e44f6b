package token

import (
	"context"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/tokens"
)

// result is a grant's answer: the tokens and the response's scope (and, on
// v1, resource).
type result struct {
	*tokens.Issued
	scope    string
	resource string
}

// issueForUser finishes a grant that acts for a signed-in user: it resolves
// the scope (v2) or resource (v1) and the user's consent (internal/scopes),
// decides which tokens go out, and issues them. g carries what the grant
// established (who, how they authenticated, the refresh token family).
//
// checkSelf applies AADSTS90009 (a client asking for itself by App ID URI),
// which Entra enforces on every grant but the code redemption.
func (h *Handler) issueForUser(ctx context.Context, req *request, g tokens.Grant, scope, resource string, checkSelf bool) (*result, error) {
	if req.version == v2 {
		resource = ""
	} else if resource == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "resource")
	}
	dir, err := h.directory(ctx, req)
	if err != nil {
		return nil, err
	}
	// What the directory says about this request depends on nothing else:
	// computed once per directory version (see memo).
	key := strings.Join([]string{"for-user", g.Tenant.ID, g.Client.AppID, g.User.ID, scope, resource, strconv.FormatBool(checkSelf)}, "\x00")
	rd, err := memo(dir, key, func() (resolved, error) {
		res, err := scopes.Resolve(ctx, dir, g.Tenant.ID, g.Client, scope, resource)
		if err != nil {
			return resolved{}, err
		}
		if checkSelf {
			if err := res.CheckSelf(); err != nil {
				return resolved{}, err
			}
		}
		del, err := scopes.ForUser(ctx, dir, g.Tenant.ID, g.Client, res, g.User.ID)
		return resolved{res, del}, err
	})
	if err != nil {
		return nil, err
	}
	res, del := rd.res, rd.del
	g.Resolution, g.Delegated, g.Directory = res, del, dir
	g.EndpointVersion, g.IPAddress = req.version, req.ipAddress()
	g.ClientInfo = req.form.Get("client_info") == "1"
	// The v1 endpoint always answers with an ID token and a refresh token:
	// ADAL-era clients read the user from the one and keep the other without
	// ever asking for openid or offline_access.
	g.IDToken = res.Has(directory.ScopeOpenID) || req.version == v1
	g.RefreshToken = res.Has(directory.ScopeOfflineAccess) || req.version == v1
	if g.RefreshScope == "" {
		g.RefreshScope = refreshScope(req, scope, resource)
	}
	out, err := h.opts.Issuer.Issue(ctx, g)
	if err != nil {
		return nil, err
	}
	r := &result{Issued: out, scope: del.Scope}
	if req.version == v1 {
		r.scope, r.resource = scopes.ResponseScopeV1(del.Scopes), resource
	}
	return r, nil
}

// resolved is a request's resource, scopes and consent (scopes.Resolve and
// scopes.ForUser). Issuing only reads it, so requests share it.
type resolved struct {
	res scopes.Resolution
	del scopes.Delegated
}

// refreshScope is what a refresh token remembers to resolve again when it is
// redeemed without scope or resource: on v2 the scope asked for, on v1 the
// resource as {resource}/.default (everything consented on it, which is what
// resource= means) with the OpenID Connect scopes.
func refreshScope(req *request, scope, resource string) string {
	if req.version == v2 {
		return scope
	}
	return strings.TrimSpace(resource + "/" + scopes.DefaultScope + " " + withOIDCScopes("", scope))
}

// splitDefault splits a v1 refresh token's scope, "{resource}/.default"
// and OpenID Connect scopes, into the resource and the rest.
func splitDefault(scope string) (resource, rest string) {
	var others []string
	for _, s := range strings.Fields(scope) {
		if r, ok := strings.CutSuffix(s, "/"+scopes.DefaultScope); ok && resource == "" {
			resource = r
			continue
		}
		others = append(others, s)
	}
	return resource, strings.Join(others, " ")
}
