package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/audit"
	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/serversecrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
)

// devMasterKeyFile is where `entrance dev` keeps the master key it generated,
// so that admin commands run against the same data directory can open it.
const devMasterKeyFile = "dev-master-key"

// cliEnv is what every command shares: where the data is, how to print, and
// the environment. Admin commands work on the database directly (embedded
// SQLite or PostgreSQL), without a running server.
type cliEnv struct {
	stdout io.Writer
	getenv func(string) (string, bool)

	dataDir     string
	databaseURL string
	output      string
	// command is the running command ("entrance app secret add"), the
	// source of its audit log entries.
	command string
}

func newCLIEnv(stdout io.Writer, getenv func(string) (string, bool)) *cliEnv {
	return &cliEnv{stdout: stdout, getenv: getenv}
}

// bindAdminFlags registers the flags admin commands share. Their defaults come
// from the same environment variables `entrance serve` reads.
func (e *cliEnv) bindAdminFlags(root *cobra.Command) {
	dataDir := config.DefaultDataDir
	if v, ok := e.getenv("ENTRANCE_DATA"); ok && v != "" {
		dataDir = v
	}
	dbURL, _ := e.getenv("ENTRANCE_DATABASE_URL")
	pf := root.PersistentFlags()
	pf.StringVar(&e.dataDir, "data", dataDir, "data directory of the embedded database [$ENTRANCE_DATA]")
	pf.StringVar(&e.databaseURL, "db", dbURL, "PostgreSQL URL; empty for the embedded SQLite database [$ENTRANCE_DATABASE_URL]")
	pf.StringVarP(&e.output, "output", "o", "text", "output format: text or json")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { e.command = cmd.CommandPath() }
}

// openStore opens the configured database (applying migrations).
func (e *cliEnv) openStore(ctx context.Context) (store.Store, error) {
	return storeopen.Open(ctx, e.databaseURL, e.dataDir)
}

// masterKey returns ENTRANCE_MASTER_KEY, or the development key `entrance dev`
// stored in the data directory.
func (e *cliEnv) masterKey() (string, error) {
	if v, ok := e.getenv("ENTRANCE_MASTER_KEY"); ok && v != "" {
		return v, nil
	}
	b, err := os.ReadFile(filepath.Join(e.dataDir, devMasterKeyFile))
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("no master key: set ENTRANCE_MASTER_KEY (`entrance master-key generate` makes one)")
	}
	return "", err
}

// openSecrets returns the sealing box and the server secrets (the client-secret
// pepper) needed by commands that hash client secrets.
func (e *cliEnv) openSecrets(ctx context.Context, st store.Store) (*sealbox.Box, *serversecrets.Secrets, error) {
	mk, err := e.masterKey()
	if err != nil {
		return nil, nil, err
	}
	keys, err := sealbox.ParseMasterKeys(mk)
	if err != nil {
		return nil, nil, fmt.Errorf("ENTRANCE_MASTER_KEY: %w", err)
	}
	box, err := sealbox.New(keys...)
	if err != nil {
		return nil, nil, err
	}
	sec, err := serversecrets.Load(ctx, st, box)
	if err != nil {
		return nil, nil, err
	}
	return box, sec, nil
}

// withStore opens the store for the duration of fn. Every change fn makes
// through it is recorded in the audit log, as made by the OS user running
// this command.
func (e *cliEnv) withStore(ctx context.Context, fn func(st store.Store) error) error {
	st, err := e.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(audit.Wrap(st, audit.OSUser(), e.command))
}

// print writes v as indented JSON with --output json, else calls text.
func (e *cliEnv) print(v any, text func(w io.Writer)) error {
	switch e.output {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "text", "":
		text(e.stdout)
		return nil
	default:
		return usageError{fmt.Errorf("--output %q: want text or json", e.output)}
	}
}
