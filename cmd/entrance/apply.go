package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/dirfile"
	"github.com/entranceidp/entrance/internal/store"
)

// newApplyCommand: `entrance apply -f directory.yaml` — create or update the
// directory from a file, in one transaction.
func newApplyCommand(env *cliEnv) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f directory.yaml",
		Short: "Create or update tenants, users, groups, apps and consent from a directory file",
		Long:  "Applies the file in one transaction: either everything in it is applied, or nothing is.\nApplying the same file twice changes nothing. See docs/directory-file.md.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("-f is required")}
			}
			doc, err := dirfile.Load(file)
			if err != nil {
				return err
			}
			env.command += " -f " + file // the audit log names the file
			return env.withStore(cmd.Context(), func(st store.Store) error {
				_, sec, err := env.openSecrets(cmd.Context(), st)
				if err != nil {
					return err
				}
				sum, err := dirfile.Apply(cmd.Context(), st, doc, dirfile.ApplyOptions{SecretHasher: sec.ClientSecretHasher(), Now: time.Now})
				if err != nil {
					return err
				}
				return env.print(sum, func(w io.Writer) { fmt.Fprintf(w, "applied %s: %s\n", file, sum) })
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the directory file (YAML)")
	return cmd
}
