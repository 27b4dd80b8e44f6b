package serversecrets_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/serversecrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func newBox(t *testing.T, spec string) *sealbox.Box {
	t.Helper()
	mk, err := sealbox.ParseMasterKeys(spec)
	if err != nil {
		t.Fatal(err)
	}
	box, err := sealbox.New(mk...)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func TestConcurrentLoadsAgree(t *testing.T) {
	backends := map[string]func(testing.TB) store.Store{
		"sqlite":   storetest.NewSQLite,
		"postgres": storetest.NewPostgres, // skipped unless ENTRANCE_TEST_POSTGRES is set
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { testConcurrentLoads(t, open(t)) })
	}
}

func testConcurrentLoads(t *testing.T, st store.Store) {
	box := newBox(t, sealbox.GenerateMasterKey())
	ctx := context.Background()

	const replicas = 4
	got := make([]*serversecrets.Secrets, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			s, err := serversecrets.Load(ctx, st, box)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	first := got[0]
	if len(first.ClientSecretPepper) != 32 || len(first.PairwiseSubjectKey) != 32 {
		t.Fatalf("lengths %d, %d", len(first.ClientSecretPepper), len(first.PairwiseSubjectKey))
	}
	if bytes.Equal(first.ClientSecretPepper, first.PairwiseSubjectKey) {
		t.Fatal("pepper and pairwise key are the same value")
	}
	for i, s := range got {
		if !bytes.Equal(s.ClientSecretPepper, first.ClientSecretPepper) || !bytes.Equal(s.PairwiseSubjectKey, first.PairwiseSubjectKey) {
			t.Fatalf("replica %d loaded different secrets", i)
		}
	}

	// A later start reads the same values.
	again, err := serversecrets.Load(ctx, st, box)
	if err != nil || !bytes.Equal(again.ClientSecretPepper, first.ClientSecretPepper) {
		t.Fatalf("reload: %v", err)
	}
	hash := first.ClientSecretHasher().Hash("secret")
	if !again.ClientSecretHasher().Verify(hash, "secret") {
		t.Fatal("hashers of two loads disagree")
	}

	// Stored sealed, never in the clear.
	all, err := st.ListServerSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, sealed := range all {
		if bytes.Contains(sealed, first.ClientSecretPepper) || bytes.Contains(sealed, first.PairwiseSubjectKey) {
			t.Fatalf("%s stored in the clear", name)
		}
	}
}

func TestSwappedSecretsFail(t *testing.T) {
	st := storetest.NewSQLite(t)
	box := newBox(t, sealbox.GenerateMasterKey())
	ctx := context.Background()
	if _, err := serversecrets.Load(ctx, st, box); err != nil {
		t.Fatal(err)
	}
	pairwise, err := st.GetServerSecret(ctx, serversecrets.NamePairwiseSubjectKey)
	if err != nil {
		t.Fatal(err)
	}
	// Put the pairwise key's blob in the pepper's place: the AD (the name) no longer matches.
	err = st.UpdateServerSecret(ctx, serversecrets.NameClientSecretPepper, func([]byte) ([]byte, error) { return pairwise, nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serversecrets.Load(ctx, st, box); !errors.Is(err, sealbox.ErrDecrypt) {
		t.Fatalf("Load with swapped blobs: %v, want ErrDecrypt", err)
	}
}

func TestWrongMasterKeyAndRewrap(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	oldKey, newKey := sealbox.GenerateMasterKey(), sealbox.GenerateMasterKey()
	first, err := serversecrets.Load(ctx, st, newBox(t, oldKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serversecrets.Load(ctx, st, newBox(t, newKey)); !errors.Is(err, sealbox.ErrUnknownMasterKey) {
		t.Fatalf("Load with the wrong master key: %v", err)
	}

	n, err := serversecrets.Rewrap(ctx, st, newBox(t, newKey+","+oldKey))
	if err != nil || n != 2 {
		t.Fatalf("Rewrap = %d, %v; want 2", n, err)
	}
	if n, err := serversecrets.Rewrap(ctx, st, newBox(t, newKey+","+oldKey)); err != nil || n != 0 {
		t.Fatalf("second Rewrap = %d, %v; want 0", n, err)
	}
	got, err := serversecrets.Load(ctx, st, newBox(t, newKey))
	if err != nil {
		t.Fatalf("Load with only the new key after Rewrap: %v", err)
	}
	if !bytes.Equal(got.ClientSecretPepper, first.ClientSecretPepper) || !bytes.Equal(got.PairwiseSubjectKey, first.PairwiseSubjectKey) {
		t.Fatal("Rewrap changed the values")
	}
}
