package keys

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/go-jose/go-jose/v4"
)

func testBox(t testing.TB) *sealbox.Box {
	t.Helper()
	keys, err := sealbox.ParseMasterKeys(sealbox.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// testSigningKey makes a key the way the Manager does, without a store.
func testSigningKey(t testing.TB) (*SigningKey, *rsa.PrivateKey) {
	t.Helper()
	box := testBox(t)
	stored, err := newKey(box, "entrance signing key test", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub, err := openPrivate(box, stored)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := NewRSASigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	return newSigningKey(pub, signer), priv
}

func TestKIDIsThumbprint(t *testing.T) {
	box := testBox(t)
	stored, err := newKey(box, "entrance signing key test", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(stored.CertificateDER)
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	if stored.KID != want || Thumbprint(stored.CertificateDER) != want {
		t.Fatalf("kid = %q, want SHA-1 thumbprint %q", stored.KID, want)
	}
	pub, err := parsePublic(stored)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Key.N.BitLen() != 2048 {
		t.Fatalf("key is %d bits", pub.Key.N.BitLen())
	}
	if cn := pub.Certificate.Subject.CommonName; cn != "entrance signing key test" {
		t.Fatalf("CN = %q", cn)
	}
	if d := time.Until(pub.Certificate.NotAfter); d < 4*365*24*time.Hour {
		t.Fatalf("certificate valid for only %v", d)
	}
	// The private key opens only with its own kid as associated data.
	other := stored
	other.KID = "another"
	if _, _, err := openPrivate(box, other); err == nil {
		t.Fatal("private key opened under another kid")
	}
}

func TestSignJWT(t *testing.T) {
	key, priv := testSigningKey(t)
	kid := key.KID()
	claims := json.RawMessage(`{"aud":"api://x","iss":"https://issuer/","sub":"s"}`)

	for _, tt := range []struct {
		name    string
		x5t     bool
		wantHdr string
	}{
		{"v1", true, `{"typ":"JWT","alg":"RS256","x5t":"` + kid + `","kid":"` + kid + `"}`},
		{"v2", false, `{"typ":"JWT","alg":"RS256","kid":"` + kid + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := key.SignJWT(claims, tt.x5t)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(tok, ".")
			if len(parts) != 3 {
				t.Fatalf("not compact JWS: %q", tok)
			}
			hdr, err := base64.RawURLEncoding.DecodeString(parts[0])
			if err != nil || string(hdr) != tt.wantHdr {
				t.Fatalf("header = %s, %v; want %s", hdr, err, tt.wantHdr)
			}
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			if string(payload) != string(claims) {
				t.Fatalf("payload = %s", payload)
			}

			// crypto/rsa
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
				t.Fatalf("crypto/rsa: %v", err)
			}

			// go-jose, with an explicit algorithm allowlist
			jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatalf("go-jose parse: %v", err)
			}
			if got := jws.Signatures[0].Header.KeyID; got != kid {
				t.Fatalf("go-jose kid = %q", got)
			}
			out, err := jws.Verify(key.Certificate().PublicKey)
			if err != nil || string(out) != string(claims) {
				t.Fatalf("go-jose verify: %s, %v", out, err)
			}
		})
	}
}

func TestSignJWTOrderedStruct(t *testing.T) {
	key, _ := testSigningKey(t)
	claims := struct {
		Aud string `json:"aud"`
		Iss string `json:"iss"`
		Iat int64  `json:"iat"`
	}{"a", "i", 1}
	tok, err := key.SignJWT(claims, false)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if string(payload) != `{"aud":"a","iss":"i","iat":1}` {
		t.Fatalf("payload = %s", payload)
	}
	if _, err := key.SignJWT(func() {}, false); err == nil {
		t.Fatal("unmarshalable claims accepted")
	}
}

func TestJWKSJSON(t *testing.T) {
	box := testBox(t)
	var pubs []PublicKey
	for _, status := range []string{"current", "next"} {
		stored, err := newKey(box, "entrance signing key test", time.Now(), 0)
		if err != nil {
			t.Fatal(err)
		}
		stored.Status = status
		pub, err := parsePublic(stored)
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, pub)
	}
	doc, err := JWKSJSON(pubs, func(k PublicKey) string { return "https://login.example/{tenantid}/v2.0?a=1&b=2" })
	if err != nil {
		t.Fatal(err)
	}
	k0 := pubs[0]
	wantPrefix := `{"keys":[{"kty":"RSA","use":"sig","kid":"` + k0.KID + `","x5t":"` + k0.KID + `","n":"` +
		base64.RawURLEncoding.EncodeToString(k0.Key.N.Bytes()) + `","e":"AQAB","x5c":["` +
		base64.StdEncoding.EncodeToString(k0.Certificate.Raw) + `"],"issuer":"https://login.example/{tenantid}/v2.0?a=1&b=2"},{"kty":"RSA"`
	if !strings.HasPrefix(string(doc), wantPrefix) || !strings.HasSuffix(string(doc), `"}]}`) {
		t.Fatalf("JWKS =\n%s\nwant prefix\n%s", doc, wantPrefix)
	}

	// go-jose reads it back, with the certificate.
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("go-jose cannot read our JWKS: %v", err)
	}
	if len(set.Keys) != 2 || set.Keys[1].KeyID != pubs[1].KID || len(set.Keys[0].Certificates) != 1 {
		t.Fatalf("go-jose read %+v", set.Keys)
	}

	none, err := JWKSJSON(nil, nil)
	if err != nil || string(none) != `{"keys":[]}` {
		t.Fatalf("empty JWKS = %s, %v", none, err)
	}
	noIssuer, _ := JWKSJSON(pubs[:1], nil)
	if strings.Contains(string(noIssuer), "issuer") {
		t.Fatalf("issuer rendered without issuerFor: %s", noIssuer)
	}
}

// BenchmarkSignJWT measures a whole token signature: header, claims JSON,
// base64url and RS256. Compare with BenchmarkRS256Raw, the crypto ceiling.
func BenchmarkSignJWT(b *testing.B) {
	key, _ := testSigningKey(b)
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

// BenchmarkRS256Raw is the ceiling: crypto/rsa PKCS#1 v1.5 over a SHA-256 digest.
func BenchmarkRS256Raw(b *testing.B) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	priv.Precompute()
	digest := sha256.Sum256([]byte("header.payload"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
