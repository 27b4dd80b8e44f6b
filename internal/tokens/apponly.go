package tokens

import (
	"context"
	"time"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
)

// AppGrant is what a client credentials request entitles the client to: an
// access token for the resource with no user in it.
type AppGrant struct {
	Tenant store.Tenant
	Client store.Application
	// ServicePrincipalID is the client's service principal in the tenant:
	// the oid and sub of the token.
	ServicePrincipalID string
	ClientAuth         ClientAuth
	// Resolution names the resource (and how the client named it: the aud
	// of a v1 token).
	Resolution scopes.Resolution
	// Roles are the app roles the client's service principal holds on the
	// resource (scopes.AppRoles).
	Roles []string
}

// IssueAppOnly signs the access token of a client credentials grant: the
// resource's version, roles instead of scp, oid and sub the client's
// service principal, idtyp "app" when the resource asks for it. No ID token
// and no refresh token: the client can always authenticate again.
func (i *Issuer) IssueAppOnly(ctx context.Context, g AppGrant) (*Issued, error) {
	now := i.opts.Now().UTC().Truncate(time.Second)
	lifetime := claims.AccessTokenLifetime(nil, i.opts.AccessTokenLifetimeMin, i.opts.AccessTokenLifetimeMax)
	res := g.Resolution
	ver := claims.AccessTokenVersion(res.Resource)
	in := claims.Input{
		Now: now, Lifetime: lifetime, Issuer: i.issuer(ver, g.Tenant.ID), TenantID: g.Tenant.ID,
		Client: g.Client, ClientAuth: g.ClientAuth, ClientServicePrincipalID: g.ServicePrincipalID,
		Resource: res.Resource, Audience: res.Audience(), Roles: g.Roles,
	}
	at, err := i.sign(ctx, g.Tenant.ID, res.Resource, claims.AccessToken(ver, in), claims.IncludeX5T(ver))
	if err != nil {
		return nil, err
	}
	return &Issued{
		AccessToken: at, ExpiresIn: int(lifetime / time.Second),
		ExpiresOn: now.Add(lifetime), NotBefore: now.Add(-claims.Backdate),
	}, nil
}
