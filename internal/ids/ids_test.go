package ids

import (
	"strings"
	"testing"
)

func TestNewGUID(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		g := NewGUID()
		if !IsGUID(g) || g != strings.ToLower(g) {
			t.Fatalf("NewGUID() = %q, want a lower-case GUID", g)
		}
		if g[14] != '4' || !strings.ContainsRune("89ab", rune(g[19])) {
			t.Fatalf("NewGUID() = %q, want version 4, RFC 4122 variant", g)
		}
		if seen[g] {
			t.Fatalf("NewGUID() repeated %q", g)
		}
		seen[g] = true
	}
}

func TestIsGUID(t *testing.T) {
	for s, want := range map[string]bool{
		"8eaef023-2b34-4da1-9baa-8bc8c9d6a490": true,
		"8EAEF023-2B34-4DA1-9BAA-8BC8C9D6A490": true,
		"8eaef023-2b34-4da1-9baa-8bc8c9d6a49":  false,
		"8eaef023x2b34-4da1-9baa-8bc8c9d6a490": false,
		"8eaef023-2b34-4da1-9baa-8bc8c9d6a49g": false,
		"":                                     false,
	} {
		if got := IsGUID(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRandomToken(t *testing.T) {
	if a, b := RandomToken(32), RandomToken(32); len(a) != 43 || a == b {
		t.Errorf("RandomToken(32) = %q, %q", a, b)
	}
}

func BenchmarkNewGUID(b *testing.B) {
	for b.Loop() {
		NewGUID()
	}
}
