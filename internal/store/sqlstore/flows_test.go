package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// TestFlowsDoNotWaitForDirectoryWrites: on PostgreSQL a sign-in goes on while
// a directory transaction (a directory-file apply, say) holds the change
// counter and the row of the very tenant signed in to. (On SQLite every
// write waits for the one writer; nothing to test there.)
func TestFlowsDoNotWaitForDirectoryWrites(t *testing.T) {
	s := storetest.NewPostgres(t)
	ctx := t.Context()
	tn := store.Tenant{ID: ids.NewGUID(), DisplayName: "Contoso", Type: store.TenantTypeAAD}
	if err := s.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	sess := store.Session{ID: store.HashToken(ids.RandomToken(32)), TenantID: tn.ID, ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	code := store.AuthorizationCode{ID: store.HashToken(ids.RandomToken(32)), TenantID: tn.ID, UserID: ids.NewGUID(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateAuthorizationCode(ctx, code); err != nil {
		t.Fatal(err)
	}

	err := s.InTx(ctx, func(tx store.Directory) error {
		if _, err := tx.UpdateTenant(ctx, tn.ID, func(t store.Tenant) (store.Tenant, error) { t.DisplayName = "changed"; return t, nil }); err != nil {
			return err
		}
		// The flow writes run on other connections, with a deadline: if they
		// waited for this transaction, they would time out.
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- func() error {
				rt := store.RefreshToken{ID: store.HashToken(ids.RandomToken(32)), FamilyID: ids.NewGUID(), TenantID: tn.ID,
					UserID: code.UserID, ExpiresAt: time.Now().Add(time.Hour)}
				for _, step := range []func() error{
					func() error {
						_, err := s.UpdateSession(fctx, sess.ID, func(v store.Session) (store.Session, error) { v.LastSeenAt = time.Now(); return v, nil })
						return err
					},
					func() error {
						_, err := s.UpdateAuthorizationCode(fctx, code.ID, func(v store.AuthorizationCode) (store.AuthorizationCode, error) {
							v.RedeemedAt = time.Now()
							return v, nil
						})
						return err
					},
					func() error { return s.CreateRefreshToken(fctx, rt) },
					func() error { _, err := s.RevokeRefreshTokenFamily(fctx, rt.FamilyID); return err },
					func() error {
						return s.CreateSession(fctx, store.Session{ID: store.HashToken(ids.RandomToken(32)), TenantID: tn.ID, ExpiresAt: time.Now().Add(time.Hour)})
					},
					func() error {
						return s.CreateSignIn(fctx, store.SignIn{ID: ids.NewGUID(), TenantID: tn.ID, CreatedDateTime: time.Now()})
					},
					func() error { _, err := s.HitCounter(fctx, "k", time.Minute, time.Now()); return err },
					func() error { return s.RecordOnce(fctx, "jti", time.Now().Add(time.Minute)) },
					func() error { _, err := s.DeleteExpired(fctx, time.Now(), 100, time.Hour); return err },
				} {
					if err := step(); err != nil {
						return err
					}
				}
				return nil
			}()
		}()
		return <-done
	})
	if err != nil {
		t.Fatalf("a flow write waited for the directory transaction: %v", err)
	}
}
