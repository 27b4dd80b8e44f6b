package keys

import (
	"crypto/rsa"
	"fmt"
	"runtime"
)

// Signer names, as --signer takes them.
const (
	SignerGo      = "go"      // crypto/rsa, always available
	SignerOpenSSL = "openssl" // the system's libcrypto (binaries built with -tags openssl)
	SignerAuto    = "auto"    // openssl when built in, else go
)

// SelectSigner returns the Options.NewSigner for a signer name and a
// description of the choice for the start-up log. Asking for openssl in a
// binary built without it is an error, not a silent fallback.
func SelectSigner(name string) (newSigner func(*rsa.PrivateKey) (Signer, error), description string, err error) {
	switch name {
	case SignerAuto, "":
		if OpenSSLBuiltIn {
			return NewOpenSSLSigner, "openssl (" + OpenSSLVersion() + ")", nil
		}
		return NewRSASigner, "go (crypto/rsa, " + runtime.Version() + "; this binary has no OpenSSL signer)", nil
	case SignerGo:
		return NewRSASigner, "go (crypto/rsa, " + runtime.Version() + ")", nil
	case SignerOpenSSL:
		if !OpenSSLBuiltIn {
			_, err := NewOpenSSLSigner(nil)
			return nil, "", err
		}
		return NewOpenSSLSigner, "openssl (" + OpenSSLVersion() + ")", nil
	}
	return nil, "", fmt.Errorf("unknown signer %q: want go, openssl or auto", name)
}
