package claims

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

// Azure AD B2C tokens. Their claims depend on the user flow (it chooses the
// application claims, extension_* among them), so a B2C token is an ordered
// list of claims rather than a struct. The order follows decoded B2C tokens
// (the token reference and access token docs): an ID token starts exp, nbf,
// ver, iss, sub, aud, nonce, iat, auth_time and ends with the user flow's
// claims and tfp; an access token starts iss, exp, nbf, aud, sub and ends
// tfp, nonce, scp, azp, ver, iat. B2C tokens are version "1.0", their sub is
// the user's object id, and nbf and iat are the moment of issue.

// B2CVersion is the ver of every B2C token.
const B2CVersion = "1.0"

// B2CInput is what a B2C token is made from.
type B2CInput struct {
	Now      time.Time
	Lifetime time.Duration
	// Issuer is {base}/{tid}/v2.0/, or with the tfp option
	// {base}/tfp/{tid}/{policy}/v2.0/.
	Issuer string
	// Audience: the client's appId for an ID token; for an access token the
	// API's appId, or the client's when it asked for itself.
	Audience string
	// Policy is the user flow's name as declared; PolicyClaimACR carries it
	// in acr (B2C's legacy setting) instead of tfp.
	Policy         string
	PolicyClaimACR bool
	User           store.User
	// Claims are the user flow's application claims (directory names:
	// objectId, emails, displayName, ..., extension_*).
	Claims []string
	// NewUser: the user signed up in this flow, just now.
	NewUser bool
	// IdentityProvider is the federated provider the user signed in with;
	// local accounts have none, and B2C sends no idp for them.
	IdentityProvider string
	Nonce            string
	AuthTime         time.Time
	// Scopes are the granted scope values (access token scp); ClientID the
	// requesting app (azp).
	Scopes   []string
	ClientID string
	// Code and AccessToken are what an ID token is issued alongside at the
	// authorize endpoint (c_hash, at_hash).
	Code, AccessToken string
}

// Claim is one claim of an ordered claim set.
type Claim struct {
	Name  string
	Value any
}

// Ordered is a claim set that marshals as a JSON object in its own order.
type Ordered []Claim

// MarshalJSON writes the claims in order.
func (o Ordered) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(c.Value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// Get returns the value of the claim name.
func (o Ordered) Get(name string) (any, bool) {
	for _, c := range o {
		if c.Name == name {
			return c.Value, true
		}
	}
	return nil, false
}

func (o *Ordered) add(name string, v any) { *o = append(*o, Claim{name, v}) }

// addIf adds a string claim that has a value.
func (o *Ordered) addIf(name, v string) {
	if v != "" {
		o.add(name, v)
	}
}

// B2CIDToken builds a B2C ID token.
func B2CIDToken(in B2CInput) Ordered {
	now := in.Now.Unix()
	var o Ordered
	o.add("exp", in.Now.Add(in.Lifetime).Unix())
	o.add("nbf", now)
	o.add("ver", B2CVersion)
	o.add("iss", in.Issuer)
	o.add("sub", in.User.ID)
	o.add("aud", in.Audience)
	o.addIf("nonce", in.Nonce)
	o.add("iat", now)
	if !in.AuthTime.IsZero() {
		o.add("auth_time", in.AuthTime.Unix())
	}
	if in.Code != "" {
		o.add("c_hash", HalfHash(in.Code))
	}
	if in.AccessToken != "" {
		o.add("at_hash", HalfHash(in.AccessToken))
	}
	o.userClaims(in)
	o.policy(in)
	return o
}

// B2CAccessToken builds a B2C access token.
func B2CAccessToken(in B2CInput) Ordered {
	now := in.Now.Unix()
	var o Ordered
	o.add("iss", in.Issuer)
	o.add("exp", in.Now.Add(in.Lifetime).Unix())
	o.add("nbf", now)
	o.add("aud", in.Audience)
	o.add("sub", in.User.ID)
	o.userClaims(in)
	o.policy(in)
	o.addIf("nonce", in.Nonce)
	o.addIf("scp", strings.Join(in.Scopes, " "))
	o.add("azp", in.ClientID)
	o.add("ver", B2CVersion)
	o.add("iat", now)
	return o
}

// policy names the user flow: tfp, or acr in B2C's legacy mode, which
// lower-cases it as B2C did.
func (o *Ordered) policy(in B2CInput) {
	if in.PolicyClaimACR {
		o.add("acr", strings.ToLower(in.Policy))
		return
	}
	o.add("tfp", in.Policy)
}

// userClaims adds the user flow's application claims that have a value, in
// the flow's order.
func (o *Ordered) userClaims(in B2CInput) {
	u := in.User
	for _, c := range in.Claims {
		switch c {
		case "objectId":
			o.add("oid", u.ID)
		case "emails":
			if u.Mail != "" {
				o.add("emails", []string{u.Mail})
			}
		case "displayName":
			o.addIf("name", u.DisplayName)
		case "givenName":
			o.addIf("given_name", u.GivenName)
		case "surname":
			o.addIf("family_name", u.Surname)
		case "identityProvider":
			o.addIf("idp", in.IdentityProvider)
		case "newUser":
			if in.NewUser {
				o.add("newUser", true)
			}
		default: // extension_*
			o.addIf(c, u.ExtensionAttributes[c])
		}
	}
}
