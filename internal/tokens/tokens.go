// Package tokens issues tokens: given a grant that the token endpoint (or
// the authorize endpoint, for implicit and hybrid flows) has already checked — who, for which client,
// for which resource and scopes, how the user authenticated — it builds the
// claim sets with internal/claims, signs them with the tenant's (or app's)
// current key, and mints refresh tokens. It knows nothing of HTTP.
package tokens

import (
	"context"
	"fmt"
	"time"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/protocol"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tracing"
)

// Options are the lifetimes of what is issued. Zero values take Entra's
// defaults (see the constants).
type Options struct {
	// AccessTokenLifetimeMin and Max bound the access token lifetime, drawn
	// at random for each token as Entra does (60–90 minutes) so that clients
	// do not all refresh at once.
	AccessTokenLifetimeMin time.Duration
	AccessTokenLifetimeMax time.Duration
	// RefreshTokenMaxInactiveTime is Entra's MaxInactiveTime: a refresh token
	// not used for this long expires (90 days). Each redemption issues a new
	// one with a new window.
	RefreshTokenMaxInactiveTime time.Duration
	// SPARefreshTokenLifetime is the fixed lifetime of refresh tokens issued
	// to single-page apps, counted from the first of the family (24 hours).
	SPARefreshTokenLifetime time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Entra's defaults.
const (
	DefaultAccessTokenLifetimeMin      = claims.DefaultAccessTokenMin
	DefaultAccessTokenLifetimeMax      = claims.DefaultAccessTokenMax
	DefaultRefreshTokenMaxInactiveTime = 90 * 24 * time.Hour
	DefaultSPARefreshTokenLifetime     = 24 * time.Hour
)

func (o *Options) complete() {
	if o.AccessTokenLifetimeMin <= 0 {
		o.AccessTokenLifetimeMin = DefaultAccessTokenLifetimeMin
	}
	if o.AccessTokenLifetimeMax < o.AccessTokenLifetimeMin {
		o.AccessTokenLifetimeMax = max(DefaultAccessTokenLifetimeMax, o.AccessTokenLifetimeMin)
	}
	if o.RefreshTokenMaxInactiveTime <= 0 {
		o.RefreshTokenMaxInactiveTime = DefaultRefreshTokenMaxInactiveTime
	}
	if o.SPARefreshTokenLifetime <= 0 {
		o.SPARefreshTokenLifetime = DefaultSPARefreshTokenLifetime
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ClientAuth is how the client authenticated (appidacr / azpacr).
type ClientAuth = claims.ClientAuth

// The values of appidacr / azpacr.
const (
	ClientAuthPublic      = claims.ClientAuthPublic      // no credential
	ClientAuthSecret      = claims.ClientAuthSecret      // client secret
	ClientAuthCertificate = claims.ClientAuthCertificate // certificate (client assertion)
)

// Grant is what a checked request entitles the client to.
type Grant struct {
	Tenant store.Tenant
	Client store.Application
	// User is the signed-in user.
	User store.User
	// Resolution is the resource and scopes asked for (scopes.Resolve), and
	// Delegated what the user's consent grants on it (scopes.ForUser).
	Resolution scopes.Resolution
	Delegated  scopes.Delegated
	// ClientAuth is how the client authenticated at the token endpoint.
	ClientAuth ClientAuth
	// AuthTime and AuthMethods say when and how the user authenticated
	// (auth_time, amr); SessionID is the SSO session record's ID (its sid
	// goes into the tokens).
	AuthTime    time.Time
	AuthMethods []string
	SessionID   string
	// Nonce is the authorize request's nonce, echoed in the ID token.
	Nonce string
	// EndpointVersion ("1.0" or "2.0") decides the ID token's version.
	EndpointVersion string
	// IPAddress is the caller's address (ipaddr).
	IPAddress string

	// IDToken and RefreshToken ask for those tokens besides the access token.
	IDToken, RefreshToken bool
	// FamilyID groups a refresh token with its predecessors (a new family
	// when empty); FamilyCreatedAt is when the family began (zero: now).
	// Confidential and Platform are kept on the refresh token: they decide
	// its revocation rules and lifetime. RefreshScope is the scope to resolve
	// again when it is redeemed without one.
	FamilyID        string
	FamilyCreatedAt time.Time
	Confidential    bool
	Platform        string
	RefreshScope    string

	// ClientInfo asks for the client_info response value (client_info=1).
	ClientInfo bool

	// Directory is where the groups and roles claims are read from: the
	// token endpoint passes the request's cached view of the directory;
	// nil reads the Issuer's store.
	Directory store.Directory

	// FromAuthorize marks tokens returned by the authorize endpoint
	// (implicit and hybrid flows). They travel in a URL, so more than
	// claims.ImplicitGroupLimit groups become hasgroups instead of a claim
	// source, and the ID token binds what it is issued with: at_hash of the
	// access token, c_hash of Code.
	FromAuthorize bool
	Code          string
	// NoAccessToken leaves the access token out (response_type id_token or
	// code id_token).
	NoAccessToken bool
}

// Issued is what Issue made.
type Issued struct {
	AccessToken string
	// ExpiresIn is the access token's lifetime in seconds from now; ExpiresOn
	// and NotBefore its exp and nbf (the v1 response carries them).
	ExpiresIn int
	ExpiresOn time.Time
	NotBefore time.Time
	IDToken   string
	// RefreshToken is the value handed out; Refresh its stored record.
	RefreshToken string
	Refresh      store.RefreshToken
	ClientInfo   string
}

// Issuer issues tokens. It is safe for concurrent use.
type Issuer struct {
	st          store.Store
	keys        *keys.Manager
	urls        protocol.URLs
	pairwiseKey []byte
	opts        Options
}

// New returns an Issuer that signs with k, reads groups and roles from and
// stores refresh tokens in st, and derives pairwise subjects with
// pairwiseKey (serversecrets.PairwiseSubjectKey).
func New(st store.Store, k *keys.Manager, urls protocol.URLs, pairwiseKey []byte, opts Options) *Issuer {
	opts.complete()
	return &Issuer{st: st, keys: k, urls: urls, pairwiseKey: pairwiseKey, opts: opts}
}

// Options returns the options in effect (defaults filled in).
func (i *Issuer) Options() Options { return i.opts }

// Issue builds and signs the access token — and the ID token and a refresh
// token when g asks for them — stores the refresh token and returns them.
func (i *Issuer) Issue(ctx context.Context, g Grant) (*Issued, error) {
	now := i.opts.Now().UTC().Truncate(time.Second)
	lifetime := claims.AccessTokenLifetime(nil, i.opts.AccessTokenLifetimeMin, i.opts.AccessTokenLifetimeMax)
	out := &Issued{
		ExpiresIn: int(lifetime / time.Second),
		ExpiresOn: now.Add(lifetime), NotBefore: now.Add(-claims.Backdate),
	}
	res := g.Resolution
	in := i.input(g, now)
	dir := g.Directory
	if dir == nil {
		dir = i.st
	}

	if g.FromAuthorize {
		in.Implicit, in.GroupLimit = true, claims.ImplicitGroupLimit
	}

	// The access token: the resource's version, groups and roles.
	var err error
	if !g.NoAccessToken {
		at := in
		atVer := claims.AccessTokenVersion(res.Resource)
		at.Lifetime, at.Issuer, at.Roles = lifetime, i.issuer(atVer, g.Tenant.ID), g.Delegated.Roles
		if at.Groups, at.WIDs, err = scopes.Groups(ctx, dir, g.Tenant.ID, g.User.ID, res.Resource); err != nil {
			return nil, err
		}
		if out.AccessToken, err = i.sign(ctx, g.Tenant.ID, res.Resource, claims.AccessToken(atVer, at), claims.IncludeX5T(atVer)); err != nil {
			return nil, err
		}
	}

	// The ID token: the endpoint's version, the client's groups and roles.
	if g.IDToken {
		id := in
		idVer := claims.V2
		if g.EndpointVersion == claims.V1 {
			idVer = claims.V1
		}
		id.Lifetime, id.Issuer = claims.IDTokenLifetime, i.issuer(idVer, g.Tenant.ID)
		if g.FromAuthorize {
			id.AccessToken, id.Code = out.AccessToken, g.Code
		}
		if id.Roles, err = scopes.UserRoles(ctx, dir, g.Tenant.ID, g.Client, g.User.ID); err != nil {
			return nil, err
		}
		if id.Groups, id.WIDs, err = scopes.Groups(ctx, dir, g.Tenant.ID, g.User.ID, g.Client); err != nil {
			return nil, err
		}
		if out.IDToken, err = i.sign(ctx, g.Tenant.ID, g.Client, claims.IDToken(idVer, id), claims.IncludeX5T(idVer)); err != nil {
			return nil, err
		}
	}

	if g.RefreshToken {
		value, rec := i.refreshToken(g, now)
		if err := i.st.CreateRefreshToken(ctx, rec); err != nil {
			return nil, fmt.Errorf("store refresh token: %w", err)
		}
		out.RefreshToken, out.Refresh = value, rec
	}
	if g.ClientInfo {
		out.ClientInfo = claims.ClientInfoFor(g.User)
	}
	return out, nil
}

// input is what the ID and access token share.
func (i *Issuer) input(g Grant, now time.Time) claims.Input {
	u := g.User
	in := claims.Input{
		Now: now, TenantID: g.Tenant.ID, User: &u,
		Client: g.Client, ClientAuth: g.ClientAuth,
		Resource: g.Resolution.Resource, Audience: g.Resolution.Audience(), Scopes: g.Delegated.Scopes,
		GroupsEndpoint: i.urls.Public + "/v1.0/users/" + u.ID + "/getMemberObjects",
		RequestScopes:  g.Resolution.OIDC,
		Nonce:          g.Nonce, AuthTime: g.AuthTime, AuthMethods: g.AuthMethods,
		SessionID: claims.SessionSID(g.SessionID), IPAddress: g.IPAddress,
		PairwiseKey: i.pairwiseKey,
	}
	if u.UserType == store.UserTypeGuest && u.HomeTenantID != "" {
		in.HomeIssuer = i.urls.IssuerV1(u.HomeTenantID)
	}
	return in
}

func (i *Issuer) issuer(ver, tenantID string) string {
	if ver == claims.V2 {
		return i.urls.IssuerV2(tenantID)
	}
	return i.urls.IssuerV1(tenantID)
}

// sign signs claims with the key of app when it has its own (Entra's custom
// signing keys), else with the tenant's.
func (i *Issuer) sign(ctx context.Context, tenantID string, app store.Application, c any, includeX5T bool) (string, error) {
	keyTenant, keyApp := tenantID, ""
	if app.UseOwnSigningKey {
		keyTenant, keyApp = app.TenantID, app.AppID
	}
	k, err := i.keys.SigningKey(ctx, keyTenant, keyApp)
	if err != nil {
		return "", fmt.Errorf("signing key: %w", err)
	}
	_, span := tracing.Start(ctx, "sign RS256")
	defer span.End()
	return k.SignJWT(c, includeX5T)
}

// refreshToken mints a refresh token: a random value handed out once, stored
// only as its hash.
func (i *Issuer) refreshToken(g Grant, now time.Time) (string, store.RefreshToken) {
	value := ids.RandomToken(32)
	family, created := g.FamilyID, g.FamilyCreatedAt
	if family == "" {
		family = ids.NewGUID()
	}
	if created.IsZero() {
		created = now
	}
	expires := now.Add(i.opts.RefreshTokenMaxInactiveTime)
	if g.Platform == store.PlatformSPA {
		// SPA refresh tokens live a fixed time from the family's start;
		// rotation does not extend it.
		expires = created.Add(i.opts.SPARefreshTokenLifetime)
	}
	scope := g.RefreshScope
	return value, store.RefreshToken{
		ID:              NewRefreshTokenID(value),
		FamilyID:        family,
		TenantID:        g.Tenant.ID,
		ClientID:        g.Client.AppID,
		UserID:          g.User.ID,
		SessionID:       g.SessionID,
		Scope:           scope,
		AuthTime:        g.AuthTime.UTC(),
		AuthMethods:     g.AuthMethods,
		Confidential:    g.Confidential,
		Platform:        g.Platform,
		FamilyCreatedAt: created.UTC(),
		IssuedAt:        now,
		ExpiresAt:       expires.UTC(),
	}
}

// NewRefreshTokenID is the record ID of a refresh token value.
func NewRefreshTokenID(value string) string { return store.HashToken(value) }
