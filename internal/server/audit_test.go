package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/audit"
	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
	"github.com/entranceidp/entrance/internal/store"
)

// A directory file applied at start is in the audit log as made by
// "directory-file"; starting again on an unchanged file adds nothing.
func TestDirectoryFileIsAudited(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(file, []byte("tenants:\n  - id: "+tenantID+"\n    displayName: Contoso\n    domains: [contoso.test]\n    users:\n      - {userPrincipalName: ann@contoso.test, password: \"Correct-Horse-9\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.MasterKey = sealbox.GenerateMasterKey()
	cfg.DirectoryFile = file
	ctx := context.Background()
	entries := func() []store.AuditEntry {
		t.Helper()
		srv, err := server.New(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		es, err := srv.Store().ListAuditEntries(ctx, store.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	first := entries()
	kinds := map[string]bool{}
	for _, e := range first {
		kinds[e.Action+" "+e.Kind] = true
		if e.Actor != audit.DirectoryFile || !strings.Contains(e.Source, file) {
			t.Errorf("entry by %q from %q", e.Actor, e.Source)
		}
		if strings.Contains(string(e.After), "argon2") {
			t.Errorf("a password hash in the log: %s", e.After)
		}
	}
	if !kinds["create tenant"] || !kinds["create user"] {
		t.Errorf("entries %v, want the tenant and the user created", kinds)
	}
	if again := entries(); len(again) != len(first) {
		t.Errorf("restarting on the same file added %d entries", len(again)-len(first))
	}
}
