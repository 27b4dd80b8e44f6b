package secrets

import (
	"bytes"
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q", hash)
	}
	again, _ := HashPassword("correct horse")
	if again == hash {
		t.Fatal("two hashes of one password are equal (no salt?)")
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{{"correct horse", true}, {"correct horsE", false}, {"", false}} {
		ok, err := VerifyPassword(hash, tt.password)
		if err != nil || ok != tt.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tt.password, ok, err, tt.want)
		}
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, _ := HashPassword("pw")
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"",
		"plaintext",
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=18", 1),
		strings.Replace(good, "p=1", "p=0", 1),
		strings.Join(append(parts[:4:4], "!!", parts[5]), "$"),
		strings.Join(append(parts[:5:5], ""), "$"),
	} {
		if _, err := VerifyPassword(bad, "pw"); err != ErrMalformedHash {
			t.Errorf("VerifyPassword(%q) error = %v, want ErrMalformedHash", bad, err)
		}
	}
}

func TestClientSecretHasher(t *testing.T) {
	pepper := bytes.Repeat([]byte{7}, 32)
	h := NewClientSecretHasher(pepper)
	secret := GenerateClientSecret()
	if len(secret) < MinClientSecretLength || secret[3:6] != "8Q~" {
		t.Fatalf("generated secret %q has the wrong shape", secret)
	}
	stored := h.Hash(secret)
	if !h.Verify(stored, secret) || h.Verify(stored, secret+"x") {
		t.Fatal("Verify disagrees with Hash")
	}
	other := NewClientSecretHasher(bytes.Repeat([]byte{8}, 32))
	if other.Verify(stored, secret) {
		t.Fatal("a different pepper verified the secret")
	}
	pepper[0] = 0 // the hasher keeps its own copy
	if !h.Verify(stored, secret) {
		t.Fatal("hasher shares the caller's pepper slice")
	}
}

// BenchmarkArgon2id is the ceiling for password sign-ins: one HashPassword
// (VerifyPassword costs the same).
func BenchmarkArgon2id(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
