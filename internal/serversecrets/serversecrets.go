// Package serversecrets loads the random values every replica must share (the
// client-secret pepper, the pairwise-subject key), creating each on first use.
// They are stored sealed under the master key, with the secret's name as
// associated data so one value cannot be swapped for another.
package serversecrets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

// Names of the stored secrets.
const (
	NameClientSecretPepper = "client-secret-pepper"
	NamePairwiseSubjectKey = "pairwise-subject-key"
)

const secretLen = 32

// Secrets are the server-wide values shared by all replicas.
type Secrets struct {
	// ClientSecretPepper keys the client-secret hash (secrets.NewClientSecretHasher).
	ClientSecretPepper []byte
	// PairwiseSubjectKey derives the pairwise `sub` claim per (user, app).
	PairwiseSubjectKey []byte
}

// ClientSecretHasher returns a hasher keyed with the pepper.
func (s *Secrets) ClientSecretHasher() *secrets.ClientSecretHasher {
	return secrets.NewClientSecretHasher(s.ClientSecretPepper)
}

// Load reads the server secrets, creating any that do not exist yet. Replicas
// starting at once agree: the first CreateServerSecret wins and the others read
// the winner's value.
func Load(ctx context.Context, st store.Store, box *sealbox.Box) (*Secrets, error) {
	pepper, err := loadOrCreate(ctx, st, box, NameClientSecretPepper)
	if err != nil {
		return nil, err
	}
	pairwise, err := loadOrCreate(ctx, st, box, NamePairwiseSubjectKey)
	if err != nil {
		return nil, err
	}
	return &Secrets{ClientSecretPepper: pepper, PairwiseSubjectKey: pairwise}, nil
}

func loadOrCreate(ctx context.Context, st store.Store, box *sealbox.Box, name string) ([]byte, error) {
	sealed, err := st.GetServerSecret(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		value := make([]byte, secretLen)
		_, _ = rand.Read(value)
		sealed, err = box.Seal(value, []byte(name))
		if err != nil {
			return nil, fmt.Errorf("server secret %q: %w", name, err)
		}
		err = st.CreateServerSecret(ctx, name, sealed)
		if err == nil {
			return value, nil
		}
		if !errors.Is(err, store.ErrAlreadyExists) {
			return nil, fmt.Errorf("server secret %q: create: %w", name, err)
		}
		// Another replica created it first: use theirs.
		sealed, err = st.GetServerSecret(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("server secret %q: read: %w", name, err)
	}
	value, err := box.Open(sealed, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("server secret %q: %w (is ENTRANCE_MASTER_KEY the key this database was created with?)", name, err)
	}
	if len(value) != secretLen {
		return nil, fmt.Errorf("server secret %q: stored value is %d bytes, want %d", name, len(value), secretLen)
	}
	return value, nil
}

// Rewrap re-wraps every stored server secret under box's primary master key
// (for master key rotation) and returns how many it changed. Values already
// under the primary key are left alone.
func Rewrap(ctx context.Context, st store.Store, box *sealbox.Box) (int, error) {
	all, err := st.ListServerSecrets(ctx)
	if err != nil {
		return 0, fmt.Errorf("list server secrets: %w", err)
	}
	changed := 0
	for name := range all {
		err := st.UpdateServerSecret(ctx, name, func(sealed []byte) ([]byte, error) {
			if id, err := sealbox.KeyID(sealed); err == nil && id == box.PrimaryID() {
				return sealed, nil
			}
			return box.Rewrap(sealed)
		})
		if err != nil {
			return changed, fmt.Errorf("server secret %q: rewrap: %w", name, err)
		}
		if id, _ := sealbox.KeyID(all[name]); id != box.PrimaryID() {
			changed++
		}
	}
	return changed, nil
}
