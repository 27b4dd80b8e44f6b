package keys_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

const (
	tenant = "7d3e6f1a-0000-4000-8000-000000000001"
	period = 30 * 24 * time.Hour
	retire = 14 * 24 * time.Hour
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

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

type fixture struct {
	st    store.Store
	box   *sealbox.Box
	clock *fakeClock
	logs  *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	return newFixtureOn(t, storetest.NewSQLite(t))
}

func newFixtureOn(t *testing.T, st store.Store) *fixture {
	err := st.CreateTenant(context.Background(), store.Tenant{
		ID: tenant, DisplayName: "Keys", Type: store.TenantTypeAAD, Domains: []string{"keys.example"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		st:    st,
		box:   newBox(t, sealbox.GenerateMasterKey()),
		clock: &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		logs:  &syncBuffer{},
	}
}

// manager returns a Manager (one "replica") on the fixture's store and clock.
func (f *fixture) manager() *keys.Manager {
	return keys.NewManager(f.st, f.box, keys.Options{
		RotationPeriod: period,
		RetireAfter:    retire,
		Now:            f.clock.Now,
		Logger:         slog.New(slog.NewTextHandler(f.logs, nil)),
	})
}

func published(t *testing.T, m *keys.Manager, appID string) map[string]string {
	t.Helper()
	pubs, err := m.PublishedKeys(context.Background(), tenant, appID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range pubs {
		out[k.KID] = k.Status
	}
	return out
}

func signingKID(t *testing.T, m *keys.Manager) string {
	t.Helper()
	k, err := m.SigningKey(context.Background(), tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	return k.KID()
}

func kidWith(m map[string]string, status string) string {
	for kid, s := range m {
		if s == status {
			return kid
		}
	}
	return ""
}

// verifyWithJWKS checks tok against the JWKS document the manager publishes now.
func verifyWithJWKS(t *testing.T, m *keys.Manager, tok string) error {
	t.Helper()
	pubs, err := m.PublishedKeys(context.Background(), tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := keys.JWKSJSON(pubs, func(keys.PublicKey) string { return "https://issuer/" + tenant + "/v2.0" })
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	found := set.Key(jws.Signatures[0].Header.KeyID)
	if len(found) == 0 {
		return errors.New("kid not in JWKS")
	}
	_, err = jws.Verify(found[0])
	return err
}

func TestEnsureSignsAndPublishes(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	if err := m.Ensure(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Ensure(ctx, tenant, ""); err != nil { // idempotent
		t.Fatal(err)
	}
	pubs, err := m.PublishedKeys(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pubs) != 2 || pubs[0].Status != store.KeyStatusCurrent || pubs[1].Status != store.KeyStatusNext {
		t.Fatalf("published %+v, want current then next", pubs)
	}
	for _, p := range pubs {
		if p.KID != keys.Thumbprint(p.Certificate.Raw) || !p.Key.Equal(p.Certificate.PublicKey) {
			t.Fatalf("key %s: kid is not the certificate thumbprint, or key is not the certificate's", p.KID)
		}
		if !strings.Contains(p.Certificate.Subject.CommonName, tenant) {
			t.Fatalf("CN %q does not name the tenant", p.Certificate.Subject.CommonName)
		}
	}

	sk, err := m.SigningKey(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	if sk.KID() != pubs[0].KID {
		t.Fatalf("signing with %s, current is %s", sk.KID(), pubs[0].KID)
	}
	tok, err := sk.SignJWT(map[string]any{"sub": "x"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyWithJWKS(t, m, tok); err != nil {
		t.Fatalf("token does not verify with the JWKS: %v", err)
	}
	if again, _ := m.SigningKey(ctx, tenant, ""); again != sk {
		t.Fatal("SigningKey did not reuse the cached key")
	}
}

func TestPrivateKeyNeverStoredInClear(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	if err := m.Ensure(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	set, err := f.st.GetKeySet(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		pkcs8, err := f.box.Open(k.SealedPrivateKey, []byte(k.KID))
		if err != nil {
			t.Fatalf("sealed key %s does not open with its kid: %v", k.KID, err)
		}
		// Look for the key and a long slice of it (the PKCS#8 header is
		// generic), raw and in both base64 alphabets.
		for _, needle := range [][]byte{pkcs8, pkcs8[64:128]} {
			for _, form := range [][]byte{
				needle,
				[]byte(base64.StdEncoding.EncodeToString(needle)[4:40]),
				[]byte(base64.RawURLEncoding.EncodeToString(needle)[4:40]),
			} {
				if bytes.Contains(stored, form) {
					t.Fatalf("private key material of %s found in the stored key set", k.KID)
				}
			}
		}
	}
}

func TestRotationLifecycle(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	if err := m.Ensure(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	before := published(t, m, "")
	a, b := kidWith(before, store.KeyStatusCurrent), kidWith(before, store.KeyStatusNext)
	if signingKID(t, m) != a {
		t.Fatal("not signing with the current key")
	}
	skA, _ := m.SigningKey(ctx, tenant, "")
	tokA, _ := skA.SignJWT(map[string]any{"sub": "x"}, false)

	// Not due yet: nothing changes.
	f.clock.Advance(period - time.Second)
	if err := m.RotateDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := published(t, m, ""); len(got) != 2 || got[a] != store.KeyStatusCurrent {
		t.Fatalf("rotated early: %v", got)
	}

	// Due: b (published for a whole period) signs, a stays published.
	f.clock.Advance(2 * time.Second)
	rotatedAt := f.clock.Now()
	if err := m.RotateDue(ctx); err != nil {
		t.Fatal(err)
	}
	after := published(t, m, "")
	c := kidWith(after, store.KeyStatusNext)
	if len(after) != 3 || after[a] != store.KeyStatusPrevious || after[b] != store.KeyStatusCurrent || c == "" || c == a || c == b {
		t.Fatalf("after rotation: %v (a=%s b=%s)", after, a, b)
	}
	if signingKID(t, m) != b {
		t.Fatal("this replica rotated but still signs with the old key")
	}
	if err := verifyWithJWKS(t, m, tokA); err != nil {
		t.Fatalf("token of the previous key no longer verifies: %v", err)
	}
	set, _ := f.st.GetKeySet(ctx, tenant, "")
	if !set.NextRotation.Equal(rotatedAt.Add(period)) {
		t.Fatalf("NextRotation = %v, want %v", set.NextRotation, rotatedAt.Add(period))
	}
	for _, k := range set.Keys {
		if k.KID == a && !k.RetireAt.Equal(rotatedAt.Add(retire)) {
			t.Fatalf("RetireAt = %v, want %v", k.RetireAt, rotatedAt.Add(retire))
		}
	}

	// Just before RetireAt a is still published; after it, it is gone from
	// JWKS at once, and RotateDue removes it from the store.
	f.clock.Advance(retire - time.Second)
	if published(t, m, "")[a] == "" {
		t.Fatal("previous key left JWKS before RetireAt")
	}
	f.clock.Advance(2 * time.Second)
	if got := published(t, m, ""); got[a] != "" || len(got) != 2 {
		t.Fatalf("retired key still published: %v", got)
	}
	if err := verifyWithJWKS(t, m, tokA); err == nil {
		t.Fatal("token of a retired key still verifies")
	}
	if err := m.RotateDue(ctx); err != nil {
		t.Fatal(err)
	}
	set, _ = f.st.GetKeySet(ctx, tenant, "")
	if len(set.Keys) != 2 || slices.ContainsFunc(set.Keys, func(k store.SigningKey) bool { return k.KID == a }) {
		t.Fatalf("retired key not dropped from the store: %+v", set.Keys)
	}
	if signingKID(t, m) != b {
		t.Fatal("dropping a retired key changed the signing key")
	}
	if !strings.Contains(f.logs.String(), "rotated signing key") || !strings.Contains(f.logs.String(), "retired signing key") {
		t.Fatalf("rotation not logged:\n%s", f.logs)
	}
}

func TestForcedRotate(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	if err := m.Ensure(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	before := published(t, m, "")
	if err := m.Rotate(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	after := published(t, m, "")
	if after[kidWith(before, store.KeyStatusCurrent)] != store.KeyStatusPrevious ||
		after[kidWith(before, store.KeyStatusNext)] != store.KeyStatusCurrent || len(after) != 3 {
		t.Fatalf("forced rotation: before %v, after %v", before, after)
	}
	if signingKID(t, m) != kidWith(before, store.KeyStatusNext) {
		t.Fatal("not signing with the new current key")
	}
}

func TestReplicasRotateOnceAndAgree(t *testing.T) {
	backends := map[string]func(testing.TB) store.Store{
		"sqlite":   storetest.NewSQLite,
		"postgres": storetest.NewPostgres, // skipped unless ENTRANCE_TEST_POSTGRES is set
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) { testReplicasRotateOnce(t, newFixtureOn(t, open(t))) })
	}
}

func testReplicasRotateOnce(t *testing.T, f *fixture) {
	replicas := []*keys.Manager{f.manager(), f.manager()}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, m := range replicas { // both start at once: one key set
		wg.Go(func() {
			if err := m.Ensure(ctx, tenant, ""); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := published(t, replicas[0], ""); len(got) != 2 {
		t.Fatalf("after concurrent Ensure: %v", got)
	}

	for round := range 3 {
		before := published(t, replicas[0], "")
		f.clock.Advance(period + time.Second)
		for _, m := range replicas {
			wg.Go(func() {
				if err := m.RotateDue(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		set, err := f.st.GetKeySet(ctx, tenant, "")
		if err != nil {
			t.Fatal(err)
		}
		previous := 0
		for _, k := range set.Keys {
			if k.Status == store.KeyStatusPrevious {
				previous++
			}
		}
		// RetireAfter < period, so older previous keys are dropped each round.
		if len(set.Keys) != 3 || previous != 1 {
			t.Fatalf("round %d: %d keys, %d previous: rotated more than once", round, len(set.Keys), previous)
		}
		want := kidWith(before, store.KeyStatusNext)
		for i, m := range replicas {
			if got := signingKID(t, m); got != want {
				t.Fatalf("round %d: replica %d signs with %s, want %s", round, i, got, want)
			}
		}
	}
}

// A replica that did not rotate keeps signing with the old key for at most
// CacheTTL; that key is still published, so its tokens verify.
func TestOtherReplicaPicksUpRotation(t *testing.T) {
	f := newFixture(t)
	a, b := f.manager(), f.manager()
	ctx := context.Background()
	old := signingKID(t, b) // creates the set and caches it in b
	if err := a.Rotate(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	newKID := signingKID(t, a)
	if newKID == old {
		t.Fatal("rotation did not change the signing key")
	}
	if got := signingKID(t, b); got != old {
		t.Fatalf("replica b re-read within CacheTTL: %s", got)
	}
	sk, _ := b.SigningKey(ctx, tenant, "")
	tok, _ := sk.SignJWT(map[string]any{"sub": "x"}, false)
	if err := verifyWithJWKS(t, a, tok); err != nil {
		t.Fatalf("token from the lagging replica does not verify: %v", err)
	}
	f.clock.Advance(5 * time.Second)
	if got := signingKID(t, b); got != newKID {
		t.Fatalf("replica b still signs with %s after CacheTTL, want %s", got, newKID)
	}
}

func TestAppKeySet(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	ctx := context.Background()
	const app = "6b8c1c1e-0000-4000-8000-000000000002"
	tenantKey, err := m.SigningKey(ctx, tenant, "")
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := m.SigningKey(ctx, tenant, app) // created on first use
	if err != nil {
		t.Fatal(err)
	}
	if appKey.KID() == tenantKey.KID() {
		t.Fatal("app shares the tenant's key")
	}
	if !strings.Contains(appKey.Certificate().Subject.CommonName, app) {
		t.Fatalf("CN %q does not name the app", appKey.Certificate().Subject.CommonName)
	}
	if _, ok := published(t, m, app)[tenantKey.KID()]; ok {
		t.Fatal("tenant key published in the app's JWKS")
	}
	sets, err := f.st.ListKeySets(ctx)
	if err != nil || len(sets) != 2 {
		t.Fatalf("ListKeySets = %d sets, %v", len(sets), err)
	}
}

func TestUnknownTenant(t *testing.T) {
	f := newFixture(t)
	_, err := f.manager().SigningKey(context.Background(), "00000000-0000-4000-8000-00000000dead", "")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SigningKey of an unknown tenant: %v, want ErrNotFound", err)
	}
	if sets, _ := f.st.ListKeySets(context.Background()); len(sets) != 0 {
		t.Fatalf("key set created for an unknown tenant: %+v", sets)
	}
}

func TestWrongMasterKey(t *testing.T) {
	f := newFixture(t)
	if err := f.manager().Ensure(context.Background(), tenant, ""); err != nil {
		t.Fatal(err)
	}
	other := keys.NewManager(f.st, newBox(t, sealbox.GenerateMasterKey()), keys.Options{Now: f.clock.Now})
	_, err := other.SigningKey(context.Background(), tenant, "")
	if !errors.Is(err, sealbox.ErrUnknownMasterKey) {
		t.Fatalf("SigningKey with the wrong master key: %v", err)
	}
}

func TestRewrapPrivateKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	oldKey, newKey := sealbox.GenerateMasterKey(), sealbox.GenerateMasterKey()
	f.box = newBox(t, oldKey)
	if err := f.manager().Ensure(ctx, tenant, ""); err != nil {
		t.Fatal(err)
	}
	f.box = newBox(t, newKey+","+oldKey)
	n, err := f.manager().RewrapPrivateKeys(ctx)
	if err != nil || n != 2 {
		t.Fatalf("RewrapPrivateKeys = %d, %v; want 2", n, err)
	}
	if n, err := f.manager().RewrapPrivateKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second RewrapPrivateKeys = %d, %v; want 0", n, err)
	}
	f.box = newBox(t, newKey)
	if _, err := f.manager().SigningKey(ctx, tenant, ""); err != nil {
		t.Fatalf("new master key alone cannot open the rewrapped key: %v", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	f := newFixture(t)
	m := f.manager()
	if err := m.Ensure(context.Background(), tenant, ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(period + time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx, time.Hour); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(f.logs.String(), "rotated signing key") {
		if time.Now().After(deadline) {
			t.Fatal("Run did not rotate a due key set")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
