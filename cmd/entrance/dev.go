package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/template"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/devca"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/secrets"
)

// The demo directory `entrance dev` seeds on its first run. Its secrets are
// generated per data directory and kept, in the clear, in devCredentialsFile:
// development only, like the generated master key.
//
//go:embed demo-directory.yaml.tmpl
var demoDirectoryTemplate string

const (
	devCredentialsFile = "dev-credentials.json"
	devDirectoryFile   = "dev-directory.yaml"
	demoTenantID       = "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"
	demoWebAppID       = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	demoAPIAppID       = "2d4d11a2-f814-46a7-890a-274a72a7309e"
	demoDaemonAppID    = "0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d"
	demoUser           = "abeli@contoso.onmicrosoft.com"
)

// devCredentials are the generated development secrets of the demo directory.
type devCredentials struct {
	TenantID     string `json:"tenantId"`
	WebAppID     string `json:"webAppId"`
	WebSecret    string `json:"webSecret"`
	DaemonAppID  string `json:"daemonAppId"`
	DaemonSecret string `json:"daemonSecret"`
	APIAppID     string `json:"apiAppId"`
	User         string `json:"user"`
	Password     string `json:"password"`
}

// newDevCommand: `entrance dev` — everything a newcomer needs in one command.
func newDevCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a development server: embedded database, local CA, https, a seeded demo tenant",
		Long: "Runs Entrance for development on https://localhost:8443 with its data under ./.entrance (or $ENTRANCE_DATA).\n" +
			"The first run creates a master key, a local CA and a demo directory; later runs keep all of it.",
		Args: cobra.NoArgs,
	}
	flags := config.Bind(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := flags.Load(env.getenv)
		if err != nil {
			return usageError{err}
		}
		if cfg.DatabaseURL != "" {
			return usageError{errors.New("entrance dev uses the embedded database; use `entrance serve` with PostgreSQL")}
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return err
		}
		if cfg.MasterKey == "" {
			if cfg.MasterKey, err = devMasterKey(cmd.ErrOrStderr(), cfg.DataDir); err != nil {
				return err
			}
		}
		var caFile string
		if cfg.TLSCertFile == "" && !cfg.InsecureHTTP {
			files, err := devca.Ensure(filepath.Join(cfg.DataDir, "tls"), devca.DefaultHosts())
			if err != nil {
				return fmt.Errorf("local CA: %w", err)
			}
			cfg.TLSCertFile, cfg.TLSKeyFile, caFile = files.ServerCert, files.ServerKey, files.CACert
		}
		creds, dirFile, err := devDirectory(cfg.DataDir)
		if err != nil {
			return err
		}
		if cfg.DirectoryFile == "" {
			cfg.DirectoryFile = dirFile
		}
		// B2C sign-up and password reset email codes are shown on the page
		// (and logged) unless --smtp-url sends them: no mail in development.
		cfg.ShowEmailCodes = cfg.SMTPURL == ""
		printDevInstructions(env.stdout, cfg, creds, caFile)
		return runServer(cmd, cfg)
	}
	return cmd
}

// devMasterKey reads the development master key from the data directory,
// generating it on the first run.
func devMasterKey(warn io.Writer, dataDir string) (string, error) {
	path := filepath.Join(dataDir, devMasterKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return string(bytes.TrimSpace(b)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	key := sealbox.GenerateMasterKey()
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	fmt.Fprintf(warn, "WARNING: generated a development master key in %s. It is for development only:\n"+
		"in production set ENTRANCE_MASTER_KEY from a secret store (`entrance master-key generate`).\n", path)
	return key, nil
}

// devDirectory returns the demo directory's credentials and the directory file
// that seeds it, creating both on the first run. The file is applied at every
// start; applying is idempotent, so re-running keeps the data.
func devDirectory(dataDir string) (devCredentials, string, error) {
	credPath := filepath.Join(dataDir, devCredentialsFile)
	dirPath := filepath.Join(dataDir, devDirectoryFile)
	var c devCredentials
	if b, err := os.ReadFile(credPath); err == nil {
		if err := json.Unmarshal(b, &c); err != nil {
			return c, "", fmt.Errorf("%s: %w", credPath, err)
		}
		return c, dirPath, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return c, "", err
	}
	c = devCredentials{
		TenantID: demoTenantID, WebAppID: demoWebAppID, DaemonAppID: demoDaemonAppID, APIAppID: demoAPIAppID,
		WebSecret:    secrets.GenerateClientSecret(),
		DaemonSecret: secrets.GenerateClientSecret(),
		User:         demoUser,
		// Random, and always meets the password policy (upper, lower, digit, symbol).
		Password: "Dev-" + ids.RandomToken(9) + "-9a",
	}
	var yaml bytes.Buffer
	if err := template.Must(template.New("demo").Parse(demoDirectoryTemplate)).Execute(&yaml, c); err != nil {
		return c, "", err
	}
	if err := os.WriteFile(dirPath, yaml.Bytes(), 0o600); err != nil {
		return c, "", err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(credPath, b, 0o600); err != nil {
		return c, "", err
	}
	return c, dirPath, nil
}

// printDevInstructions prints the lines a developer pastes into an app.
func printDevInstructions(w io.Writer, cfg config.Config, c devCredentials, caFile string) {
	issuer := cfg.PublicURL + "/" + c.TenantID + "/v2.0"
	fmt.Fprintf(w, `
Entrance dev server: %[1]s   (data in %[2]s)

Auth.js / NextAuth (.env.local) — provider microsoft-entra-id:
  AUTH_MICROSOFT_ENTRA_ID_ID="%[3]s"
  AUTH_MICROSOFT_ENTRA_ID_SECRET="%[4]s"
  AUTH_MICROSOFT_ENTRA_ID_ISSUER="%[5]s"

Demo user:  %[6]s  /  %[7]s

Daemon app (client credentials): client id %[8]s, secret %[9]s, scope api://tasks/.default

azidentity (Go):
  cred, err := azidentity.NewClientSecretCredential("%[10]s", "%[8]s", "%[9]s",
      &azidentity.ClientSecretCredentialOptions{
          ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: "%[1]s/"}},
          DisableInstanceDiscovery: true,
      })

MSAL Go:
  cred, _ := confidential.NewCredFromSecret("%[9]s")
  app, err := confidential.New("%[1]s/%[10]s", "%[8]s", cred, confidential.WithInstanceDiscovery(false))
`, cfg.PublicURL, cfg.DataDir, c.WebAppID, c.WebSecret, issuer, c.User, c.Password, c.DaemonAppID, c.DaemonSecret, c.TenantID)
	if caFile != "" {
		abs, err := filepath.Abs(caFile)
		if err != nil {
			abs = caFile
		}
		fmt.Fprintf(w, `
Trust the local CA (%[1]s):
  Node.js:        export NODE_EXTRA_CA_CERTS=%[1]s
  Go, curl, ...:  export SSL_CERT_FILE=%[1]s   (replaces the system roots for that process)
  System store:   sudo cp %[1]s /usr/local/share/ca-certificates/entrance-dev.crt && sudo update-ca-certificates
`, abs)
	}
	fmt.Fprintln(w)
}
