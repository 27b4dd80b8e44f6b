package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Azure AD B2C: user flows (policies) and local accounts.

// User flow names: B2C's portal names every user flow B2C_1_<name>
// (custom policies, B2C_1A_, are not user flows). The prefix also keeps a
// policy from ever looking like a path segment Entrance routes on.
var userFlowName = regexp.MustCompile(`^(?i:b2c_1_)[A-Za-z0-9_-]{1,100}$`)

// extensionAttribute is a custom attribute's name as user flows and tokens
// spell it: extension_ and a name of letters, digits and underscores.
var extensionAttribute = regexp.MustCompile(`^extension_[A-Za-z][A-Za-z0-9_]{0,99}$`)

// IsExtensionAttribute reports whether name is a B2C custom attribute.
func IsExtensionAttribute(name string) bool { return extensionAttribute.MatchString(name) }

// UserFlowAttributes are the built-in attributes a user flow may collect
// (besides the email address and password every local account gives).
var UserFlowAttributes = []string{"displayName", "givenName", "surname"}

// UserFlowClaims are the application claims a user flow may return, by the
// names B2C's user flow settings use (each becomes a token claim: objectId →
// oid, emails → emails, displayName → name, givenName → given_name,
// surname → family_name, identityProvider → idp, newUser → newUser).
var UserFlowClaims = []string{"objectId", "emails", "displayName", "givenName", "surname", "identityProvider", "newUser"}

// DefaultUserFlowClaims are returned by a user flow that lists none.
var DefaultUserFlowClaims = []string{"objectId", "emails", "displayName", "givenName", "surname", "newUser"}

// B2C's token lifetime limits (the user flow's Properties blade).
const (
	MinB2CTokenLifetime        = 5 * time.Minute
	MaxB2CTokenLifetime        = 1440 * time.Minute
	MinB2CRefreshTokenLifetime = 24 * time.Hour
	MaxB2CRefreshTokenLifetime = 90 * 24 * time.Hour
	MaxB2CSlidingWindow        = 365 * 24 * time.Hour
)

// B2C's default lifetimes: access and ID tokens 60 minutes, refresh tokens
// 14 days, re-authentication after a 90-day sliding window.
const (
	DefaultB2CTokenLifetime        = time.Hour
	DefaultB2CRefreshTokenLifetime = 14 * 24 * time.Hour
	DefaultB2CSlidingWindow        = 90 * 24 * time.Hour
)

// FindUserFlow finds a tenant's user flow by name, case-insensitively (B2C
// matches policy names without regard to case).
func FindUserFlow(t store.Tenant, name string) (store.UserFlow, bool) {
	for _, f := range t.UserFlows {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return store.UserFlow{}, false
}

// UserFlowClaimsOf is what flow returns: its claims, or the defaults.
func UserFlowClaimsOf(f store.UserFlow) []string {
	if f.Claims == nil {
		return DefaultUserFlowClaims
	}
	return f.Claims
}

// LocalAccountUPN is the userPrincipalName of the B2C local account that
// signs in with email: like B2C's, an opaque GUID at the tenant's initial
// domain. It is derived from the email (lower-cased) and the tenant, so the
// sign-in page finds the account by its email with one UPN lookup, and two
// accounts can never share an email in one tenant.
func LocalAccountUPN(t store.Tenant, email string) string {
	sum := sha256.Sum256([]byte("entrance b2c local account\x00" + t.ID + "\x00" + strings.ToLower(strings.TrimSpace(email))))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + "@" + strings.ToLower(InitialDomain(t))
}

// LooksLikeMail is the loose mail address check the validators use.
func LooksLikeMail(s string) bool { return looksLikeMail(s) }

// validateUserFlows checks a tenant's user flows. Property paths are those
// of the directory file (tokenLifetimes.accessToken, ...), which names the
// lifetimes and compatibility settings as B2C's user flow blade does.
func validateUserFlows(t store.Tenant, es *Errors) {
	if len(t.UserFlows) > 0 && t.Type != store.TenantTypeB2C {
		es.add("userFlows", "user flows need a B2C tenant (type: %s)", store.TenantTypeB2C)
		return
	}
	seen := map[string]bool{}
	for i, f := range t.UserFlows {
		p := index("userFlows", i)
		switch {
		case !userFlowName.MatchString(f.Name):
			es.add(join(p, "name"), "%q is not a user flow name: B2C_1_ and then letters, digits, _ or - (e.g. B2C_1_signupsignin)", f.Name)
		case seen[strings.ToLower(f.Name)]:
			es.add(join(p, "name"), "%q is declared twice (names are case-insensitive)", f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		collects := true
		switch f.Type {
		case store.UserFlowSignUpOrSignIn, store.UserFlowSignUp, store.UserFlowProfileEdit:
		case store.UserFlowSignIn, store.UserFlowPasswordReset:
			collects = false
		default:
			es.add(join(p, "type"), "%q is not a user flow type (use signUpOrSignIn, signIn, signUp, profileEdit or passwordReset)", f.Type)
		}
		if len(f.Attributes) > 0 && !collects {
			es.add(join(p, "attributes"), "a %s user flow collects no attributes", f.Type)
		}
		checkNames(es, join(p, "attributes"), f.Attributes, UserFlowAttributes)
		checkNames(es, join(p, "claims"), f.Claims, UserFlowClaims)
		validateLifetimes(es, p, f)
	}
}

// checkNames checks a list of attribute or claim names: known, or
// extension_*, each once.
func checkNames(es *Errors, path string, names, known []string) {
	seen := map[string]bool{}
	for j, n := range names {
		switch {
		case !slices.Contains(known, n) && !IsExtensionAttribute(n):
			es.add(index(path, j), "%q is not supported (use %s, or extension_<name>)", n, strings.Join(known, ", "))
		case seen[n]:
			es.add(index(path, j), "%q is listed twice", n)
		}
		seen[n] = true
	}
}

func validateLifetimes(es *Errors, p string, f store.UserFlow) {
	lp := join(p, "tokenLifetimes")
	set := f.TokenLifetimeSecs != 0 || f.IDTokenLifetimeSecs != 0 || f.RefreshTokenLifetimeSecs != 0 || f.RollingRefreshTokenLifetimeSecs != 0
	if set && f.Type == store.UserFlowPasswordReset {
		// As in B2C: its blade offers no token lifetimes for password reset.
		es.add(lp, "a passwordReset user flow has no token lifetime settings")
		return
	}
	between := func(name string, secs int, lo, hi time.Duration) {
		d := time.Duration(secs) * time.Second
		if secs != 0 && (d < lo || d > hi) {
			es.add(join(lp, name), "%v is out of range (%v to %v)", d, lo, hi)
		}
	}
	between("accessToken", f.TokenLifetimeSecs, MinB2CTokenLifetime, MaxB2CTokenLifetime)
	between("idToken", f.IDTokenLifetimeSecs, MinB2CTokenLifetime, MaxB2CTokenLifetime)
	between("refreshToken", f.RefreshTokenLifetimeSecs, MinB2CRefreshTokenLifetime, MaxB2CRefreshTokenLifetime)
	if f.RollingRefreshTokenLifetimeSecs > 0 {
		between("refreshTokenSlidingWindow", f.RollingRefreshTokenLifetimeSecs, MinB2CRefreshTokenLifetime, MaxB2CSlidingWindow)
		refresh := f.RefreshTokenLifetimeSecs
		if refresh == 0 {
			refresh = int(DefaultB2CRefreshTokenLifetime / time.Second)
		}
		if f.RollingRefreshTokenLifetimeSecs < refresh {
			es.add(join(lp, "refreshTokenSlidingWindow"), "must be at least the refresh token lifetime (%v)", time.Duration(refresh)*time.Second)
		}
	} else if f.RollingRefreshTokenLifetimeSecs < -1 {
		es.add(join(lp, "refreshTokenSlidingWindow"), "is not a lifetime")
	}
}

// B2CLifetimes are a user flow's token lifetimes with defaults applied; a
// zero SlidingWindow means unbounded.
type B2CLifetimes struct {
	AccessToken, IDToken, RefreshToken, SlidingWindow time.Duration
}

// UserFlowLifetimes returns flow's lifetimes, B2C's defaults filled in.
func UserFlowLifetimes(f store.UserFlow) B2CLifetimes {
	or := func(secs int, def time.Duration) time.Duration {
		if secs > 0 {
			return time.Duration(secs) * time.Second
		}
		return def
	}
	l := B2CLifetimes{
		AccessToken:   or(f.TokenLifetimeSecs, DefaultB2CTokenLifetime),
		IDToken:       or(f.IDTokenLifetimeSecs, DefaultB2CTokenLifetime),
		RefreshToken:  or(f.RefreshTokenLifetimeSecs, DefaultB2CRefreshTokenLifetime),
		SlidingWindow: or(f.RollingRefreshTokenLifetimeSecs, DefaultB2CSlidingWindow),
	}
	if f.RollingRefreshTokenLifetimeSecs < 0 {
		l.SlidingWindow = 0
	}
	return l
}
