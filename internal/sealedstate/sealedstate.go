// Package sealedstate carries state through the browser sealed: a value is
// encoded as JSON and encrypted with AES-256-GCM under a server key every
// replica shares, so any replica can open what another sealed, and nobody
// else can read or change it. A purpose label is bound as additional data,
// so a value sealed for one purpose never opens as another under the same key.
package sealedstate

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// ErrInvalid is returned for anything that is not a value this box sealed.
var ErrInvalid = errors.New("sealedstate: not a valid sealed value")

// Box seals and opens values of type T.
type Box[T any] struct {
	aead    cipher.AEAD
	purpose []byte
}

// New returns a Box with a 32-byte key and the purpose label its values are
// bound to.
func New[T any](key []byte, purpose string) (*Box[T], error) {
	if len(key) != 32 {
		return nil, errors.New("sealedstate: the key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box[T]{aead: aead, purpose: []byte(purpose)}, nil
}

// Seal returns v sealed, in base64url: a random nonce, then the ciphertext.
func (b *Box[T]) Seal(v *T) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	_, _ = rand.Read(nonce) // never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, b.purpose)), nil
}

// Open returns the value sealed in s, or ErrInvalid.
func (b *Box[T]) Open(s string) (*T, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	n := b.aead.NonceSize()
	if err != nil || len(raw) < n {
		return nil, ErrInvalid
	}
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], b.purpose)
	if err != nil {
		return nil, ErrInvalid
	}
	var v T
	if err := json.Unmarshal(plain, &v); err != nil {
		return nil, ErrInvalid
	}
	return &v, nil
}
