package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
)

func TestSignInsList(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	tn := directory.NewTenant("Contoso", []string{"contoso.onmicrosoft.com"}, now)
	alice := directory.NewUser(tn.ID, "alice@contoso.onmicrosoft.com", "Alice", now)
	const app, other = "6e74172b-be56-4843-9ff4-e66a39bb12e3", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	entries := []store.SignIn{
		{ID: "1", CreatedDateTime: now.Add(-48 * time.Hour), TenantID: tn.ID, UserID: alice.ID, UserPrincipalName: alice.UserPrincipalName, AppID: app, AppDisplayName: "Web", IPAddress: "10.0.0.1"},
		{ID: "2", CreatedDateTime: now.Add(-time.Hour), TenantID: tn.ID, UserID: alice.ID, UserPrincipalName: alice.UserPrincipalName, AppID: app, AppDisplayName: "Web", IPAddress: "10.0.0.1", ErrorCode: 50126, FailureReason: "Error validating credentials due to invalid username or password."},
		{ID: "3", CreatedDateTime: now.Add(-time.Minute), TenantID: tn.ID, UserID: alice.ID, UserPrincipalName: alice.UserPrincipalName, AppID: other, AppDisplayName: "Portal", IPAddress: "10.0.0.2"},
		{ID: "4", CreatedDateTime: now.Add(-30 * time.Second), TenantID: tn.ID, UserPrincipalName: "mallory@contoso.onmicrosoft.com", AppID: app, IPAddress: "10.0.0.9", ErrorCode: 50126},
	}
	if err := st.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := st.CreateSignIn(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		root := &cobra.Command{Use: "entrance", SilenceUsage: true, SilenceErrors: true}
		env := newCLIEnv(&out, func(string) (string, bool) { return "", false })
		env.bindAdminFlags(root)
		root.AddCommand(newSignInsCommand(env))
		root.SetArgs(append([]string{"--data", dataDir, "signins", "list"}, args...))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	ids := func(args ...string) string {
		t.Helper()
		out, err := run(append(args, "-o", "json")...)
		if err != nil {
			t.Fatalf("signins list %v: %v", args, err)
		}
		var got []store.SignIn
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		var s []string
		for _, e := range got {
			s = append(s, e.ID)
		}
		return strings.Join(s, ",")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tenant", "contoso.onmicrosoft.com"}, "4,3,2,1"},
		{[]string{"--tenant", tn.ID, "--user", "ALICE@contoso.onmicrosoft.com"}, "3,2,1"},
		{[]string{"--tenant", tn.ID, "--user", alice.ID, "--app", app}, "2,1"},
		{[]string{"--tenant", tn.ID, "--since", "24h"}, "4,3,2"},
		{[]string{"--tenant", tn.ID, "--since", "1d", "--app", other}, "3"},
		{[]string{"--tenant", tn.ID, "--since", now.Add(-90 * time.Second).Format(time.RFC3339)}, "4,3"},
		{[]string{"--tenant", tn.ID, "--user", "mallory@contoso.onmicrosoft.com"}, "4"},
		{[]string{"--tenant", tn.ID, "--limit", "1"}, "4"},
	} {
		if got := ids(c.args...); got != c.want {
			t.Errorf("signins list %v: %s, want %s", c.args, got, c.want)
		}
	}

	out, err := run("--tenant", tn.ID, "--user", alice.UserPrincipalName)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "Portal") || !strings.Contains(lines[1], "Success") ||
		!strings.Contains(lines[2], "AADSTS50126 Error validating credentials") {
		t.Errorf("text output:\n%s", out)
	}

	for _, bad := range [][]string{
		{"--tenant", tn.ID, "--since", "yesterday"},
		{"--tenant", tn.ID, "--app", "not-a-guid"},
		{"--tenant", tn.ID, "--limit", "0"},
		{},
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("signins list %v: no error", bad)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("signins list %v: %v is not a usage error", bad, err)
		}
	}
}
