package sealbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func mustBox(t *testing.T, spec string) *Box {
	t.Helper()
	keys, err := ParseMasterKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := mustBox(t, GenerateMasterKey())
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 500)} {
		sealed, err := b.Seal(plain, []byte("kid-1"))
		if err != nil {
			t.Fatal(err)
		}
		// Only a long plaintext can be looked for: a one-byte one turns up
		// by chance in a hundred random bytes a third of the time.
		if len(plain) >= 16 && bytes.Contains(sealed, plain) {
			t.Fatal("plaintext visible in sealed blob")
		}
		got, err := b.Open(sealed, []byte("kid-1"))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
		id, err := KeyID(sealed)
		if err != nil || id != b.PrimaryID() {
			t.Fatalf("KeyID = %q, %v; want %q", id, err, b.PrimaryID())
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	b := mustBox(t, GenerateMasterKey())
	s1, _ := b.Seal([]byte("same"), nil)
	s2, _ := b.Seal([]byte("same"), nil)
	if bytes.Equal(s1, s2) {
		t.Fatal("two seals of the same plaintext are equal")
	}
}

func TestEveryFlippedByteFails(t *testing.T) {
	b := mustBox(t, GenerateMasterKey())
	ad := []byte("kid-1")
	sealed, _ := b.Seal([]byte("private key bytes"), ad)
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := b.Open(bad, ad); err == nil {
			t.Fatalf("Open accepted a blob with byte %d flipped", i)
		}
	}
	for _, n := range []int{0, 1, minBlobLen - 1} {
		if _, err := b.Open(sealed[:n], ad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open of %d-byte prefix: %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := b.Open(sealed[:len(sealed)-1], ad); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open of truncated ciphertext: %v, want ErrDecrypt", err)
	}
}

func TestErrors(t *testing.T) {
	b := mustBox(t, GenerateMasterKey())
	other := mustBox(t, GenerateMasterKey())
	sealed, _ := b.Seal([]byte("value"), []byte("kid-1"))

	tests := []struct {
		name string
		box  *Box
		blob []byte
		ad   string
		want error
	}{
		{"wrong associated data", b, sealed, "kid-2", ErrDecrypt},
		{"unknown master key", other, sealed, "kid-1", ErrUnknownMasterKey},
		{"not a blob", b, []byte("hello"), "kid-1", ErrCorrupt},
		{"bad version", b, append([]byte{9}, sealed[1:]...), "kid-1", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.box.Open(tt.blob, []byte(tt.ad))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := GenerateMasterKey(), GenerateMasterKey()
	oldBox := mustBox(t, oldKey)
	both := mustBox(t, newKey+", "+oldKey)
	newOnly := mustBox(t, newKey)

	sealed, _ := oldBox.Seal([]byte("value"), []byte("ad"))
	if _, err := newOnly.Open(sealed, []byte("ad")); !errors.Is(err, ErrUnknownMasterKey) {
		t.Fatalf("new key alone opened an old blob: %v", err)
	}
	if got, err := both.Open(sealed, []byte("ad")); err != nil || string(got) != "value" {
		t.Fatalf("[new, old] Open = %q, %v", got, err)
	}
	rewrapped, err := both.Rewrap(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyID(rewrapped); id != newOnly.PrimaryID() {
		t.Fatalf("rewrapped blob names key %s, want %s", id, newOnly.PrimaryID())
	}
	if got, err := newOnly.Open(rewrapped, []byte("ad")); err != nil || string(got) != "value" {
		t.Fatalf("[new] Open of rewrapped = %q, %v", got, err)
	}
	if _, err := newOnly.Open(rewrapped, []byte("other")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("rewrap lost the AD binding: %v", err)
	}
	if _, err := oldBox.Open(rewrapped, []byte("ad")); !errors.Is(err, ErrUnknownMasterKey) {
		t.Fatalf("old key opened a rewrapped blob: %v", err)
	}
}

func TestParseMasterKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32) // encodes with '+' and '/' in std, '-' and '_' in url
	std := base64.StdEncoding.EncodeToString(raw)
	url := base64.RawURLEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(url, "-_") {
		t.Fatal("test key does not exercise both alphabets")
	}
	want, _ := NewMasterKey(raw)
	for _, s := range []string{std, url, base64.RawStdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw), " " + std + " "} {
		keys, err := ParseMasterKeys(s)
		if err != nil || len(keys) != 1 || keys[0].ID() != want.ID() {
			t.Errorf("ParseMasterKeys(%q) = %v, %v", s, keys, err)
		}
	}

	other := GenerateMasterKey()
	keys, err := ParseMasterKeys(other + "," + std)
	if err != nil || len(keys) != 2 || keys[1].ID() != want.ID() {
		t.Fatalf("list: %v, %v", keys, err)
	}

	short := base64.StdEncoding.EncodeToString([]byte("too short"))
	for _, tt := range []struct{ in, wantErr string }{
		{"", "no master key"},
		{"!!!notbase64", "#1 is not valid base64"},
		{std + "," + short, "#2 decodes to 9 bytes, want 32"},
		{std + ",", "#2 is not valid base64"},
		{std + "," + url, "#2 is listed twice"},
	} {
		_, err := ParseMasterKeys(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ParseMasterKeys(%q) error = %v, want %q", tt.in, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), std) {
			t.Errorf("error reveals the key: %v", err)
		}
	}
}

func TestMasterKeyStringHidesKey(t *testing.T) {
	s := GenerateMasterKey()
	keys, _ := ParseMasterKeys(s)
	raw, _ := base64.StdEncoding.DecodeString(s)
	printed := keys[0].String()
	if strings.Contains(printed, s) || strings.Contains(printed, string(raw)) || !strings.Contains(printed, keys[0].ID()) {
		t.Fatalf("String() = %q", printed)
	}
}

func TestNewRejectsEmpty(t *testing.T) {
	if _, err := New(); err == nil {
		t.Fatal("New() with no keys succeeded")
	}
	if _, err := New(MasterKey{}); err == nil {
		t.Fatal("New(zero MasterKey) succeeded")
	}
}
