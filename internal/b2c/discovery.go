package b2c

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/keys"
)

// A user flow's OpenID Connect metadata, in the field order of B2C's
// documents. Its endpoint URLs keep the form the document was asked for in
// (path, ?p= or tfp) and the tenant as the request named it, as B2C's do;
// the policy is lower-cased in them. The issuer is the flow's (the tenant
// form with a trailing slash, or the tfp form when the flow is set so),
// whatever the form: go-oidc and other strict clients match the tfp issuer
// against /tfp/{tid}/{policy}/v2.0/.well-known/openid-configuration.
type discoveryDoc struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
}

var (
	responseModes = []string{"query", "fragment", "form_post"}
	responseTypes = []string{"code", "code id_token", "code token", "code id_token token", "id_token", "id_token token", "token", "token id_token"}
	authMethods   = []string{"client_secret_post", "client_secret_basic"}
	// The claims every flow's tokens may carry, after its own.
	protocolClaims = []string{"iss", "iat", "exp", "aud", "acr", "nonce", "auth_time"}
)

// tokenClaimNames maps user flow claims to the token claims they become.
var tokenClaimNames = map[string]string{
	"objectId": "oid", "emails": "emails", "displayName": "name", "givenName": "given_name",
	"surname": "family_name", "identityProvider": "idp", "newUser": "newUser",
}

// endpointURL is a policy endpoint's URL in the request's form.
func (h *Handler) endpointURL(e endpoint, t target, ep string) string {
	policy := strings.ToLower(t.flow.Name)
	base := h.opts.URLs.Public
	switch e.form {
	case formQuery:
		return base + "/" + e.segment + "/" + ep + "?p=" + url.QueryEscape(policy)
	case formTFP:
		return base + "/tfp/" + e.segment + "/" + policy + "/" + ep
	}
	return base + "/" + e.segment + "/" + policy + "/" + ep
}

func (h *Handler) issuer(t target) string {
	return h.opts.URLs.IssuerB2C(t.tenant.ID, t.flow.Name, t.flow.IssuerTFP)
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, e endpoint) {
	t, err := h.resolve(r.Context(), e)
	if err != nil {
		h.writeJSON(w, r, err)
		return
	}
	claims := []string{}
	for _, c := range flowClaims(t) {
		if n, ok := tokenClaimNames[c]; ok {
			c = n
		}
		claims = append(claims, c)
	}
	claims = append(claims, "sub")
	if !t.flow.PolicyClaimACR {
		claims = append(claims, "tfp")
	}
	doc := discoveryDoc{
		Issuer:                            h.issuer(t),
		AuthorizationEndpoint:             h.endpointURL(e, t, epAuthorize),
		TokenEndpoint:                     h.endpointURL(e, t, epToken),
		EndSessionEndpoint:                h.endpointURL(e, t, epLogout),
		JWKSURI:                           h.endpointURL(e, t, epKeys),
		ResponseModesSupported:            responseModes,
		ResponseTypesSupported:            responseTypes,
		ScopesSupported:                   []string{"openid"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: authMethods,
		ClaimsSupported:                   append(claims, protocolClaims...),
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URLs verbatim (?p=...&...)
	if err := enc.Encode(doc); err != nil {
		h.writeJSON(w, r, err)
		return
	}
	serveDoc(w, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// keys serves the policy's signing keys: the tenant's, each entry naming the
// flow's issuer.
func (h *Handler) keys(w http.ResponseWriter, r *http.Request, e endpoint) {
	t, err := h.resolve(r.Context(), e)
	if err != nil {
		h.writeJSON(w, r, err)
		return
	}
	published, err := h.opts.Keys.PublishedKeys(r.Context(), t.tenant.ID, "")
	if err != nil {
		h.writeJSON(w, r, err)
		return
	}
	iss := h.issuer(t)
	body, err := keys.JWKSJSON(published, func(keys.PublicKey) string { return iss })
	if err != nil {
		h.writeJSON(w, r, err)
		return
	}
	serveDoc(w, body)
}

// serveDoc writes a metadata or keys document with the headers Entra's
// documents carry: cacheable for a day, readable from any origin.
func serveDoc(w http.ResponseWriter, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "max-age=86400, private")
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
