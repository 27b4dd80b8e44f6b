package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestSelectSigner(t *testing.T) {
	_, priv := testSigningKey(t)
	digest := sha256.Sum256([]byte("x"))
	for _, tt := range []struct {
		name, wantDesc, wantErr string
	}{
		{name: "go", wantDesc: "go (crypto/rsa"},
		{name: "auto", wantDesc: map[bool]string{true: "openssl (OpenSSL ", false: "go (crypto/rsa"}[OpenSSLBuiltIn]},
		{name: "", wantDesc: map[bool]string{true: "openssl (", false: "go ("}[OpenSSLBuiltIn]},
		{name: "openssl", wantDesc: "openssl (OpenSSL ", wantErr: map[bool]string{true: "", false: "built without the OpenSSL signer"}[OpenSSLBuiltIn]},
		{name: "boring", wantErr: `unknown signer "boring"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			newSigner, desc, err := SelectSigner(tt.name)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(desc, tt.wantDesc) {
				t.Fatalf("description = %q, want prefix %q", desc, tt.wantDesc)
			}
			s, err := newSigner(priv)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignPKCS1v15SHA256(digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}
