package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Signer performs the one private-key operation a token needs: an RSASSA-PKCS1-v1_5
// signature over a SHA-256 digest. The default is pure-Go crypto/rsa; a faster
// implementation (for example one backed by OpenSSL) can be plugged in with
// Options.NewSigner. Implementations must be safe for concurrent use.
type Signer interface {
	SignPKCS1v15SHA256(digest []byte) ([]byte, error)
}

// NewRSASigner returns the pure-Go Signer for key.
func NewRSASigner(key *rsa.PrivateKey) (Signer, error) {
	key.Precompute() // idempotent; done once here rather than per signature
	return rsaSigner{key}, nil
}

type rsaSigner struct{ key *rsa.PrivateKey }

func (s rsaSigner) SignPKCS1v15SHA256(digest []byte) ([]byte, error) {
	return rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, digest)
}

// SigningKey is the current key of a key set, ready to sign. It is safe for
// concurrent use.
type SigningKey struct {
	kid    string
	cert   *x509.Certificate
	signer Signer
	// Encoded JOSE headers, made once: the key order is Entra's.
	headerV1 string // {"typ":"JWT","alg":"RS256","x5t":K,"kid":K}
	headerV2 string // {"typ":"JWT","alg":"RS256","kid":K}
}

func newSigningKey(pub PublicKey, signer Signer) *SigningKey {
	// kid is base64url, so it needs no JSON escaping.
	v1 := `{"typ":"JWT","alg":"RS256","x5t":"` + pub.KID + `","kid":"` + pub.KID + `"}`
	v2 := `{"typ":"JWT","alg":"RS256","kid":"` + pub.KID + `"}`
	return &SigningKey{
		kid:      pub.KID,
		cert:     pub.Certificate,
		signer:   signer,
		headerV1: base64.RawURLEncoding.EncodeToString([]byte(v1)),
		headerV2: base64.RawURLEncoding.EncodeToString([]byte(v2)),
	}
}

// KID returns the key's kid (which is also its x5t).
func (k *SigningKey) KID() string { return k.kid }

// Certificate returns the key's self-signed certificate (the one in JWKS x5c).
func (k *SigningKey) Certificate() *x509.Certificate { return k.cert }

// SignJWT returns a compact RS256 JWS of claims (marshalled with encoding/json:
// pass an ordered struct or json.RawMessage to control the claim order).
// includeX5T selects the v1 header, which carries x5t as well as kid.
func (k *SigningKey) SignJWT(claims any, includeX5T bool) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	header := k.headerV2
	if includeX5T {
		header = k.headerV1
	}
	enc := base64.RawURLEncoding
	const sigLen = rsaBits / 8
	buf := make([]byte, 0, len(header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(sigLen))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	sig, err := k.signer.SignPKCS1v15SHA256(digest[:])
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", k.kid, err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}
