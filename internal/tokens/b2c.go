package tokens

import (
	"context"
	"fmt"
	"time"

	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// B2CGrant is what a B2C user flow entitles a client to: the checks (the
// flow, the client, the scopes and their admin consent) are the B2C
// endpoints' (internal/b2c).
type B2CGrant struct {
	Tenant store.Tenant
	Flow   store.UserFlow
	Client store.Application
	User   store.User
	// AccessToken asks for one, for Audience (an API's appId, or the
	// client's own) with the granted Scopes.
	AccessToken bool
	Audience    string
	Scopes      []string
	// IDToken and RefreshToken ask for those.
	IDToken, RefreshToken bool
	Nonce                 string
	AuthTime              time.Time
	// NewUser: the user signed up in this run of the flow.
	NewUser bool
	// FromAuthorize: the tokens are returned by the authorize endpoint
	// (implicit and hybrid flows), so the ID token hashes what comes with it
	// (at_hash, and c_hash of Code, the code returned alongside).
	FromAuthorize bool
	Code          string
	// The refresh token's family, session and what it remembers (see Grant).
	SessionID       string
	FamilyID        string
	FamilyCreatedAt time.Time
	Confidential    bool
	Platform        string
	RefreshScope    string
}

// B2CIssued is what IssueB2C made; B2C's token response also tells the ID
// and refresh tokens' lifetimes.
type B2CIssued struct {
	Issued
	IDTokenExpiresIn      int
	RefreshTokenExpiresIn int
}

// IssueB2C signs the B2C tokens g asks for with the tenant's key, with the
// flow's issuer, claims and lifetimes, and stores the refresh token.
func (i *Issuer) IssueB2C(ctx context.Context, g B2CGrant) (*B2CIssued, error) {
	now := i.opts.Now().UTC().Truncate(time.Second)
	life := directory.UserFlowLifetimes(g.Flow)
	in := claims.B2CInput{
		Now: now, Issuer: i.urls.IssuerB2C(g.Tenant.ID, g.Flow.Name, g.Flow.IssuerTFP),
		Policy: g.Flow.Name, PolicyClaimACR: g.Flow.PolicyClaimACR,
		User: g.User, Claims: directory.UserFlowClaimsOf(g.Flow), NewUser: g.NewUser,
		Nonce: g.Nonce, AuthTime: g.AuthTime, ClientID: g.Client.AppID,
	}
	out := &B2CIssued{}
	// B2C signs every token of a tenant with the tenant's keys, whatever the
	// app: the policy's JWKS is the tenant's.
	noApp := store.Application{}
	var err error
	if g.AccessToken {
		at := in
		at.Lifetime, at.Audience, at.Scopes = life.AccessToken, g.Audience, g.Scopes
		if out.AccessToken, err = i.sign(ctx, g.Tenant.ID, noApp, claims.B2CAccessToken(at), false); err != nil {
			return nil, err
		}
		out.ExpiresIn = int(life.AccessToken / time.Second)
		out.ExpiresOn, out.NotBefore = now.Add(life.AccessToken), now
	}
	if g.IDToken {
		id := in
		id.Lifetime, id.Audience = life.IDToken, g.Client.AppID
		if g.FromAuthorize {
			id.Code, id.AccessToken = g.Code, out.AccessToken
		}
		if out.IDToken, err = i.sign(ctx, g.Tenant.ID, noApp, claims.B2CIDToken(id), false); err != nil {
			return nil, err
		}
		out.IDTokenExpiresIn = int(life.IDToken / time.Second)
		if out.NotBefore.IsZero() {
			out.NotBefore = now
		}
	}
	if g.RefreshToken {
		value, rec := i.b2cRefreshToken(g, life, now)
		if err := i.st.CreateRefreshToken(ctx, rec); err != nil {
			return nil, fmt.Errorf("store refresh token: %w", err)
		}
		out.RefreshToken, out.Refresh = value, rec
		out.RefreshTokenExpiresIn = int(rec.ExpiresAt.Sub(now) / time.Second)
	}
	return out, nil
}

// b2cRefreshToken mints a B2C refresh token: it lives the flow's refresh
// token lifetime, and never past the sliding window counted from the
// family's first token (then the user must sign in again), unless the
// window is unbounded.
func (i *Issuer) b2cRefreshToken(g B2CGrant, life directory.B2CLifetimes, now time.Time) (string, store.RefreshToken) {
	value := ids.RandomToken(32)
	family, created := g.FamilyID, g.FamilyCreatedAt
	if family == "" {
		family = ids.NewGUID()
	}
	if created.IsZero() {
		created = now
	}
	expires := now.Add(life.RefreshToken)
	if life.SlidingWindow > 0 && created.Add(life.SlidingWindow).Before(expires) {
		expires = created.Add(life.SlidingWindow)
	}
	return value, store.RefreshToken{
		ID:              NewRefreshTokenID(value),
		FamilyID:        family,
		TenantID:        g.Tenant.ID,
		ClientID:        g.Client.AppID,
		UserID:          g.User.ID,
		SessionID:       g.SessionID,
		Scope:           g.RefreshScope,
		AuthTime:        g.AuthTime.UTC(),
		AuthMethods:     []string{store.AuthMethodPassword},
		Confidential:    g.Confidential,
		Platform:        g.Platform,
		FamilyCreatedAt: created.UTC(),
		IssuedAt:        now,
		ExpiresAt:       expires.UTC(),
		Policy:          g.Flow.Name,
	}
}
