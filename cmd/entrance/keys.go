package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/serversecrets"
	"github.com/entranceidp/entrance/internal/store"
)

// newKeysCommand: `entrance keys list|rotate` — the signing keys of a tenant
// (or of an app with its own key).
func newKeysCommand(env *cliEnv) *cobra.Command {
	var tenantArg, appID string
	cmd := &cobra.Command{Use: "keys", Short: "List or rotate signing keys"}
	cmd.PersistentFlags().StringVar(&tenantArg, "tenant", "", "tenant GUID or verified domain (required)")
	cmd.PersistentFlags().StringVar(&appID, "app-id", "", "the appId of an application with its own signing key")

	withManager := func(cmd *cobra.Command, fn func(m *keys.Manager, tenantID string) error) error {
		if tenantArg == "" {
			return usageError{fmt.Errorf("--tenant is required")}
		}
		return env.withStore(cmd.Context(), func(st store.Store) error {
			t, err := directory.ResolveTenant(cmd.Context(), st, tenantArg)
			if err != nil {
				return fmt.Errorf("tenant %q: %w", tenantArg, err)
			}
			box, _, err := env.openSecrets(cmd.Context(), st)
			if err != nil {
				return err
			}
			return fn(keys.NewManager(st, box, keys.Options{}), t.ID)
		})
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the published keys: current, next and previous",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withManager(cmd, func(m *keys.Manager, tenantID string) error {
				pub, err := m.PublishedKeys(cmd.Context(), tenantID, appID)
				if err != nil {
					return err
				}
				type keyView struct {
					KID       string `json:"kid"`
					Status    string `json:"status"`
					NotBefore string `json:"notBefore"`
					NotAfter  string `json:"notAfter"`
				}
				views := make([]keyView, 0, len(pub))
				for _, k := range pub {
					views = append(views, keyView{k.KID, k.Status, k.Certificate.NotBefore.UTC().Format(timeLayout), k.Certificate.NotAfter.UTC().Format(timeLayout)})
				}
				return env.print(views, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "KID\tSTATUS\tCERT NOT BEFORE\tCERT NOT AFTER")
					for _, v := range views {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.KID, v.Status, v.NotBefore, v.NotAfter)
					}
					tw.Flush()
				})
			})
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate now: the next key starts signing, the current one stays published until it retires",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withManager(cmd, func(m *keys.Manager, tenantID string) error {
				if err := m.Rotate(cmd.Context(), tenantID, appID); err != nil {
					return err
				}
				sk, err := m.SigningKey(cmd.Context(), tenantID, appID)
				if err != nil {
					return err
				}
				return env.print(map[string]string{"tenantId": tenantID, "signingKid": sk.KID()}, func(w io.Writer) {
					fmt.Fprintf(w, "rotated: tenant %s now signs with %s\n", tenantID, sk.KID())
				})
			})
		},
	}
	cmd.AddCommand(list, rotate)
	return cmd
}

// timeLayout is how the CLI prints instants: UTC, second precision, like Graph.
const timeLayout = "2006-01-02T15:04:05Z"

// newMasterKeyCommand: `entrance master-key generate|rotate`.
func newMasterKeyCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{Use: "master-key", Short: "Generate a master key, or re-encrypt everything under a new one"}
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Print a new random master key for ENTRANCE_MASTER_KEY",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(env.stdout, sealbox.GenerateMasterKey())
			return nil
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Re-wrap every sealed key and secret under the first key of ENTRANCE_MASTER_KEY=\"new,old\"",
		Long: "Set ENTRANCE_MASTER_KEY to the new key followed by the old one(s), comma-separated, and run this once.\n" +
			"Afterwards the old keys are no longer needed and can be removed from ENTRANCE_MASTER_KEY.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return env.withStore(cmd.Context(), func(st store.Store) error {
				box, _, err := env.openSecrets(cmd.Context(), st)
				if err != nil {
					return err
				}
				nKeys, err := keys.NewManager(st, box, keys.Options{}).RewrapPrivateKeys(cmd.Context())
				if err != nil {
					return err
				}
				nSecrets, err := serversecrets.Rewrap(cmd.Context(), st, box)
				if err != nil {
					return err
				}
				return env.print(map[string]int{"signingKeys": nKeys, "serverSecrets": nSecrets}, func(w io.Writer) {
					fmt.Fprintf(w, "re-wrapped %d signing keys and %d server secrets under master key %s\n", nKeys, nSecrets, box.PrimaryID())
				})
			})
		},
	}
	cmd.AddCommand(generate, rotate)
	return cmd
}
