package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/audit"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func TestAudit(t *testing.T) {
	for name, open := range map[string]func(testing.TB) store.Store{
		"sqlite":   storetest.NewSQLite,
		"postgres": storetest.NewPostgres, // skipped unless ENTRANCE_TEST_POSTGRES is set
	} {
		t.Run(name, func(t *testing.T) { testAudit(t, open(t)) })
	}
}

func testAudit(t *testing.T, raw store.Store) {
	ctx := context.Background()
	st := audit.Wrap(raw, "alice", "entrance test")
	now := time.Now().UTC()
	tn := directory.NewTenant("Contoso", []string{"contoso.example.com"}, now)
	u := directory.NewUser(tn.ID, "bob@contoso.example.com", "Bob", now)
	if err := directory.SetPassword(&u, "Correct-Horse-9", now); err != nil {
		t.Fatal(err)
	}
	app := directory.NewApplication(tn.ID, "Web", now)
	secretHash := []byte("0123456789abcdef0123456789abcdef")
	app.PasswordCredentials = []store.PasswordCredential{{KeyID: "k1", Hint: "abc", SecretHash: secretHash,
		StartDateTime: now, EndDateTime: now.Add(time.Hour)}}
	sealed := []byte("sealed-private-key-bytes-0123456789")

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateTenant(ctx, tn))
	must(st.CreateUser(ctx, u))
	must(st.CreateApplication(ctx, app))
	// A refused write is not logged.
	if err := st.CreateUser(ctx, u); !errors.Is(err, store.ErrAlreadyExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	_, err := st.UpdateApplication(ctx, app.AppID, func(a store.Application) (store.Application, error) {
		a.DisplayName = "Web app"
		return a, nil
	})
	must(err)
	// An update that changes nothing is not logged.
	_, err = st.UpdateUser(ctx, tn.ID, u.ID, func(u store.User) (store.User, error) { return u, nil })
	must(err)
	_, err = st.UpsertKeySet(ctx, tn.ID, "", func(ks store.KeySet) (store.KeySet, error) {
		ks.Keys = []store.SigningKey{{KID: "kid1", Status: store.KeyStatusCurrent, SealedPrivateKey: sealed, CertificateDER: []byte("cert"), CreatedAt: now}}
		return ks, nil
	})
	must(err)
	must(st.CreateServerSecret(ctx, "pepper", sealed))
	// A transaction that fails keeps neither its changes nor their entries.
	boom := errors.New("boom")
	if err := st.InTx(ctx, func(tx store.Directory) error {
		if err := tx.DeleteUser(ctx, tn.ID, u.ID); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	must(st.InTx(ctx, func(tx store.Directory) error { return tx.DeleteUser(ctx, tn.ID, u.ID) }))

	entries, err := raw.ListAuditEntries(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(entries) - 1; i >= 0; i-- { // oldest first
		e := entries[i]
		got = append(got, e.Action+" "+e.Kind)
		if e.Actor != "alice" || e.Source != "entrance test" || e.ID == "" || e.Time.IsZero() {
			t.Errorf("entry %+v", e)
		}
	}
	want := []string{"create tenant", "create user", "create application", "update application", "create keySet", "create serverSecret", "delete user"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("entries %v, want %v", got, want)
	}
	byKind := map[string]store.AuditEntry{}
	for _, e := range entries {
		byKind[e.Action+" "+e.Kind] = e
	}
	var before, after store.Application
	upd := byKind["update application"]
	if json.Unmarshal(upd.Before, &before) != nil || json.Unmarshal(upd.After, &after) != nil ||
		before.DisplayName != "Web" || after.DisplayName != "Web app" || upd.ObjectID != app.AppID || upd.TenantID != tn.ID ||
		len(after.PasswordCredentials) != 1 || after.PasswordCredentials[0].KeyID != "k1" {
		t.Errorf("update entry: %s → %s", upd.Before, upd.After)
	}
	if del := byKind["delete user"]; del.After != nil || !strings.Contains(string(del.Before), u.UserPrincipalName) {
		t.Errorf("delete entry: %s → %s", del.Before, del.After)
	}
	if ks := byKind["create keySet"]; !strings.Contains(string(ks.After), "kid1") {
		t.Errorf("key set entry: %s", ks.After)
	}
	// Nothing secret in any entry.
	all, _ := json.Marshal(entries)
	for _, s := range []string{u.PasswordHash, base64.StdEncoding.EncodeToString(secretHash), base64.StdEncoding.EncodeToString(sealed),
		"passwordHash", "secretHash", "sealedPrivateKey", "argon2"} {
		if strings.Contains(string(all), s) {
			t.Errorf("the audit log holds %q", s)
		}
	}
}
