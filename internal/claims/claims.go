// Package claims builds the claim sets of Entrance's ID tokens and access
// tokens, v1.0 and v2.0, exactly as Entra shapes them. It is pure: no I/O,
// no HTTP; callers gather the user, apps, scopes and groups (internal/scopes)
// and sign the result (keys.SigningKey.SignJWT).
//
// Each token version is an ordered struct, because encoding/json writes
// struct fields in declaration order and Entra's order is part of what
// clients and golden tests see: aud, iss, iat, nbf, exp first, then every
// other claim in ASCII order (decoded Entra tokens show this, including
// `_claim_names` right after exp). Every field that is not always present is
// omitempty: Entra sends a claim only when it has a value.
package claims

// Token versions: the `ver` claim. An ID token follows the endpoint version;
// an access token follows the resource's requestedAccessTokenVersion.
const (
	V1 = "1.0"
	V2 = "2.0"
)

// IncludeX5T reports whether a token of version ver carries x5t next to kid
// in its header (keys.SigningKey.SignJWT's includeX5T): v1.0 tokens do, for
// compatibility; v2.0 tokens have kid only.
func IncludeX5T(ver string) bool { return ver == V1 }

// ClaimSource is one entry of `_claim_sources`: where a distributed claim
// (the groups of an overage) can be fetched.
type ClaimSource struct {
	Endpoint string `json:"endpoint"`
}

// IDTokenV2 is the payload of an ID token from the v2.0 endpoints.
type IDTokenV2 struct {
	Aud               string                 `json:"aud"`
	Iss               string                 `json:"iss"`
	Iat               int64                  `json:"iat"`
	Nbf               int64                  `json:"nbf"`
	Exp               int64                  `json:"exp"`
	ClaimNames        map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources      map[string]ClaimSource `json:"_claim_sources,omitempty"`
	Acct              *int                   `json:"acct,omitempty"`
	AIO               string                 `json:"aio,omitempty"`
	ATHash            string                 `json:"at_hash,omitempty"`
	AuthTime          int64                  `json:"auth_time,omitempty"`
	CHash             string                 `json:"c_hash,omitempty"`
	Ctry              string                 `json:"ctry,omitempty"`
	Email             string                 `json:"email,omitempty"`
	FamilyName        string                 `json:"family_name,omitempty"`
	GivenName         string                 `json:"given_name,omitempty"`
	Groups            []string               `json:"groups,omitempty"`
	HasGroups         bool                   `json:"hasgroups,omitempty"`
	IDP               string                 `json:"idp,omitempty"`
	IPAddr            string                 `json:"ipaddr,omitempty"`
	LoginHint         string                 `json:"login_hint,omitempty"`
	Name              string                 `json:"name,omitempty"`
	Nonce             string                 `json:"nonce,omitempty"`
	OID               string                 `json:"oid,omitempty"`
	PreferredUsername string                 `json:"preferred_username,omitempty"`
	RH                string                 `json:"rh,omitempty"`
	Roles             []string               `json:"roles,omitempty"`
	SID               string                 `json:"sid,omitempty"`
	Sub               string                 `json:"sub"`
	TID               string                 `json:"tid,omitempty"`
	UPN               string                 `json:"upn,omitempty"`
	UTI               string                 `json:"uti,omitempty"`
	Ver               string                 `json:"ver"`
	WIDs              []string               `json:"wids,omitempty"`
}

// IDTokenV1 is the payload of an ID token from the v1.0 endpoints: v2's
// claims plus amr, unique_name, upn, family_name, given_name and ipaddr by
// default (preferred_username only as an optional claim).
type IDTokenV1 struct {
	Aud               string                 `json:"aud"`
	Iss               string                 `json:"iss"`
	Iat               int64                  `json:"iat"`
	Nbf               int64                  `json:"nbf"`
	Exp               int64                  `json:"exp"`
	ClaimNames        map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources      map[string]ClaimSource `json:"_claim_sources,omitempty"`
	Acct              *int                   `json:"acct,omitempty"`
	AIO               string                 `json:"aio,omitempty"`
	AMR               []string               `json:"amr,omitempty"`
	ATHash            string                 `json:"at_hash,omitempty"`
	AuthTime          int64                  `json:"auth_time,omitempty"`
	CHash             string                 `json:"c_hash,omitempty"`
	Ctry              string                 `json:"ctry,omitempty"`
	Email             string                 `json:"email,omitempty"`
	FamilyName        string                 `json:"family_name,omitempty"`
	GivenName         string                 `json:"given_name,omitempty"`
	Groups            []string               `json:"groups,omitempty"`
	HasGroups         bool                   `json:"hasgroups,omitempty"`
	IDP               string                 `json:"idp,omitempty"`
	IPAddr            string                 `json:"ipaddr,omitempty"`
	LoginHint         string                 `json:"login_hint,omitempty"`
	Name              string                 `json:"name,omitempty"`
	Nonce             string                 `json:"nonce,omitempty"`
	OID               string                 `json:"oid,omitempty"`
	PreferredUsername string                 `json:"preferred_username,omitempty"`
	RH                string                 `json:"rh,omitempty"`
	Roles             []string               `json:"roles,omitempty"`
	SID               string                 `json:"sid,omitempty"`
	Sub               string                 `json:"sub"`
	TID               string                 `json:"tid,omitempty"`
	UniqueName        string                 `json:"unique_name,omitempty"`
	UPN               string                 `json:"upn,omitempty"`
	UTI               string                 `json:"uti,omitempty"`
	Ver               string                 `json:"ver"`
	WIDs              []string               `json:"wids,omitempty"`
}

// AccessTokenV1 is the payload of a v1.0 access token (seed 002's v1 sample).
type AccessTokenV1 struct {
	Aud               string                 `json:"aud"`
	Iss               string                 `json:"iss"`
	Iat               int64                  `json:"iat"`
	Nbf               int64                  `json:"nbf"`
	Exp               int64                  `json:"exp"`
	ClaimNames        map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources      map[string]ClaimSource `json:"_claim_sources,omitempty"`
	Acct              *int                   `json:"acct,omitempty"`
	ACR               string                 `json:"acr,omitempty"`
	AIO               string                 `json:"aio,omitempty"`
	AMR               []string               `json:"amr,omitempty"`
	AppID             string                 `json:"appid"`
	AppIDACR          string                 `json:"appidacr"`
	AuthTime          int64                  `json:"auth_time,omitempty"`
	Ctry              string                 `json:"ctry,omitempty"`
	Email             string                 `json:"email,omitempty"`
	FamilyName        string                 `json:"family_name,omitempty"`
	GivenName         string                 `json:"given_name,omitempty"`
	Groups            []string               `json:"groups,omitempty"`
	HasGroups         bool                   `json:"hasgroups,omitempty"`
	IDP               string                 `json:"idp,omitempty"`
	IDTyp             string                 `json:"idtyp,omitempty"`
	IPAddr            string                 `json:"ipaddr,omitempty"`
	LoginHint         string                 `json:"login_hint,omitempty"`
	Name              string                 `json:"name,omitempty"`
	OID               string                 `json:"oid,omitempty"`
	PreferredUsername string                 `json:"preferred_username,omitempty"`
	RH                string                 `json:"rh,omitempty"`
	Roles             []string               `json:"roles,omitempty"`
	Scp               string                 `json:"scp,omitempty"`
	SID               string                 `json:"sid,omitempty"`
	Sub               string                 `json:"sub"`
	TID               string                 `json:"tid,omitempty"`
	UniqueName        string                 `json:"unique_name,omitempty"`
	UPN               string                 `json:"upn,omitempty"`
	UTI               string                 `json:"uti,omitempty"`
	Ver               string                 `json:"ver"`
	WIDs              []string               `json:"wids,omitempty"`
}

// AccessTokenV2 is the payload of a v2.0 access token (seed 002's v2 sample).
type AccessTokenV2 struct {
	Aud               string                 `json:"aud"`
	Iss               string                 `json:"iss"`
	Iat               int64                  `json:"iat"`
	Nbf               int64                  `json:"nbf"`
	Exp               int64                  `json:"exp"`
	ClaimNames        map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources      map[string]ClaimSource `json:"_claim_sources,omitempty"`
	Acct              *int                   `json:"acct,omitempty"`
	AIO               string                 `json:"aio,omitempty"`
	AuthTime          int64                  `json:"auth_time,omitempty"`
	AZP               string                 `json:"azp"`
	AZPACR            string                 `json:"azpacr"`
	Ctry              string                 `json:"ctry,omitempty"`
	Email             string                 `json:"email,omitempty"`
	FamilyName        string                 `json:"family_name,omitempty"`
	GivenName         string                 `json:"given_name,omitempty"`
	Groups            []string               `json:"groups,omitempty"`
	HasGroups         bool                   `json:"hasgroups,omitempty"`
	IDP               string                 `json:"idp,omitempty"`
	IDTyp             string                 `json:"idtyp,omitempty"`
	IPAddr            string                 `json:"ipaddr,omitempty"`
	LoginHint         string                 `json:"login_hint,omitempty"`
	Name              string                 `json:"name,omitempty"`
	OID               string                 `json:"oid,omitempty"`
	PreferredUsername string                 `json:"preferred_username,omitempty"`
	RH                string                 `json:"rh,omitempty"`
	Roles             []string               `json:"roles,omitempty"`
	Scp               string                 `json:"scp,omitempty"`
	SID               string                 `json:"sid,omitempty"`
	Sub               string                 `json:"sub"`
	TID               string                 `json:"tid,omitempty"`
	UPN               string                 `json:"upn,omitempty"`
	UTI               string                 `json:"uti,omitempty"`
	Ver               string                 `json:"ver"`
	WIDs              []string               `json:"wids,omitempty"`
}
