package dirfile

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store/storetest"
)

// TestDocsExamples applies the YAML examples of docs/directory-file.md, so
// that the documentation cannot drift from what the code accepts.
func TestDocsExamples(t *testing.T) {
	md, err := os.ReadFile("../../docs/directory-file.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(md, -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d YAML examples", len(blocks))
	}
	for i, b := range blocks {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "certs", "daemon.pem"), certPEM(t, "daemon"), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "directory.yaml")
		if err := os.WriteFile(path, b[1], 0o600); err != nil {
			t.Fatal(err)
		}
		st := storetest.NewSQLite(t)
		for run := 0; run < 2; run++ {
			doc, err := Load(path)
			if err != nil {
				t.Fatalf("example %d: %v", i, err)
			}
			sum, err := Apply(context.Background(), st, doc, ApplyOptions{SecretHasher: hasher, Now: func() time.Time { return fixedT0 }})
			if err != nil {
				t.Fatalf("example %d: %v", i, err)
			}
			if run == 1 && (sum.Created != 0 || sum.Updated != 0) {
				t.Errorf("example %d applied twice: %s", i, sum)
			}
		}
	}
}
