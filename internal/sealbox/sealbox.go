// Package sealbox encrypts small secrets at rest (signing keys, server
// secrets) with envelope encryption under a master key.
//
// Every Seal makes a fresh random data key, encrypts the plaintext with it
// (AES-256-GCM, bound to caller-chosen associated data such as a key ID so a
// sealed value cannot be moved to another record), and wraps the data key with
// the primary master key (AES-256-GCM). The blob names the master key that
// wrapped it, so several master keys can be configured while rotating: the
// first seals, all of them open, and Rewrap moves a blob to the primary key
// without touching the data ciphertext.
//
// Blob layout, version 1:
//
//	version(1) | master key id(8) | wrap nonce(12) | wrapped data key(32+16) | data nonce(12) | ciphertext+tag
package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const (
	version1   = 1
	keyIDLen   = 8
	nonceLen   = 12
	tagLen     = 16
	dataKeyLen = 32
	// MasterKeyLen is the length of a master key in bytes (AES-256).
	MasterKeyLen = 32

	headerLen  = 1 + keyIDLen
	wrappedLen = dataKeyLen + tagLen
	minBlobLen = headerLen + nonceLen + wrappedLen + nonceLen + tagLen
)

// Errors Open and Rewrap return; test with errors.Is. None of them carries key
// material.
var (
	// ErrUnknownMasterKey: the blob was wrapped by a master key that is not
	// configured (a rotation dropped it too early, or the wrong key is set).
	ErrUnknownMasterKey = errors.New("sealbox: sealed with an unknown master key")
	// ErrCorrupt: the blob is not a sealbox blob, or its wrapped data key does
	// not authenticate (truncated, tampered, or a master key with a colliding id).
	ErrCorrupt = errors.New("sealbox: sealed blob is corrupt")
	// ErrDecrypt: the data ciphertext does not authenticate: wrong associated
	// data (the blob belongs to another record) or a tampered ciphertext.
	ErrDecrypt = errors.New("sealbox: cannot decrypt: wrong associated data or tampered ciphertext")
)

// MasterKey is one 32-byte master key. Its String form shows only the ID.
type MasterKey struct {
	id  [keyIDLen]byte
	key []byte
}

// NewMasterKey wraps raw key bytes (exactly 32) as a MasterKey.
func NewMasterKey(raw []byte) (MasterKey, error) {
	if len(raw) != MasterKeyLen {
		return MasterKey{}, fmt.Errorf("sealbox: master key is %d bytes, want %d", len(raw), MasterKeyLen)
	}
	// The ID is a domain-separated hash: it names the key in blobs and logs
	// without revealing anything useful about it.
	sum := sha256.Sum256(append([]byte("entrance sealbox master key id\x00"), raw...))
	k := MasterKey{key: append([]byte(nil), raw...)}
	copy(k.id[:], sum[:keyIDLen])
	return k, nil
}

// ID returns the key's short identifier (16 hex digits), as named in blobs.
func (k MasterKey) ID() string { return hex.EncodeToString(k.id[:]) }

// String returns the ID, so a MasterKey printed by accident leaks nothing.
func (k MasterKey) String() string { return "masterkey:" + k.ID() }

// GenerateMasterKey returns a new random master key in the form
// ParseMasterKeys (and ENTRANCE_MASTER_KEY) accepts: standard base64.
func GenerateMasterKey() string {
	b := make([]byte, MasterKeyLen)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

// ParseMasterKeys parses a comma-separated list of base64 master keys (standard
// or URL alphabet, padded or not), primary first: "new,old" while rotating.
func ParseMasterKeys(s string) ([]MasterKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("sealbox: no master key given")
	}
	var keys []MasterKey
	seen := map[[keyIDLen]byte]bool{}
	for i, part := range strings.Split(s, ",") {
		raw, err := decodeBase64(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("sealbox: master key #%d is not valid base64", i+1)
		}
		k, err := NewMasterKey(raw)
		if err != nil {
			return nil, fmt.Errorf("sealbox: master key #%d decodes to %d bytes, want %d", i+1, len(raw), MasterKeyLen)
		}
		if seen[k.id] {
			return nil, fmt.Errorf("sealbox: master key #%d is listed twice", i+1)
		}
		seen[k.id] = true
		keys = append(keys, k)
	}
	return keys, nil
}

func decodeBase64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// Box seals with its primary master key and opens with any of its keys. It is
// safe for concurrent use.
type Box struct {
	primary [keyIDLen]byte
	aeads   map[[keyIDLen]byte]cipher.AEAD
}

// New returns a Box; keys[0] is the primary (sealing) key, the others only open.
func New(keys ...MasterKey) (*Box, error) {
	if len(keys) == 0 {
		return nil, errors.New("sealbox: no master key given")
	}
	b := &Box{primary: keys[0].id, aeads: make(map[[keyIDLen]byte]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if len(k.key) != MasterKeyLen {
			return nil, errors.New("sealbox: uninitialised master key")
		}
		if _, dup := b.aeads[k.id]; dup {
			return nil, fmt.Errorf("sealbox: master key %s is listed twice", k.ID())
		}
		b.aeads[k.id] = newGCM(k.key)
	}
	return b, nil
}

// PrimaryID returns the ID of the master key that Seal and Rewrap use.
func (b *Box) PrimaryID() string { return hex.EncodeToString(b.primary[:]) }

// Seal encrypts plaintext bound to ad (which must be given again to Open).
func (b *Box) Seal(plaintext, ad []byte) ([]byte, error) {
	dataKey := make([]byte, dataKeyLen)
	_, _ = rand.Read(dataKey)

	out := make([]byte, headerLen, minBlobLen+len(plaintext))
	out[0] = version1
	copy(out[1:headerLen], b.primary[:])
	out = b.wrap(out, dataKey)

	nonce := randomNonce()
	out = append(out, nonce...)
	out = newGCM(dataKey).Seal(out, nonce, plaintext, dataAD(ad))
	return out, nil
}

// Open decrypts a blob made by Seal with the same ad.
func (b *Box) Open(sealed, ad []byte) ([]byte, error) {
	dataKey, rest, err := b.unwrap(sealed)
	if err != nil {
		return nil, err
	}
	plain, err := newGCM(dataKey).Open(nil, rest[:nonceLen], rest[nonceLen:], dataAD(ad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// Rewrap returns the blob with its data key wrapped under the primary master
// key; the data ciphertext (and so the associated data) is unchanged. Used when
// rotating the master key: afterwards the old key can be removed.
func (b *Box) Rewrap(sealed []byte) ([]byte, error) {
	dataKey, rest, err := b.unwrap(sealed)
	if err != nil {
		return nil, err
	}
	out := make([]byte, headerLen, len(sealed))
	out[0] = version1
	copy(out[1:headerLen], b.primary[:])
	out = b.wrap(out, dataKey)
	return append(out, rest...), nil
}

// KeyID returns the ID of the master key a blob is wrapped with (without
// checking that the key is configured), so a rotation can skip blobs that are
// already under the primary key.
func KeyID(sealed []byte) (string, error) {
	if len(sealed) < minBlobLen || sealed[0] != version1 {
		return "", ErrCorrupt
	}
	return hex.EncodeToString(sealed[1:headerLen]), nil
}

// wrap appends wrap nonce and wrapped data key to out, whose first headerLen
// bytes are the header; the header is the wrap's associated data, so the
// version and key id cannot be changed.
func (b *Box) wrap(out, dataKey []byte) []byte {
	nonce := randomNonce()
	header := out[:headerLen:headerLen]
	out = append(out, nonce...)
	return b.aeads[b.primary].Seal(out, nonce, dataKey, header)
}

// unwrap checks the header, unwraps the data key and returns it with the rest
// of the blob (data nonce and ciphertext).
func (b *Box) unwrap(sealed []byte) (dataKey, rest []byte, err error) {
	if len(sealed) < minBlobLen {
		return nil, nil, fmt.Errorf("%w: %d bytes is too short", ErrCorrupt, len(sealed))
	}
	if sealed[0] != version1 {
		return nil, nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, sealed[0])
	}
	var id [keyIDLen]byte
	copy(id[:], sealed[1:headerLen])
	aead, ok := b.aeads[id]
	if !ok {
		return nil, nil, fmt.Errorf("%w (id %x)", ErrUnknownMasterKey, id)
	}
	nonce := sealed[headerLen : headerLen+nonceLen]
	wrapped := sealed[headerLen+nonceLen : headerLen+nonceLen+wrappedLen]
	dataKey, err = aead.Open(nil, nonce, wrapped, sealed[:headerLen])
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the data key does not authenticate under master key %x", ErrCorrupt, id)
	}
	return dataKey, sealed[headerLen+nonceLen+wrappedLen:], nil
}

// dataAD prefixes the caller's associated data with the format version, so a
// ciphertext cannot be reinterpreted under a future format.
func dataAD(ad []byte) []byte {
	return append([]byte{version1}, ad...)
}

func randomNonce() []byte {
	n := make([]byte, nonceLen)
	_, _ = rand.Read(n)
	return n
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("sealbox: " + err.Error()) // key length is checked by callers
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("sealbox: " + err.Error())
	}
	return aead
}
