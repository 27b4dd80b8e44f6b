package directory

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

const timeFormat = time.RFC3339

// DefaultClientSecretLifetime is how long a client secret lives when no end
// date is given: Graph's addPassword default (startDateTime + 2 years). The
// Entra portal suggests 180 days; callers that want that pass an end date.
const DefaultClientSecretLifetime = 2 * 365 * 24 * time.Hour

var (
	// ErrDuplicateCredential: the app already has this secret or certificate.
	ErrDuplicateCredential = errors.New("the application already has this credential")
)

// AddClientSecret adds a client secret to app, storing only its keyed hash and
// its first three characters (the hint), and returns the new credential. The
// secret must be at least secrets.MinClientSecretLength characters (generate
// one with secrets.GenerateClientSecret). A zero end means now +
// DefaultClientSecretLifetime; the end must be after now.
func AddClientSecret(app *store.Application, secret, displayName string, end time.Time, h *secrets.ClientSecretHasher, now time.Time) (store.PasswordCredential, error) {
	if h == nil {
		return store.PasswordCredential{}, errors.New("no client secret hasher")
	}
	if len(secret) < secrets.MinClientSecretLength {
		return store.PasswordCredential{}, fmt.Errorf("the secret is %d characters; at least %d are required", len(secret), secrets.MinClientSecretLength)
	}
	for _, c := range app.PasswordCredentials {
		if h.Verify(c.SecretHash, secret) {
			return store.PasswordCredential{}, fmt.Errorf("%w (keyId %s)", ErrDuplicateCredential, c.KeyID)
		}
	}
	start := now.UTC().Truncate(time.Second)
	if end.IsZero() {
		end = start.Add(DefaultClientSecretLifetime)
	}
	end = end.UTC()
	if !end.After(start) {
		return store.PasswordCredential{}, fmt.Errorf("endDateTime %s is not in the future", end.Format(timeFormat))
	}
	c := store.PasswordCredential{
		KeyID:         ids.NewGUID(),
		DisplayName:   displayName,
		Hint:          secrets.Hint(secret),
		SecretHash:    h.Hash(secret),
		StartDateTime: start,
		EndDateTime:   end,
	}
	app.PasswordCredentials = append(app.PasswordCredentials, c)
	return c, nil
}

// ParseCertificate reads one X.509 certificate in PEM or DER form. A PEM that
// also holds a private key is refused: the application registration only ever
// gets the public certificate.
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	// Only PEM text is trimmed: DER is binary, and a signature may well end
	// in a byte that reads as white space.
	text := bytes.TrimSpace(data)
	if len(text) == 0 {
		return nil, errors.New("no certificate given")
	}
	der := data
	if bytes.HasPrefix(text, []byte("-----BEGIN")) {
		der = nil
		for rest := text; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			switch {
			case b.Type == "CERTIFICATE" && der == nil:
				der = b.Bytes
			case b.Type == "CERTIFICATE":
				return nil, errors.New("the PEM holds more than one certificate; give one")
			case bytes.Contains([]byte(b.Type), []byte("PRIVATE KEY")):
				return nil, errors.New("the PEM holds a private key; give only the certificate")
			}
		}
		if der == nil {
			return nil, errors.New("no CERTIFICATE block in the PEM")
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("not an X.509 certificate: %v", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, errors.New("the certificate's key is not RSA; Entra accepts RSA certificates for client assertions")
	}
	return cert, nil
}

// Thumbprint is a certificate's SHA-1 thumbprint, what Graph keeps as a key
// credential's customKeyIdentifier and clients send as x5t.
func Thumbprint(der []byte) []byte {
	sum := sha1.Sum(der)
	return sum[:]
}

// AddCertificate adds an X.509 certificate (PEM or DER) to app as a key
// credential for private_key_jwt, and returns it: customKeyIdentifier is the
// SHA-1 thumbprint, start and end come from the certificate's validity.
func AddCertificate(app *store.Application, certPEMorDER []byte, displayName string) (store.KeyCredential, error) {
	cert, err := ParseCertificate(certPEMorDER)
	if err != nil {
		return store.KeyCredential{}, err
	}
	thumb := Thumbprint(cert.Raw)
	for _, c := range app.KeyCredentials {
		if bytes.Equal(c.CustomKeyIdentifier, thumb) {
			return store.KeyCredential{}, fmt.Errorf("%w (keyId %s)", ErrDuplicateCredential, c.KeyID)
		}
	}
	if displayName == "" {
		displayName = "CN=" + cert.Subject.CommonName
	}
	c := store.KeyCredential{
		KeyID:               ids.NewGUID(),
		DisplayName:         displayName,
		Type:                KeyTypeX509Cert,
		Usage:               KeyUsageVerify,
		Key:                 cert.Raw,
		CustomKeyIdentifier: thumb,
		StartDateTime:       cert.NotBefore.UTC(),
		EndDateTime:         cert.NotAfter.UTC(),
	}
	app.KeyCredentials = append(app.KeyCredentials, c)
	return c, nil
}
