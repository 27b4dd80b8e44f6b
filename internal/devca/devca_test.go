package devca

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestEnsureCreatesVerifiableCertsAndReusesThem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	f, err := Ensure(dir, []string{"entrance.test"})
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(f.CACert)
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA file: %v", err)
	}
	pair, err := tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "entrance.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Error("certificate verifies for a host it was not made for")
	}
	for _, name := range []string{f.ServerKey, filepath.Join(dir, caKeyName)} {
		if st, err := os.Stat(name); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, err %v", name, st.Mode().Perm(), err)
		}
	}

	// A second run keeps everything.
	before := read(t, f.CACert, f.ServerCert, f.ServerKey)
	if _, err := Ensure(dir, []string{"entrance.test"}); err != nil {
		t.Fatal(err)
	}
	if after := read(t, f.CACert, f.ServerCert, f.ServerKey); !bytes.Equal(before, after) {
		t.Error("files changed on the second run")
	}

	// A new host name remakes the server certificate under the same CA.
	caBefore := read(t, f.CACert)
	if _, err := Ensure(dir, []string{"entrance.test", "other.test"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(caBefore, read(t, f.CACert)) {
		t.Error("CA changed when only a host was added")
	}
	pair, _ = tls.LoadX509KeyPair(f.ServerCert, f.ServerKey)
	leaf, _ = x509.ParseCertificate(pair.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "other.test", Roots: pool}); err != nil {
		t.Errorf("other.test: %v", err)
	}
}

func read(t *testing.T, names ...string) []byte {
	t.Helper()
	var out []byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}
