package keys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"

	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store"
)

const rsaBits = 2048

// minCertValidity is how long a signing certificate is valid at least. Clients
// rarely check it, but an expired certificate in x5c would look wrong, and a key
// may wait as `next`, sign as `current` and stay published as `previous`.
const minCertValidity = 5 * 365 * 24 * time.Hour

// Thumbprint returns the kid (= x5t) of a certificate: the base64url SHA-1
// thumbprint of its DER encoding, as Entra does.
func Thumbprint(certDER []byte) string {
	sum := sha1.Sum(certDER)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// newKey makes an RSA key with a self-signed certificate and returns it as it is
// stored: the private key only sealed, bound to its kid.
func newKey(box *sealbox.Box, subject string, now time.Time, validity time.Duration) (store.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate RSA key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return store.SigningKey{}, err
	}
	if validity < minCertValidity {
		validity = minCertValidity
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    now.Add(-time.Hour).UTC(), // tolerate clock skew
		NotAfter:     now.Add(validity).UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("self-sign certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, err
	}
	kid := Thumbprint(certDER)
	sealed, err := box.Seal(pkcs8, []byte(kid))
	clear(pkcs8)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("seal private key: %w", err)
	}
	return store.SigningKey{
		KID:              kid,
		CertificateDER:   certDER,
		SealedPrivateKey: sealed,
		CreatedAt:        now.UTC(),
	}, nil
}

// parsePublic parses a stored key's certificate and checks it is RSA.
func parsePublic(k store.SigningKey) (PublicKey, error) {
	cert, err := x509.ParseCertificate(k.CertificateDER)
	if err != nil {
		return PublicKey{}, fmt.Errorf("key %s: certificate: %w", k.KID, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return PublicKey{}, fmt.Errorf("key %s: certificate does not hold an RSA key", k.KID)
	}
	return PublicKey{KID: k.KID, Certificate: cert, Key: pub, Status: k.Status}, nil
}

// openPrivate decrypts a stored key's private key and checks it belongs to its
// certificate.
func openPrivate(box *sealbox.Box, k store.SigningKey) (*rsa.PrivateKey, PublicKey, error) {
	pub, err := parsePublic(k)
	if err != nil {
		return nil, PublicKey{}, err
	}
	pkcs8, err := box.Open(k.SealedPrivateKey, []byte(k.KID))
	if err != nil {
		return nil, PublicKey{}, fmt.Errorf("key %s: private key: %w", k.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, PublicKey{}, fmt.Errorf("key %s: private key: %w", k.KID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok || !priv.PublicKey.Equal(pub.Key) {
		return nil, PublicKey{}, fmt.Errorf("key %s: private key does not match its certificate", k.KID)
	}
	priv.Precompute()
	return priv, pub, nil
}
