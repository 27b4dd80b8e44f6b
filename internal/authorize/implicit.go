package authorize

import (
	"net/http"
	"strconv"

	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// implicitTokens issues the tokens an implicit or hybrid response carries —
// the access token (response_type token) and the ID token (id_token) — with
// internal/tokens, as the token endpoint does, so both issue the same
// claims. They are returned as response parameters in Entra's order:
// access_token, token_type, expires_in, scope, id_token. code is the code
// issued alongside (hybrid), which the ID token's c_hash binds.
//
// No refresh token comes from /authorize: the app renews with prompt=none
// in a hidden iframe instead.
func (h *Handler) implicitTokens(r *http.Request, f *flow, app store.Application, u store.User, s store.Session, code string) ([][2]string, error) {
	ctx := r.Context()
	req := f.Req
	tenant, err := h.opts.Store.GetTenant(ctx, f.TenantID)
	if err != nil {
		return nil, err
	}
	res, err := scopes.Resolve(ctx, h.opts.Store, f.TenantID, app, req.Scope, req.Resource)
	if err != nil {
		return nil, err
	}
	del, err := scopes.ForUser(ctx, h.opts.Store, f.TenantID, app, res, u.ID)
	if err != nil {
		return nil, err
	}
	out, err := h.opts.Issuer.Issue(ctx, tokens.Grant{
		Tenant: tenant, Client: app, User: u, Resolution: res, Delegated: del,
		// Nothing authenticates the client at /authorize (appidacr 0).
		ClientAuth: tokens.ClientAuthPublic,
		AuthTime:   f.AuthTime, AuthMethods: f.Methods, SessionID: s.ID,
		Nonce: req.Nonce, EndpointVersion: req.Version, IPAddress: clientIP(r),
		IDToken: req.wants(TypeIDToken), NoAccessToken: !req.wants(TypeToken),
		FromAuthorize: true, Code: code,
	})
	if err != nil {
		return nil, err
	}
	var params [][2]string
	if req.wants(TypeToken) {
		scope := del.Scope
		if req.Version == "1.0" {
			scope = scopes.ResponseScopeV1(del.Scopes)
		}
		params = append(params,
			[2]string{"access_token", out.AccessToken},
			[2]string{"token_type", "Bearer"},
			[2]string{"expires_in", strconv.Itoa(out.ExpiresIn)},
			[2]string{"scope", scope})
	}
	if out.IDToken != "" {
		params = append(params, [2]string{"id_token", out.IDToken})
	}
	return params, nil
}
