//go:build cgo && openssl

package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// PKCS#1 v1.5 signatures are deterministic, so the OpenSSL signer must give
// exactly crypto/rsa's bytes; each side also verifies the other's.
func TestOpenSSLSignerMatchesGo(t *testing.T) {
	for _, bits := range []int{2048, 3072} {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			priv, err := rsa.GenerateKey(rand.Reader, bits)
			if err != nil {
				t.Fatal(err)
			}
			goSigner, _ := NewRSASigner(priv)
			sslSigner, err := NewOpenSSLSigner(priv)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				digest := sha256.Sum256([]byte(fmt.Sprintf("message %d", i)))
				want, err := goSigner.SignPKCS1v15SHA256(digest[:])
				if err != nil {
					t.Fatal(err)
				}
				got, err := sslSigner.SignPKCS1v15SHA256(digest[:])
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != string(want) {
					t.Fatalf("digest %d: OpenSSL and crypto/rsa signatures differ", i)
				}
				if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], got); err != nil {
					t.Fatalf("crypto/rsa rejects the OpenSSL signature: %v", err)
				}
			}
		})
	}
}

// A whole JWT signed through OpenSSL is the one the Go signer makes, and
// go-jose (RS256 only) verifies it with the certificate's key.
func TestOpenSSLSignJWT(t *testing.T) {
	goKey, priv := testSigningKey(t)
	sslSigner, err := NewOpenSSLSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	sslKey := &SigningKey{kid: goKey.kid, cert: goKey.cert, signer: sslSigner, headerV1: goKey.headerV1, headerV2: goKey.headerV2}
	claims := json.RawMessage(`{"aud":"api://x","iss":"https://issuer/","sub":"s"}`)
	for _, x5t := range []bool{true, false} {
		want, err := goKey.SignJWT(claims, x5t)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sslKey.SignJWT(claims, x5t)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("x5t=%v: OpenSSL token\n%s\ndiffers from crypto/rsa's\n%s", x5t, got, want)
		}
		jws, err := jose.ParseSigned(got, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		if out, err := jws.Verify(sslKey.Certificate().PublicKey); err != nil || string(out) != string(claims) {
			t.Fatalf("go-jose verify: %s, %v", out, err)
		}
	}
}

// Many goroutines share one signer (and its pool of contexts); run with -race.
func TestOpenSSLSignerConcurrent(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewOpenSSLSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				digest := sha256.Sum256([]byte(fmt.Sprintf("%d/%d", g, i)))
				sig, err := s.SignPKCS1v15SHA256(digest[:])
				if err == nil {
					err = rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(s.(*opensslSigner).k.idle); n == 0 || n > maxIdleCtx {
		t.Fatalf("%d idle contexts after the run", n)
	}
}

func TestOpenSSLSignerErrors(t *testing.T) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewOpenSSLSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignPKCS1v15SHA256([]byte("short")); err == nil || !strings.Contains(err.Error(), "digest is 5 bytes") {
		t.Fatalf("short digest: %v", err)
	}
	// After the key is freed (what the cleanup does) signing fails cleanly.
	s.(*opensslSigner).k.free()
	s.(*opensslSigner).k.free() // idempotent
	digest := sha256.Sum256(nil)
	if _, err := s.SignPKCS1v15SHA256(digest[:]); err == nil || !strings.Contains(err.Error(), "freed") {
		t.Fatalf("sign after free: %v", err)
	}
	if !strings.HasPrefix(OpenSSLVersion(), "OpenSSL ") {
		t.Fatalf("OpenSSLVersion() = %q", OpenSSLVersion())
	}
}

// BenchmarkSignOpenSSL is BenchmarkRS256Raw through libcrypto.
func BenchmarkSignOpenSSL(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewOpenSSLSigner(priv)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("header.payload"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.SignPKCS1v15SHA256(digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSignJWTOpenSSL is BenchmarkSignJWT with the OpenSSL signer.
func BenchmarkSignJWTOpenSSL(b *testing.B) {
	goKey, priv := testSigningKey(b)
	s, err := NewOpenSSLSigner(priv)
	if err != nil {
		b.Fatal(err)
	}
	key := &SigningKey{kid: goKey.kid, cert: goKey.cert, signer: s, headerV1: goKey.headerV1, headerV2: goKey.headerV2}
	claims := json.RawMessage(`{"aud":"00000003-0000-0000-c000-000000000000","iss":"https://localhost:8443/7d3e6f1a-0000-4000-8000-000000000001/v2.0","iat":1700000000,"nbf":1700000000,"exp":1700003600,"aio":"x","azp":"6b8c1c1e-0000-4000-8000-000000000002","azpacr":"1","oid":"0c1b0e52-0000-4000-8000-000000000003","rh":"0.x","sub":"0c1b0e52-0000-4000-8000-000000000003","tid":"7d3e6f1a-0000-4000-8000-000000000001","uti":"abc","ver":"2.0"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := key.SignJWT(claims, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
