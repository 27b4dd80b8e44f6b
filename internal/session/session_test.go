package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
)

func TestRevoked(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pwd := store.SessionAccount{AuthTime: at, AuthMethods: []string{store.AuthMethodPassword}}
	other := store.SessionAccount{AuthTime: at, AuthMethods: []string{"fido"}}
	for _, c := range []struct {
		name string
		u    store.User
		a    store.SessionAccount
		want bool
	}{
		{"fine", store.User{AccountEnabled: true, LastPasswordChangeDateTime: at.Add(-time.Hour)}, pwd, false},
		{"disabled", store.User{AccountEnabled: false}, pwd, true},
		{"sessions revoked after", store.User{AccountEnabled: true, SignInSessionsValidFromDateTime: at.Add(time.Second)}, pwd, true},
		{"sessions revoked before", store.User{AccountEnabled: true, SignInSessionsValidFromDateTime: at.Add(-time.Second)}, pwd, false},
		{"password changed after a password sign-in", store.User{AccountEnabled: true, LastPasswordChangeDateTime: at.Add(time.Second)}, pwd, true},
		{"password changed after another sign-in", store.User{AccountEnabled: true, LastPasswordChangeDateTime: at.Add(time.Second)}, other, false},
		{"revoke sessions, not password based", store.User{AccountEnabled: true, SignInSessionsValidFromDateTime: at.Add(time.Second)}, other, true},
	} {
		if got := Revoked(c.u, c.a); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestState(t *testing.T) {
	a, b := State(store.Session{ID: "x"}), State(store.Session{ID: "y"})
	if !ids.IsGUID(a) || a == b || a != State(store.Session{ID: "x"}) {
		t.Errorf("session_state %q %q", a, b)
	}
}

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestManager(t *testing.T) {
	ctx := context.Background()
	st, err := storeopen.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{time.Now().UTC()}
	m := New(st, Options{IdleTimeout: time.Hour, MaxLifetime: 10 * time.Hour, Now: clk.now})
	tn := directory.NewTenant("Contoso", []string{"contoso.onmicrosoft.com"}, clk.t)
	alice := directory.NewUser(tn.ID, "alice@contoso.onmicrosoft.com", "Alice", clk.t.Add(-time.Hour))
	bob := directory.NewUser(tn.ID, "bob@contoso.onmicrosoft.com", "Bob", clk.t.Add(-time.Hour))
	for _, err := range []error{st.CreateTenant(ctx, tn), st.CreateUser(ctx, alice), st.CreateUser(ctx, bob)} {
		if err != nil {
			t.Fatal(err)
		}
	}

	// cookies carries what the browser keeps between requests.
	jar := map[string]*http.Cookie{}
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "https://idp/", nil)
		for _, c := range jar {
			r.AddCookie(c)
		}
		return r
	}
	keep := func(rec *httptest.ResponseRecorder) {
		for _, c := range rec.Result().Cookies() {
			if c.MaxAge < 0 {
				delete(jar, c.Name)
			} else {
				jar[c.Name] = c
			}
		}
	}
	signIn := func(u store.User) store.Session {
		t.Helper()
		rec := httptest.NewRecorder()
		s, err := m.SignIn(ctx, rec, req(), tn.ID, store.SessionAccount{UserID: u.ID, AuthTime: clk.t, AuthMethods: []string{store.AuthMethodPassword}})
		if err != nil {
			t.Fatal(err)
		}
		keep(rec)
		return s
	}
	load := func() []Account {
		t.Helper()
		rec := httptest.NewRecorder()
		ss, err := m.Load(ctx, rec, req())
		if err != nil {
			t.Fatal(err)
		}
		keep(rec)
		as, err := m.Accounts(ctx, ss)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}

	s1 := signIn(alice)
	c1 := jar[CookieName(tn.ID)].Value
	if len(load()) != 1 {
		t.Fatal("alice not signed in")
	}
	s2 := signIn(bob)
	if jar[CookieName(tn.ID)].Value == c1 {
		t.Error("the cookie value was not renewed at sign-in")
	}
	if _, err := st.GetSession(ctx, s1.ID); err == nil {
		t.Error("the session under the old cookie value still exists")
	}
	if as := load(); len(as) != 2 || len(s2.Accounts) != 2 {
		t.Fatalf("two accounts: %+v", as)
	}
	if _, err := m.Used(ctx, s2, "app-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetSession(ctx, s2.ID); len(got.Apps) != 1 || got.Apps[0] != "app-1" {
		t.Errorf("apps %v", got.Apps)
	}

	// Revocation drops the account and removes it from the record.
	if _, err := st.UpdateUser(ctx, tn.ID, bob.ID, func(u store.User) (store.User, error) {
		u.SignInSessionsValidFromDateTime = clk.t.Add(time.Second)
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	if as := load(); len(as) != 1 || as[0].User.ID != alice.ID {
		t.Fatalf("after revoking bob: %+v", as)
	}
	if got, _ := st.GetSession(ctx, s2.ID); len(got.Accounts) != 1 {
		t.Errorf("record still has %d accounts", len(got.Accounts))
	}

	// Idle timeout; use keeps it alive.
	clk.t = clk.t.Add(50 * time.Minute)
	s, _ := st.GetSession(ctx, s2.ID)
	if _, err := m.Used(ctx, s, "app-1"); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(50 * time.Minute)
	if len(load()) != 1 {
		t.Fatal("a used session timed out")
	}
	clk.t = clk.t.Add(61 * time.Minute)
	if len(load()) != 0 {
		t.Fatal("an idle session lived on")
	}
	if _, ok := jar[CookieName(tn.ID)]; ok {
		t.Error("the dead session's cookie was not cleared")
	}
	if _, err := st.GetSession(ctx, s2.ID); err == nil {
		t.Error("the dead session's record was not deleted")
	}

	// Absolute lifetime.
	signIn(alice)
	for range 11 {
		clk.t = clk.t.Add(59 * time.Minute)
		ss, _ := m.Load(ctx, httptest.NewRecorder(), req())
		for _, s := range ss {
			m.Used(ctx, s, "app-1")
		}
	}
	if len(load()) != 0 {
		t.Error("a session outlived MaxLifetime")
	}

	// Sign-out of one account, then of all.
	signIn(alice)
	s = signIn(bob)
	if _, err := st.UpdateUser(ctx, tn.ID, bob.ID, func(u store.User) (store.User, error) {
		u.SignInSessionsValidFromDateTime = time.Time{}
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := m.SignOut(ctx, rec, s, bob.ID); err != nil {
		t.Fatal(err)
	}
	keep(rec)
	if as := load(); len(as) != 1 || as[0].User.ID != alice.ID {
		t.Fatalf("after signing bob out: %+v", as)
	}
	rec = httptest.NewRecorder()
	ss, _ := m.Load(ctx, rec, req())
	if err := m.End(ctx, rec, ss); err != nil {
		t.Fatal(err)
	}
	keep(rec)
	if len(jar) != 0 || len(load()) != 0 {
		t.Error("End left a session")
	}
	// A forged cookie is nobody.
	jar[CookieName(tn.ID)] = &http.Cookie{Name: CookieName(tn.ID), Value: "forged"}
	if len(load()) != 0 {
		t.Error("a forged cookie signed someone in")
	}
}
