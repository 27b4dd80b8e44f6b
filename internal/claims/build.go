package claims

import (
	"io"
	"slices"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Input is everything a token's claims are made from. The caller resolves it
// (scopes.Resolve, scopes.Consented, scopes.UserRoles, scopes.Groups, ...);
// the builders only shape it. Zero values mean "no value": their claims are
// left out.
type Input struct {
	// Now is the moment of issue; iat and nbf are Backdate before it and exp
	// is Lifetime after it. A zero Lifetime is IDTokenLifetime for ID tokens
	// and DefaultAccessTokenMin for access tokens; the token endpoint passes
	// AccessTokenLifetime's pick so that exp matches its expires_in.
	Now      time.Time
	Lifetime time.Duration
	// Issuer is the iss claim, already in the token version's form (v1:
	// {v1 base}/{tid}/, v2: {public}/{tid}/v2.0).
	Issuer   string
	TenantID string

	// User is the signed-in user as tenant TenantID sees them (for a guest,
	// the guest object); nil for an app-only token (client credentials).
	User *store.User
	// HomeIssuer is the v1 issuer of a guest's home tenant: the idp claim.
	HomeIssuer string

	// Client is the application the token is issued to (the ID token's aud,
	// the access token's appid/azp); ClientAuth how it authenticated.
	Client     store.Application
	ClientAuth ClientAuth
	// ClientServicePrincipalID is the client's service principal in the
	// tenant: oid and sub of an app-only token.
	ClientServicePrincipalID string

	// Resource is the API an access token is for; its optionalClaims apply.
	Resource store.Application
	// Audience is how the client named the resource (App ID URI or appId):
	// the aud of a v1 access token. Empty means the resource's appId.
	Audience string

	// Scopes are the delegated scope values granted on the resource (scp).
	Scopes []string
	// Roles are app role values: the user's on the client (ID token) or on
	// the resource (access token), or the client's (app-only token).
	Roles []string
	// Groups are the group object ids for the groups claim, already filtered
	// by the app's groupMembershipClaims; WIDs the directory role template ids.
	Groups []string
	WIDs   []string
	// GroupLimit is the most groups a token carries inline (0: JWTGroupLimit);
	// Implicit marks a token returned from /authorize, which signals an
	// overage with hasgroups (use ImplicitGroupLimit) instead of a claim source.
	GroupLimit int
	Implicit   bool
	// GroupsEndpoint is where an overage points: a getMemberObjects URL.
	GroupsEndpoint string

	// RequestScopes are the OpenID Connect scopes of the request; profile and
	// email decide what a v2.0 ID token says about the user.
	RequestScopes []string
	Nonce         string
	AuthTime      time.Time
	AuthMethods   []string // amr
	// IncludeAuthTime adds auth_time without the optional claim (max_age).
	IncludeAuthTime bool
	// SessionID is the SSO session's sid (SessionSID of the session record).
	SessionID string
	IPAddress string
	Country   string // two-letter code for ctry, when known
	// Code and AccessToken are what the ID token is issued alongside, for
	// c_hash and at_hash (tokens from /authorize).
	Code        string
	AccessToken string

	// PairwiseKey keys the pairwise sub (serversecrets.PairwiseSubjectKey).
	PairwiseKey []byte
	// Rand is the randomness of uti and aio (crypto/rand when nil).
	Rand io.Reader
}

// AccessTokenVersion is the version of the access tokens resource gets: its
// requestedAccessTokenVersion (null or 1: v1.0, 2: v2.0), whatever endpoint
// the client called.
func AccessTokenVersion(resource store.Application) string {
	if v := resource.API.RequestedAccessTokenVersion; v != nil && *v == 2 {
		return V2
	}
	return V1
}

// IDToken builds the ID token of version ver (V1 or V2).
func IDToken(ver string, in Input) any {
	if ver == V1 {
		return BuildIDTokenV1(in)
	}
	return BuildIDTokenV2(in)
}

// AccessToken builds the access token of version ver (see AccessTokenVersion).
func AccessToken(ver string, in Input) any {
	if ver == V1 {
		return BuildAccessTokenV1(in)
	}
	return BuildAccessTokenV2(in)
}

// facts is what every builder derives from Input once.
type facts struct {
	in       Input
	u        store.User
	user     bool // a user token (not app-only)
	guest    bool
	optional []store.OptionalClaim // the optional claims of the token's owner
	iat, exp int64
	groups   []string
	hasGroup bool
	names    map[string]string
	sources  map[string]ClaimSource
}

func newFacts(in Input, optional []store.OptionalClaim, lifetime time.Duration) facts {
	if in.Lifetime <= 0 {
		in.Lifetime = lifetime
	}
	f := facts{in: in, user: in.User != nil, optional: optional,
		iat: in.Now.Add(-Backdate).Unix(), exp: in.Now.Add(in.Lifetime).Unix()}
	if f.user {
		f.u = *in.User
		f.guest = f.u.UserType == store.UserTypeGuest
	}
	limit := in.GroupLimit
	if limit <= 0 {
		limit = JWTGroupLimit
	}
	switch {
	case len(in.Groups) <= limit:
		f.groups = in.Groups
	case in.Implicit:
		f.hasGroup = true
	default:
		f.names = map[string]string{"groups": "src1"}
		f.sources = map[string]ClaimSource{"src1": {Endpoint: in.GroupsEndpoint}}
	}
	return f
}

// opt reports whether the owner asked for the optional claim name, and
// with which additional properties.
func (f facts) opt(name string) (store.OptionalClaim, bool) {
	for _, c := range f.optional {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return store.OptionalClaim{}, false
}

func (f facts) has(name string) bool { _, ok := f.opt(name); return ok }

func (f facts) requested(scope string) bool {
	return slices.ContainsFunc(f.in.RequestScopes, func(s string) bool { return strings.EqualFold(s, scope) })
}

// ifOpt returns v when the optional claim name was asked for.
func (f facts) ifOpt(name, v string) string {
	if f.has(name) {
		return v
	}
	return ""
}

func (f facts) acct() *int {
	if !f.user || !f.has("acct") {
		return nil
	}
	n := 0
	if f.guest {
		n = 1
	}
	return &n
}

func (f facts) authTime() int64 {
	if f.user && !f.in.AuthTime.IsZero() && (f.in.IncludeAuthTime || f.has("auth_time")) {
		return f.in.AuthTime.Unix()
	}
	return 0
}

// email is sent for guests by default, otherwise on request (the optional
// claim, or the email scope where byScope allows it).
func (f facts) email(byScope bool) string {
	if f.guest || f.has("email") || byScope && f.requested("email") {
		return f.u.Mail
	}
	return ""
}

// upn is the UPN of a member. A guest's only comes with the optional claim's
// include_externally_authenticated_upn(_without_hash) property: their UPN in
// this tenant, with # as _ for the latter.
func (f facts) upn(byDefault bool) string {
	c, asked := f.opt("upn")
	if !f.user || !byDefault && !asked {
		return ""
	}
	if !f.guest {
		return f.u.UserPrincipalName
	}
	switch {
	case slices.Contains(c.AdditionalProperties, "include_externally_authenticated_upn"):
		return f.u.UserPrincipalName
	case slices.Contains(c.AdditionalProperties, "include_externally_authenticated_upn_without_hash"):
		return strings.ReplaceAll(f.u.UserPrincipalName, "#", "_")
	}
	return ""
}

func (f facts) idp() string {
	if f.guest {
		return f.in.HomeIssuer
	}
	return ""
}

func (f facts) loginHint() string {
	if !f.user || !f.has("login_hint") {
		return ""
	}
	oid, tid := homeOf(f.u)
	return LoginHint(oid, tid, Username(f.u))
}

func (f facts) ctry() string { return f.ifOpt("ctry", f.in.Country) }

// pairwise is the user's sub for app appID.
func (f facts) pairwise(appID string) string {
	return PairwiseSubject(f.in.PairwiseKey, f.in.TenantID, appID, f.u.ID)
}

func (f facts) aio() string { return newAIO(f.in.Rand, !f.user) }
func (f facts) uti() string { return newUTI(f.in.Rand) }

func (f facts) hashes() (atHash, cHash string) {
	if f.in.AccessToken != "" {
		atHash = HalfHash(f.in.AccessToken)
	}
	if f.in.Code != "" {
		cHash = HalfHash(f.in.Code)
	}
	return atHash, cHash
}

// BuildIDTokenV2 makes a v2.0 ID token for in.User and in.Client. Per the ID
// token reference, name, oid and preferred_username (and the optional
// family_name, given_name and upn) need the profile scope; email comes with
// the email scope or the optional claim; sid names the SSO session.
func BuildIDTokenV2(in Input) IDTokenV2 {
	f := newFacts(in, in.Client.OptionalClaims.IDToken, IDTokenLifetime)
	profile := f.requested("profile")
	atHash, cHash := f.hashes()
	t := IDTokenV2{
		Aud: in.Client.AppID, Iss: in.Issuer, Iat: f.iat, Nbf: f.iat, Exp: f.exp,
		ClaimNames: f.names, ClaimSources: f.sources,
		Acct: f.acct(), AIO: f.aio(), ATHash: atHash, AuthTime: f.authTime(), CHash: cHash,
		Ctry: f.ctry(), Email: f.email(true),
		Groups: f.groups, HasGroups: f.hasGroup, IDP: f.idp(), IPAddr: f.ifOpt("ipaddr", in.IPAddress),
		LoginHint: f.loginHint(), Nonce: in.Nonce,
		RH: RH(in.TenantID, in.Client.AppID), Roles: in.Roles, SID: in.SessionID,
		Sub: f.pairwise(in.Client.AppID), TID: in.TenantID, UTI: f.uti(), Ver: V2, WIDs: in.WIDs,
	}
	if profile {
		t.Name, t.OID, t.PreferredUsername = f.u.DisplayName, f.u.ID, Username(f.u)
		t.FamilyName, t.GivenName = f.ifOpt("family_name", f.u.Surname), f.ifOpt("given_name", f.u.GivenName)
		t.UPN = f.upn(false)
	}
	return t
}

// BuildIDTokenV1 makes a v1.0 ID token: the v1 endpoint has no profile
// scope, so the user's names, amr, ipaddr, unique_name and a member's upn are
// always in it.
func BuildIDTokenV1(in Input) IDTokenV1 {
	f := newFacts(in, in.Client.OptionalClaims.IDToken, IDTokenLifetime)
	atHash, cHash := f.hashes()
	return IDTokenV1{
		Aud: in.Client.AppID, Iss: in.Issuer, Iat: f.iat, Nbf: f.iat, Exp: f.exp,
		ClaimNames: f.names, ClaimSources: f.sources,
		Acct: f.acct(), AIO: f.aio(), AMR: in.AuthMethods, ATHash: atHash, AuthTime: f.authTime(), CHash: cHash,
		Ctry: f.ctry(), Email: f.email(false), FamilyName: f.u.Surname, GivenName: f.u.GivenName,
		Groups: f.groups, HasGroups: f.hasGroup, IDP: f.idp(), IPAddr: in.IPAddress,
		LoginHint: f.loginHint(), Name: f.u.DisplayName, Nonce: in.Nonce, OID: f.u.ID,
		PreferredUsername: f.ifOpt("preferred_username", Username(f.u)),
		RH:                RH(in.TenantID, in.Client.AppID), Roles: in.Roles, SID: in.SessionID,
		Sub: f.pairwise(in.Client.AppID), TID: in.TenantID, UniqueName: Username(f.u), UPN: f.upn(true),
		UTI: f.uti(), Ver: V1, WIDs: in.WIDs,
	}
}

// idtyp is "app" for app-only tokens and "user" for user tokens when the
// resource asks with include_user_token, in both cases only as an optional
// claim.
func (f facts) idtyp() string {
	c, ok := f.opt("idtyp")
	switch {
	case !ok:
		return ""
	case !f.user:
		return "app"
	case slices.Contains(c.AdditionalProperties, "include_user_token"):
		return "user"
	}
	return ""
}

// BuildAccessTokenV1 makes a v1.0 access token for in.Resource. A user
// token carries scp and the user's claims; an app-only token (User nil)
// carries roles, with oid and sub the client's service principal and idp the
// issuer, as Entra's client-credentials tokens do.
func BuildAccessTokenV1(in Input) AccessTokenV1 {
	f := newFacts(in, in.Resource.OptionalClaims.AccessToken, DefaultAccessTokenMin)
	aud := in.Audience
	if c, ok := f.opt("aud"); aud == "" || ok && slices.Contains(c.AdditionalProperties, "use_guid") {
		aud = in.Resource.AppID
	}
	t := AccessTokenV1{
		Aud: aud, Iss: in.Issuer, Iat: f.iat, Nbf: f.iat, Exp: f.exp,
		ClaimNames: f.names, ClaimSources: f.sources,
		Acct: f.acct(), AIO: f.aio(), AppID: in.Client.AppID, AppIDACR: in.ClientAuth.String(),
		IDTyp: f.idtyp(), RH: RH(in.TenantID, in.Client.AppID), Roles: in.Roles,
		TID: in.TenantID, UTI: f.uti(), Ver: V1,
	}
	if !f.user {
		t.IDP, t.OID, t.Sub = in.Issuer, in.ClientServicePrincipalID, in.ClientServicePrincipalID
		return t
	}
	t.ACR, t.AMR, t.AuthTime = "1", in.AuthMethods, f.authTime()
	t.Ctry, t.Email, t.FamilyName, t.GivenName = f.ctry(), f.email(false), f.u.Surname, f.u.GivenName
	t.Groups, t.HasGroups, t.IDP, t.IPAddr = f.groups, f.hasGroup, f.idp(), in.IPAddress
	t.LoginHint, t.Name, t.OID = f.loginHint(), f.u.DisplayName, f.u.ID
	t.PreferredUsername = f.ifOpt("preferred_username", Username(f.u))
	t.Scp, t.SID, t.Sub = strings.Join(in.Scopes, " "), f.ifOpt("sid", in.SessionID), f.pairwise(in.Resource.AppID)
	t.UniqueName, t.UPN, t.WIDs = Username(f.u), f.upn(true), in.WIDs
	return t
}

// BuildAccessTokenV2 makes a v2.0 access token for in.Resource: aud is
// always the resource's appId; family_name, given_name, ipaddr and upn are
// optional claims.
func BuildAccessTokenV2(in Input) AccessTokenV2 {
	f := newFacts(in, in.Resource.OptionalClaims.AccessToken, DefaultAccessTokenMin)
	t := AccessTokenV2{
		Aud: in.Resource.AppID, Iss: in.Issuer, Iat: f.iat, Nbf: f.iat, Exp: f.exp,
		ClaimNames: f.names, ClaimSources: f.sources,
		Acct: f.acct(), AIO: f.aio(), AZP: in.Client.AppID, AZPACR: in.ClientAuth.String(),
		IDTyp: f.idtyp(), RH: RH(in.TenantID, in.Client.AppID), Roles: in.Roles,
		TID: in.TenantID, UTI: f.uti(), Ver: V2,
	}
	if !f.user {
		t.OID, t.Sub = in.ClientServicePrincipalID, in.ClientServicePrincipalID
		return t
	}
	t.AuthTime, t.Ctry, t.Email = f.authTime(), f.ctry(), f.email(false)
	t.FamilyName, t.GivenName = f.ifOpt("family_name", f.u.Surname), f.ifOpt("given_name", f.u.GivenName)
	t.Groups, t.HasGroups, t.IDP, t.IPAddr = f.groups, f.hasGroup, f.idp(), f.ifOpt("ipaddr", in.IPAddress)
	t.LoginHint, t.Name, t.OID, t.PreferredUsername = f.loginHint(), f.u.DisplayName, f.u.ID, Username(f.u)
	t.Scp, t.SID, t.Sub = strings.Join(in.Scopes, " "), f.ifOpt("sid", in.SessionID), f.pairwise(in.Resource.AppID)
	t.UPN, t.WIDs = f.upn(false), in.WIDs
	return t
}
