package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
)

// Admin commands and `entrance apply` leave entries in the audit log, which
// `audit list` shows (newest first, --since, --limit, -o json with before
// and after, no secrets) and `audit export` writes as JSON lines.
func TestAuditLog(t *testing.T) {
	h := newAdminHarness(t, "", t.TempDir())
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	const domain = "audit.onmicrosoft.com"
	h.ok("tenant", "create", "--name", "Audit", "--domain", domain)
	h.ok("user", "create", "--tenant", domain, "--upn", "ann@"+domain, "--password", "Correct-Horse-9")
	var app struct {
		AppID string `json:"appId"`
	}
	h.okJSON(&app, "app", "create", "--tenant", domain, "--name", "Web")
	var secret struct {
		SecretText string `json:"secretText"`
	}
	h.okJSON(&secret, "app", "secret", "add", app.AppID)
	file := filepath.Join(t.TempDir(), "dir.yaml")
	if err := os.WriteFile(file, []byte("tenants:\n  - id: 2f1c5b0e-7d3a-4e8b-9c6f-1a2b3c4d5e6f\n    displayName: Filed\n    domains: [filed.onmicrosoft.com]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.ok("apply", "-f", file)
	h.ok("user", "delete", "--tenant", domain, "ann@"+domain)

	var entries []store.AuditEntry
	h.okJSON(&entries, "audit", "list")
	var got []string
	for _, e := range entries {
		got = append(got, e.Source+": "+e.Action+" "+e.Kind)
		if e.Actor != me.Username {
			t.Errorf("actor %q, want the OS user %q", e.Actor, me.Username)
		}
	}
	want := []string{
		"entrance user delete: delete user",
		"entrance apply -f " + file + ": create tenant",
		"entrance app secret add: update application",
		"entrance app secret add: create serverSecret", // the server secrets (the pepper, ...), made on first use
		"entrance app secret add: create serverSecret",
		"entrance app create: create servicePrincipal",
		"entrance app create: create application",
		"entrance user create: create user",
		"entrance tenant create: create tenant",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit list:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var before, after struct{ PasswordCredentials []map[string]any }
	if json.Unmarshal(entries[2].Before, &before) != nil || json.Unmarshal(entries[2].After, &after) != nil ||
		len(before.PasswordCredentials) != 0 || len(after.PasswordCredentials) != 1 || after.PasswordCredentials[0]["keyId"] == nil {
		t.Errorf("secret add: before %s after %s", entries[2].Before, entries[2].After)
	}
	text := h.ok("audit", "list", "--limit", "2")
	if lines := strings.Split(strings.TrimSpace(text), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "delete") {
		t.Errorf("audit list --limit 2:\n%s", text)
	}
	if out := h.ok("audit", "list", "--since", "2999-01-01T00:00:00Z", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("--since the future: %s", out)
	}

	export := h.ok("audit", "export")
	lines := strings.Split(strings.TrimSpace(export), "\n")
	if len(lines) != len(want) {
		t.Fatalf("export has %d lines, want %d:\n%s", len(lines), len(want), export)
	}
	var first store.AuditEntry
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Kind != "tenant" || first.Source != "entrance tenant create" {
		t.Errorf("first exported line (oldest): %s %v", lines[0], err)
	}
	for _, s := range []string{secret.SecretText, "secretHash", "passwordHash", "argon2", "sealed"} {
		if strings.Contains(export, s) {
			t.Errorf("the audit log holds %q", s)
		}
	}
	if _, _, err := h.run("", "audit", "list", "--since", "yesterday"); err == nil || exitCode(err) != 2 {
		t.Errorf("a bad --since: %v", err)
	}
}

// `entrance signins export` writes the sign-in log as JSON lines, oldest
// first, of every tenant or of one.
func TestSignInsExport(t *testing.T) {
	h := newAdminHarness(t, "", t.TempDir())
	h.ok("tenant", "create", "--name", "A", "--domain", "a.onmicrosoft.com")
	h.ok("tenant", "create", "--name", "B", "--domain", "b.onmicrosoft.com")
	ctx := context.Background()
	st, err := storeopen.Open(ctx, "", h.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	ta, _ := st.GetTenantByDomain(ctx, "a.onmicrosoft.com")
	tb, _ := st.GetTenantByDomain(ctx, "b.onmicrosoft.com")
	now := time.Now().UTC()
	for i, tid := range []string{ta.ID, tb.ID, ta.ID} {
		if err := st.CreateSignIn(ctx, store.SignIn{ID: fmt.Sprint(i), CreatedDateTime: now.Add(time.Duration(i-5) * time.Minute), TenantID: tid,
			UserPrincipalName: "u@x", ErrorCode: 50126 * (i % 2)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	ids := func(out string) string {
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var s store.SignIn
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				t.Fatalf("not JSON lines: %q", line)
			}
			got = append(got, s.ID)
		}
		return strings.Join(got, ",")
	}
	if got := ids(h.ok("signins", "export")); got != "0,1,2" {
		t.Errorf("export: %s, want 0,1,2", got)
	}
	if got := ids(h.ok("signins", "export", "--tenant", "a.onmicrosoft.com")); got != "0,2" {
		t.Errorf("export --tenant: %s, want 0,2", got)
	}
	if got := ids(h.ok("signins", "export", "--since", "4m")); got != "2" {
		t.Errorf("export --since 4m: %s, want 2", got)
	}
}
