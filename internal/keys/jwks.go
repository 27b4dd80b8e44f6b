package keys

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
)

// PublicKey is a published key: what a JWKS entry is made from.
type PublicKey struct {
	KID         string
	Certificate *x509.Certificate
	Key         *rsa.PublicKey
	Status      string // store.KeyStatusCurrent, KeyStatusNext or KeyStatusPrevious
}

// jwk is one JWKS entry; the field order is Entra's.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X5c    []string `json:"x5c"`
	Issuer string   `json:"issuer,omitempty"`
}

// JWKSJSON renders keys as a JWKS document, {"keys":[...]}, with entries in
// Entra's shape: {"kty":"RSA","use":"sig","kid","x5t","n","e","x5c","issuer"}.
// issuerFor gives each entry's issuer (nil or "" leaves it out).
func JWKSJSON(keys []PublicKey, issuerFor func(PublicKey) string) ([]byte, error) {
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		e := jwk{
			Kty: "RSA",
			Use: "sig",
			Kid: k.KID,
			X5t: k.KID, // kid is the certificate thumbprint
			N:   base64.RawURLEncoding.EncodeToString(k.Key.N.Bytes()),
			E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.Key.E)).Bytes()),
			X5c: []string{base64.StdEncoding.EncodeToString(k.Certificate.Raw)},
		}
		if issuerFor != nil {
			e.Issuer = issuerFor(k)
		}
		doc.Keys = append(doc.Keys, e)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep issuer URLs verbatim (no \u0026-style escapes)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
