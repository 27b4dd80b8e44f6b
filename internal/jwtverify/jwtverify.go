// Package jwtverify verifies Entrance's own access tokens, the way an API
// that trusts Entrance verifies them: a compact JWS, RS256 only (whatever the
// header says), signed by a key the token's tenant publishes in its JWKS (or,
// for an app with its own signing key, the app's), issued by that tenant (v1
// or v2 issuer), and within its lifetime. It is the one verifier for tokens
// Entrance receives back: bearer tokens at its Graph stand-in (userinfo,
// /v1.0/me, getMemberObjects) and the user assertion of the on-behalf-of
// grant. The audience is the caller's to check: each has its own rule.
package jwtverify

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/store"
)

// URLs gives the issuers a tenant's tokens carry (protocol.URLs).
type URLs interface {
	IssuerV1(tenantID string) string
	IssuerV2(tenantID string) string
}

// Options are what the verifier needs. Zero durations take the defaults.
type Options struct {
	Store store.Directory
	Keys  *keys.Manager
	URLs  URLs
	// ClockSkew is how far exp and nbf may be off. Default 5 minutes, as
	// Microsoft.IdentityModel allows.
	ClockSkew time.Duration
	// KeyCacheTTL is how long a tenant's published keys are used without
	// reading them again (default 1 minute). A token naming an unknown kid
	// reads them again sooner, at most every few seconds. Caching is safe:
	// a key signs only after it has been published as "next" for a whole
	// rotation period.
	KeyCacheTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultClockSkew   = 5 * time.Minute
	DefaultKeyCacheTTL = time.Minute
	// unknownKidRefresh bounds how often an unknown kid makes the verifier
	// read a key set again, so forged kids cannot turn into database load.
	unknownKidRefresh = 5 * time.Second
)

// Claims are what Entrance's callers read from a verified access token (v1
// or v2; see claims.AccessTokenV1/V2).
type Claims struct {
	Aud      string   `json:"aud"`
	Iss      string   `json:"iss"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	Exp      int64    `json:"exp"`
	AMR      []string `json:"amr"`
	AppID    string   `json:"appid"` // v1
	Azp      string   `json:"azp"`   // v2
	AuthTime int64    `json:"auth_time"`
	IDTyp    string   `json:"idtyp"`
	Oid      string   `json:"oid"`
	Roles    []string `json:"roles"`
	Scp      string   `json:"scp"`
	Sub      string   `json:"sub"`
	Tid      string   `json:"tid"`
	Ver      string   `json:"ver"`
}

// Client is the appId of the client the token was issued to.
func (c Claims) Client() string {
	if c.Azp != "" {
		return c.Azp
	}
	return c.AppID
}

// AppOnly reports whether the token has no signed-in user (client
// credentials): user tokens always carry scp, app-only tokens never do.
func (c Claims) AppOnly() bool { return c.Scp == "" }

// HasScope reports whether scp grants one of the delegated scopes.
func (c Claims) HasScope(any ...string) bool {
	for _, s := range strings.Fields(c.Scp) {
		if slices.ContainsFunc(any, func(a string) bool { return strings.EqualFold(a, s) }) {
			return true
		}
	}
	return false
}

// HasRole reports whether roles holds one of the app roles.
func (c Claims) HasRole(any ...string) bool {
	for _, r := range c.Roles {
		if slices.ContainsFunc(any, func(a string) bool { return strings.EqualFold(a, r) }) {
			return true
		}
	}
	return false
}

// IssuedAt is when the token was issued: Entrance back-dates iat (and nbf)
// by five minutes, as Entra does, so the moment of issue is iat + 5 min.
func (c Claims) IssuedAt() time.Time { return time.Unix(c.Iat, 0).Add(5 * time.Minute) }

// Kinds of verification failure.
const (
	Malformed = iota + 1
	BadSignature
	BadIssuer
	Expired
	NotYetValid
	BadAlgorithm
	UnknownTenant
)

// Error is a token that does not verify. Reason is worded like
// Microsoft.IdentityModel's messages, for the caller's error answer.
type Error struct {
	Kind   int
	Reason string
}

func (e *Error) Error() string { return e.Reason }

func fail(kind int, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// Verifier verifies access tokens. It is safe for concurrent use.
type Verifier struct {
	opts  Options
	mu    sync.Mutex
	cache map[setID]*keyEntry
}

type setID struct{ tenantID, appID string }

type keyEntry struct {
	mu      sync.Mutex // one reader of the key set at a time
	keys    []keys.PublicKey
	fetched time.Time
}

// New returns a verifier.
func New(opts Options) *Verifier {
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = DefaultClockSkew
	}
	if opts.KeyCacheTTL <= 0 {
		opts.KeyCacheTTL = DefaultKeyCacheTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{opts: opts, cache: map[setID]*keyEntry{}}
}

// Verify checks raw and returns its claims. keyApp, when it signs with a key
// of its own (UseOwnSigningKey), is where a kid the tenant does not publish
// is looked for: the application the token is meant for. Failures of the
// token itself are *Error; other errors come from the store.
func (v *Verifier) Verify(ctx context.Context, raw string, keyApp *store.Application) (Claims, error) {
	var c Claims
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return c, fail(Malformed, "IDX14100: JWT is not well formed, there are no dots (.).")
	}
	var hdr struct {
		Alg  string   `json:"alg"`
		Kid  string   `json:"kid"`
		Crit []string `json:"crit"`
	}
	if decode(parts[0], &hdr) != nil || decode(parts[1], &c) != nil {
		return c, fail(Malformed, "IDX14100: JWT is not well formed.")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, fail(Malformed, "IDX14100: JWT is not well formed.")
	}
	// Only what Entrance signs with: "none", HMAC and the rest never verify.
	if hdr.Alg != "RS256" || len(hdr.Crit) > 0 {
		return c, fail(BadAlgorithm, "IDX10511: Signature validation failed. The algorithm '%s' is not accepted.", hdr.Alg)
	}
	if !ids.IsGUID(c.Tid) {
		return c, fail(UnknownTenant, "IDX10205: Issuer validation failed. The token has no tenant.")
	}
	tid := strings.ToLower(c.Tid)
	pub, err := v.key(ctx, setID{tenantID: tid}, hdr.Kid)
	if errors.Is(err, errNoTenant) {
		return c, fail(UnknownTenant, "IDX10205: Issuer validation failed. Tenant '%s' not found.", c.Tid)
	}
	if err == nil && pub == nil && keyApp != nil && keyApp.UseOwnSigningKey {
		pub, err = v.key(ctx, setID{tenantID: keyApp.TenantID, appID: keyApp.AppID}, hdr.Kid)
	}
	if err != nil {
		return c, err
	}
	if pub == nil {
		return c, fail(BadSignature, "IDX10503: Signature validation failed. The key was not found. kid: '%s'.", hdr.Kid)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return c, fail(BadSignature, "IDX10511: Signature validation failed.")
	}
	if c.Iss != v.opts.URLs.IssuerV1(tid) && c.Iss != v.opts.URLs.IssuerV2(tid) {
		return c, fail(BadIssuer, "IDX10205: Issuer validation failed. Issuer: '%s'.", c.Iss)
	}
	now, skew := v.opts.Now(), v.opts.ClockSkew
	if c.Exp == 0 || now.After(time.Unix(c.Exp, 0).Add(skew)) {
		return c, fail(Expired, "IDX10223: Lifetime validation failed. The token is expired. ValidTo (UTC): '%s', Current time (UTC): '%s'.",
			utc(c.Exp), now.UTC().Format(time.DateTime))
	}
	if c.Nbf != 0 && now.Add(skew).Before(time.Unix(c.Nbf, 0)) {
		return c, fail(NotYetValid, "IDX10222: Lifetime validation failed. The token is not yet valid. ValidFrom (UTC): '%s'.", utc(c.Nbf))
	}
	return c, nil
}

func utc(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.DateTime) }

// key returns the published key kid of a key set (nil if it is not
// published), from the cache when it is fresh.
func (v *Verifier) key(ctx context.Context, id setID, kid string) (*rsa.PublicKey, error) {
	v.mu.Lock()
	e := v.cache[id]
	if e == nil {
		e = &keyEntry{}
		v.cache[id] = e
	}
	v.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := v.opts.Now()
	age := now.Sub(e.fetched)
	fresh := !e.fetched.IsZero() && age >= 0 && age < v.opts.KeyCacheTTL
	if k := find(e.keys, kid); fresh && (k != nil || age < unknownKidRefresh) {
		return k, nil
	}
	ks, err := v.published(ctx, id)
	if errors.Is(err, errNoTenant) {
		// Forget it: tokens naming made-up tenants must not grow the cache.
		v.mu.Lock()
		delete(v.cache, id)
		v.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	e.keys, e.fetched = ks, now
	return find(ks, kid), nil
}

// published reads a key set's published keys. The tenant is checked first:
// the key manager creates the key set of a tenant that has none, which no
// unauthenticated caller may trigger for a tenant that does not exist.
func (v *Verifier) published(ctx context.Context, id setID) ([]keys.PublicKey, error) {
	if _, err := v.opts.Store.GetTenant(ctx, id.tenantID); errors.Is(err, store.ErrNotFound) {
		return nil, errNoTenant
	} else if err != nil {
		return nil, err
	}
	ks, err := v.opts.Keys.PublishedKeys(ctx, id.tenantID, id.appID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return ks, err
}

// errNoTenant: the token names a tenant that does not exist.
var errNoTenant = errors.New("tenant not found")

func find(ks []keys.PublicKey, kid string) *rsa.PublicKey {
	for _, k := range ks {
		if k.KID == kid && kid != "" {
			return k.Key
		}
	}
	return nil
}

func decode(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
