package sealedstate

import (
	"bytes"
	"testing"
)

type state struct {
	User    string `json:"u"`
	Expires int64  `json:"e"`
}

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	a, err := New[state](key, "purpose a")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal(&state{User: "abe", Expires: 42})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Open(sealed)
	if err != nil || *got != (state{User: "abe", Expires: 42}) {
		t.Fatalf("Open = %+v, %v", got, err)
	}
	other, _ := New[state](key, "purpose b")
	otherKey, _ := New[state](bytes.Repeat([]byte{8}, 32), "purpose a")
	tampered := []byte(sealed)
	tampered[len(tampered)-2] ^= 1
	for name, open := range map[string]func() (*state, error){
		"another purpose": func() (*state, error) { return other.Open(sealed) },
		"another key":     func() (*state, error) { return otherKey.Open(sealed) },
		"tampered":        func() (*state, error) { return a.Open(string(tampered)) },
		"not base64":      func() (*state, error) { return a.Open("%%%") },
		"too short":       func() (*state, error) { return a.Open("AAAA") },
	} {
		if v, err := open(); err != ErrInvalid || v != nil {
			t.Errorf("%s: Open = %+v, %v; want ErrInvalid", name, v, err)
		}
	}
	if _, err := New[state](key[:16], "x"); err == nil {
		t.Error("a 16-byte key was accepted")
	}
}
