package protocol

import "strings"

// IssuerB2C is the issuer of a B2C user flow's tokens: {public}/{tid}/v2.0/
// with B2C's trailing slash, or, with the flow's tfp compatibility option,
// {public}/tfp/{tid}/{policy}/v2.0/ (the policy lower-cased, as the path of
// the metadata it equals: the server lower-cases paths).
func (u URLs) IssuerB2C(tenantID, policy string, tfp bool) string {
	if tfp {
		return u.Public + "/tfp/" + tenantID + "/" + strings.ToLower(policy) + "/v2.0/"
	}
	return u.Public + "/" + tenantID + "/v2.0/"
}
