package devicecode

import (
	"strings"
	"testing"
)

func TestNewUserCode(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		c := NewUserCode()
		if len(c) != UserCodeLength || strings.Trim(c, alphabet) != "" {
			t.Fatalf("user code %q: want %d characters of %s", c, UserCodeLength, alphabet)
		}
		if n, ok := NormalizeUserCode(c); !ok || n != c {
			t.Fatalf("NormalizeUserCode(%q) = %q, %v", c, n, ok)
		}
		if seen[c] {
			t.Fatalf("user code %q drawn twice in 1000", c)
		}
		seen[c] = true
	}
}

func TestNormalizeUserCode(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"ABCDEFGH2", "ABCDEFGH2", true},
		{"abcdefgh2", "ABCDEFGH2", true},
		{" ABC-DEF-GH2 ", "ABCDEFGH2", true},
		{"ABCD EFGH2", "ABCDEFGH2", true},
		{"ABCDEFGH", "", false},   // too short
		{"ABCDEFGH23", "", false}, // too long
		{"ABCDEFGHO", "", false},  // O is not in the alphabet
		{"ABCDEFGH1", "", false},  // nor 1
		{"ABCDEFGH%", "", false},  // nor anything else
		{"ÄBCDEFGH2", "", false},  // nor letters beyond ASCII
		{"", "", false},
	} {
		got, ok := NormalizeUserCode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMessage(t *testing.T) {
	want := "To sign in, use a web browser to open the page https://login.example/devicelogin and enter the code ABCDEFGH2 to authenticate."
	if got := Message("https://login.example/devicelogin", "ABCDEFGH2"); got != want {
		t.Errorf("Message = %q", got)
	}
}
