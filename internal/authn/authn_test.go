package authn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
)

const password = "Correct-Horse-9"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestPassword(t *testing.T) {
	ctx := context.Background()
	st, err := storeopen.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{time.Now().UTC()}
	contoso := directory.NewTenant("Contoso", []string{"contoso.onmicrosoft.com"}, clk.t)
	fabrikam := directory.NewTenant("Fabrikam", []string{"fabrikam.onmicrosoft.com"}, clk.t)
	alice := directory.NewUser(contoso.ID, "alice@contoso.onmicrosoft.com", "Alice", clk.t)
	carol := directory.NewUser(contoso.ID, "carol@contoso.onmicrosoft.com", "Carol", clk.t)
	carol.AccountEnabled = false
	for _, u := range []*store.User{&alice, &carol} {
		if err := directory.SetPassword(u, password, clk.t); err != nil {
			t.Fatal(err)
		}
	}
	guest := directory.NewGuest(fabrikam, alice, clk.t)
	for _, err := range []error{
		st.CreateTenant(ctx, contoso), st.CreateTenant(ctx, fabrikam),
		st.CreateUser(ctx, alice), st.CreateUser(ctx, carol), st.CreateUser(ctx, guest),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(st, Options{AccountThreshold: 3, IPThreshold: 5, Window: 10 * time.Minute, LockoutDuration: time.Minute, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	try := func(tenantID, upn, pw, ip string) (store.User, int) {
		t.Helper()
		u, err := a.Password(ctx, Attempt{TenantID: tenantID, Username: upn, Password: pw, AppID: "app", IP: ip})
		var e *aadsts.Error
		if errors.As(err, &e) {
			return u, e.Code
		}
		if err != nil {
			t.Fatal(err)
		}
		return u, 0
	}

	for _, c := range []struct {
		name         string
		tenant, upn  string
		pw           string
		code         int
		wantUser, ip string
	}{
		{"member", contoso.ID, "alice@contoso.onmicrosoft.com", password, 0, alice.ID, "10.0.0.1"},
		{"case and spaces", contoso.ID, "  ALICE@contoso.onmicrosoft.com ", password, 0, alice.ID, "10.0.0.1"},
		{"wrong password", contoso.ID, "alice@contoso.onmicrosoft.com", "nope", aadsts.InvalidUsernameOrPassword, "", "10.0.0.1"},
		{"unknown user", contoso.ID, "zed@contoso.onmicrosoft.com", password, aadsts.InvalidUsernameOrPassword, "", "10.0.0.1"},
		{"other tenant's member", fabrikam.ID, "carol@contoso.onmicrosoft.com", password, aadsts.InvalidUsernameOrPassword, "", "10.0.0.1"},
		{"guest with home password", fabrikam.ID, "alice@contoso.onmicrosoft.com", password, 0, guest.ID, "10.0.0.1"},
		{"guest with wrong password", fabrikam.ID, "alice@contoso.onmicrosoft.com", "nope", aadsts.InvalidUsernameOrPassword, "", "10.0.0.1"},
		{"guest UPN has no password", fabrikam.ID, guest.UserPrincipalName, password, aadsts.InvalidUsernameOrPassword, "", "10.0.0.1"},
		{"disabled, wrong password", contoso.ID, "carol@contoso.onmicrosoft.com", "nope", aadsts.InvalidUsernameOrPassword, "", "10.0.0.2"},
		{"disabled", contoso.ID, "carol@contoso.onmicrosoft.com", password, aadsts.UserDisabled, "", "10.0.0.2"},
	} {
		u, code := try(c.tenant, c.upn, c.pw, c.ip)
		if code != c.code || u.ID != c.wantUser {
			t.Errorf("%s: user %q code %d, want %q %d", c.name, u.ID, code, c.wantUser, c.code)
		}
	}

	// Account lockout: alice had 1 failure in contoso, the success before it
	// does not count; 2 more lock her, even with the right password.
	try(contoso.ID, "alice@contoso.onmicrosoft.com", "nope", "10.0.1.1")
	if _, code := try(contoso.ID, "alice@contoso.onmicrosoft.com", "nope", "10.0.1.2"); code != aadsts.InvalidUsernameOrPassword {
		t.Fatalf("third failure: %d", code)
	}
	if _, code := try(contoso.ID, "alice@contoso.onmicrosoft.com", password, "10.0.1.3"); code != aadsts.AccountLocked {
		t.Fatalf("locked account: %d", code)
	}
	// Her guest account in Fabrikam is another account.
	if _, code := try(fabrikam.ID, "alice@contoso.onmicrosoft.com", password, "10.0.1.4"); code != 0 {
		t.Errorf("guest account locked with the member: %d", code)
	}
	clk.t = clk.t.Add(61 * time.Second)
	if _, code := try(contoso.ID, "alice@contoso.onmicrosoft.com", password, "10.0.1.5"); code != 0 {
		t.Errorf("after the lockout: %d", code)
	}

	// Unknown usernames lock out like real ones.
	for range 3 {
		try(contoso.ID, "zed@contoso.onmicrosoft.com", "nope", "10.0.2.1")
	}
	if _, code := try(contoso.ID, "zed@contoso.onmicrosoft.com", "nope", "10.0.2.2"); code != aadsts.AccountLocked {
		t.Errorf("unknown username not locked: %d", code)
	}

	// Address lockout: 5 failures from one address over several accounts
	// (password spraying) block the address, not the accounts.
	clk.t = clk.t.Add(time.Hour)
	for i, upn := range []string{"a1", "a2", "a3", "a4", "a5"} {
		if _, code := try(contoso.ID, upn+"@contoso.onmicrosoft.com", "nope", "10.0.3.1"); code != aadsts.InvalidUsernameOrPassword {
			t.Fatalf("spray %d: %d", i, code)
		}
	}
	if _, code := try(contoso.ID, "alice@contoso.onmicrosoft.com", password, "10.0.3.1"); code != aadsts.AccountLocked {
		t.Errorf("sprayer's address not blocked: %d", code)
	}
	if _, code := try(contoso.ID, "alice@contoso.onmicrosoft.com", password, "10.0.3.2"); code != 0 {
		t.Errorf("another address blocked: %d", code)
	}

	// Everything was logged.
	logs, err := st.ListSignIns(ctx, store.SignInFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 10+3+2+4+5+2 {
		t.Errorf("%d log entries", len(logs))
	}
	for _, l := range logs {
		if l.AppID != "app" || l.IPAddress == "" || l.TenantID == "" || l.UserPrincipalName == "" || l.ClientAppUsed != "Browser" {
			t.Errorf("entry %+v", l)
		}
		if l.ErrorCode != 0 && l.FailureReason == "" {
			t.Errorf("failure without a reason: %+v", l)
		}
	}
}

// TestConcurrentHashes: verifications beyond MaxConcurrentHashes wait for a
// turn; one that gives up waiting (its context ended) is no attempt: no
// failure counted, nothing logged.
func TestConcurrentHashes(t *testing.T) {
	ctx := context.Background()
	st, err := storeopen.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	contoso := directory.NewTenant("Contoso", []string{"contoso.onmicrosoft.com"}, now)
	alice := directory.NewUser(contoso.ID, "alice@contoso.onmicrosoft.com", "Alice", now)
	if err := directory.SetPassword(&alice, password, now); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTenant(ctx, contoso); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	a, err := New(st, Options{MaxConcurrentHashes: 1})
	if err != nil {
		t.Fatal(err)
	}
	at := Attempt{TenantID: contoso.ID, Username: alice.UserPrincipalName, Password: "wrong", AppID: "app", IP: "10.0.0.1"}

	a.hashing <- struct{}{} // another verification is running
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.Password(short, at); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting past the deadline: %v", err)
	}
	if n, err := st.PeekCounter(ctx, "signin-ip:10.0.0.1", time.Hour, time.Now()); err != nil || n != 0 {
		t.Errorf("a verification that never ran counted as a failure: %d, %v", n, err)
	}
	if log, err := st.ListSignIns(ctx, store.SignInFilter{}); err != nil || len(log) != 0 {
		t.Errorf("a verification that never ran was logged: %v, %v", log, err)
	}

	// Once the slot is free, the attempt runs (and is a wrong password).
	done := make(chan error, 1)
	go func() {
		_, err := a.Password(ctx, at)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("ran while the only slot was taken: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	<-a.hashing
	var e *aadsts.Error
	if err := <-done; !errors.As(err, &e) || e.Code != aadsts.InvalidUsernameOrPassword {
		t.Fatalf("after the slot was freed: %v", err)
	}
	if len(a.hashing) != 0 {
		t.Error("slot not given back")
	}
	if n, err := st.PeekCounter(ctx, "signin-ip:10.0.0.1", time.Hour, time.Now()); err != nil || n != 1 {
		t.Errorf("the wrong password counted %d times, %v", n, err)
	}
}
