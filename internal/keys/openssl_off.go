//go:build !(cgo && openssl)

package keys

import (
	"crypto/rsa"
	"errors"
)

// OpenSSLBuiltIn reports whether this binary has the OpenSSL signer (cgo and
// the openssl build tag).
const OpenSSLBuiltIn = false

// OpenSSLVersion is the version of the libcrypto the binary runs with; empty
// without the OpenSSL signer.
func OpenSSLVersion() string { return "" }

// NewOpenSSLSigner fails: this binary was built without the OpenSSL signer.
func NewOpenSSLSigner(*rsa.PrivateKey) (Signer, error) { return nil, errNoOpenSSL }

var errNoOpenSSL = errors.New("this binary was built without the OpenSSL signer (build with CGO_ENABLED=1 -tags openssl and libssl-dev)")
