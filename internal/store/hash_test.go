package store

import "testing"

func TestHashToken(t *testing.T) {
	// base64url(SHA-256("abc")), without padding: the known SHA-256 test vector.
	if got, want := HashToken("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"; got != want {
		t.Fatalf("HashToken(abc) = %s, want %s", got, want)
	}
	if HashToken("a") == HashToken("b") {
		t.Fatal("different values hash alike")
	}
}
