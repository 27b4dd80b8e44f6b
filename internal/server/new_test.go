package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/server"
)

func TestNewRefusesBadSetups(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badFile, []byte("tenants:\n  - id: "+tenantID+"\n    displayName: X\n    domains: [x.test]\n    colour: blue\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"no master key", func(c *config.Config) { c.MasterKey = "" }, "no master key"},
		{"bad master key", func(c *config.Config) { c.MasterKey = "c2hvcnQ=" }, "ENTRANCE_MASTER_KEY"},
		{"invalid config", func(c *config.Config) { c.InsecureHTTP, c.PublicURL = true, "" }, "--public-url"},
		{"missing certificate", func(c *config.Config) { c.TLSCertFile, c.TLSKeyFile = "/nonexistent.pem", "/nonexistent-key.pem" }, "TLS certificate"},
		{"bad directory file", func(c *config.Config) { c.DirectoryFile = badFile }, "bad.yaml:5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			cfg.MasterKey = sealbox.GenerateMasterKey()
			tc.edit(&cfg)
			srv, err := server.New(context.Background(), cfg, nil)
			if err == nil {
				srv.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}
