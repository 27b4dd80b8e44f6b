// Package devca makes the local certificate authority and server certificate
// `entrance dev` serves HTTPS with, because MSAL, azidentity and Auth.js refuse
// plain-HTTP authorities. The CA is made once and reused, so a user trusts it
// once (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE or the system store); the server
// certificate is remade when it nears expiry or must cover new host names.
package devca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Files are the PEM files Ensure maintains.
type Files struct {
	CACert     string // the CA certificate clients trust
	ServerCert string // the server certificate (leaf, then CA)
	ServerKey  string // the server's private key (0600)
}

// File names under the directory given to Ensure.
const (
	caCertName     = "ca.pem"
	caKeyName      = "ca-key.pem"
	serverCertName = "server.pem"
	serverKeyName  = "server-key.pem"
)

const (
	caValidity     = 20 * 365 * 24 * time.Hour
	serverValidity = 825 * 24 * time.Hour // Apple's limit for locally trusted TLS certificates
	renewBefore    = 30 * 24 * time.Hour
)

// DefaultHosts returns the host names always in the server certificate.
func DefaultHosts() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// Ensure makes sure dir holds a CA and a server certificate signed by it for
// DefaultHosts and hosts (DNS names or IP addresses), creating what is missing
// or no longer fits, and returns the file paths.
func Ensure(dir string, hosts []string) (Files, error) {
	f := Files{
		CACert:     filepath.Join(dir, caCertName),
		ServerCert: filepath.Join(dir, serverCertName),
		ServerKey:  filepath.Join(dir, serverKeyName),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, fmt.Errorf("devca: %w", err)
	}
	all := append(DefaultHosts(), hosts...)
	slices.Sort(all)
	all = slices.Compact(all)

	caCert, caKey, err := loadPair(f.CACert, filepath.Join(dir, caKeyName))
	if err != nil || time.Until(caCert.NotAfter) < renewBefore || !caCert.IsCA {
		if caCert, caKey, err = newCA(); err != nil {
			return f, err
		}
		if err := writePair(f.CACert, filepath.Join(dir, caKeyName), caKey, caCert); err != nil {
			return f, err
		}
	}
	if serverUsable(f, caCert, all) {
		return f, nil
	}
	leaf, leafKey, err := newServer(caCert, caKey, all)
	if err != nil {
		return f, err
	}
	return f, writePair(f.ServerCert, f.ServerKey, leafKey, leaf, caCert)
}

// serverUsable reports whether the server certificate on disk chains to ca,
// covers every host and is not about to expire.
func serverUsable(f Files, ca *x509.Certificate, hosts []string) bool {
	leaf, _, err := loadPair(f.ServerCert, f.ServerKey)
	if err != nil || time.Until(leaf.NotAfter) < renewBefore {
		return false
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool}); err != nil {
			return false
		}
	}
	return true
}

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	host, _ := os.Hostname()
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"Entrance development CA"}, CommonName: "Entrance development CA " + host},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: create CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newServer(ca *x509.Certificate, caKey *ecdsa.PrivateKey, hosts []string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"Entrance development"}, CommonName: hosts[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(serverValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("devca: create server certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// loadPair reads a certificate (the first in the file) and its ECDSA key.
func loadPair(certFile, keyFile string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, errors.New("devca: not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, errors.New("devca: key does not match certificate")
	}
	return cert, key, nil
}

// writePair writes the key (0600) and the certificates (0644), each through a
// temporary file and rename so a crash never leaves half a file.
func writePair(certFile, keyFile string, key *ecdsa.PrivateKey, certs ...*x509.Certificate) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	var chain []byte
	for _, c := range certs {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return writeFile(certFile, chain, 0o644)
}

func writeFile(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: write %s: %w", name, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("devca: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	return nil
}
