package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/dirfile"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// The demo directory `entrance dev` seeds must apply cleanly, keep its
// generated credentials across runs, and hold credentials that verify.
func TestDevDirectory(t *testing.T) {
	dir := t.TempDir()
	creds, file, err := devDirectory(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, file2, err := devDirectory(dir)
	if err != nil || again != creds || file2 != file {
		t.Fatalf("second run: %+v %s %v; want the first run's credentials kept", again, file2, err)
	}
	if len(creds.WebSecret) < secrets.MinClientSecretLength || creds.WebSecret == creds.DaemonSecret {
		t.Fatalf("generated secrets %+v", creds)
	}

	doc, err := dirfile.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.NewSQLite(t)
	hasher := secrets.NewClientSecretHasher([]byte("0123456789abcdef0123456789abcdef"))
	ctx := context.Background()
	if _, err := dirfile.Apply(ctx, st, doc, dirfile.ApplyOptions{SecretHasher: hasher, Now: time.Now}); err != nil {
		t.Fatal(err)
	}
	user, err := st.GetUserByUPN(ctx, creds.TenantID, creds.User)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := secrets.VerifyPassword(user.PasswordHash, creds.Password); !ok || err != nil {
		t.Errorf("the printed demo password does not verify: %v", err)
	}
	for appID, secret := range map[string]string{creds.WebAppID: creds.WebSecret, creds.DaemonAppID: creds.DaemonSecret} {
		app, err := st.GetApplicationByAppID(ctx, appID)
		if err != nil || len(app.PasswordCredentials) != 1 || !hasher.Verify(app.PasswordCredentials[0].SecretHash, secret) {
			t.Errorf("app %s: the printed secret does not verify (%v)", appID, err)
		}
	}

	var out bytes.Buffer
	cfg := config.Default()
	cfg.PublicURL = "https://localhost:8443"
	printDevInstructions(&out, cfg, creds, dir+"/tls/ca.pem")
	for _, want := range []string{
		`AUTH_MICROSOFT_ENTRA_ID_ID="` + creds.WebAppID + `"`,
		`AUTH_MICROSOFT_ENTRA_ID_SECRET="` + creds.WebSecret + `"`,
		`AUTH_MICROSOFT_ENTRA_ID_ISSUER="https://localhost:8443/` + creds.TenantID + `/v2.0"`,
		"DisableInstanceDiscovery: true",
		"WithInstanceDiscovery(false)",
		"NODE_EXTRA_CA_CERTS=",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("instructions lack %q", want)
		}
	}
}
