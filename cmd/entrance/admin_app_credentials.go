package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
)

// Client secrets and certificates of an app registration
// (passwordCredentials and keyCredentials).

func newAppSecretCommand(env *cliEnv) *cobra.Command {
	return groupCommand("secret", "Add, list and delete client secrets of an app registration",
		newAppSecretAddCommand(env),
		&cobra.Command{
			Use:   "list <appId>",
			Short: "List client secrets (hint and dates; secrets are never shown again)",
			Args:  exactArgs("appId"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				a, err := st.GetApplicationByAppID(ctx, args[0])
				if err != nil {
					return objectError("app", args[0], err)
				}
				return printList(env, a.PasswordCredentials, newPasswordCredentialView, []string{"KEY ID", "DISPLAY NAME", "HINT", "START", "END"}, func(c store.PasswordCredential) []string {
					return []string{c.KeyID, c.DisplayName, c.Hint + "...", formatTime(c.StartDateTime), formatTime(c.EndDateTime)}
				})
			}),
		},
		newCredentialDeleteCommand(env, "secret", func(a *store.Application, keyID string) bool {
			n := len(a.PasswordCredentials)
			a.PasswordCredentials = slices.DeleteFunc(a.PasswordCredentials, func(c store.PasswordCredential) bool { return c.KeyID == keyID })
			return len(a.PasswordCredentials) < n
		}),
	)
}

func newAppSecretAddCommand(env *cliEnv) *cobra.Command {
	var name, endFlag string
	var years int
	c := &cobra.Command{
		Use:   "add <appId> [--name NAME] [--end 2027-01-01 | --years N]",
		Short: "Generate a client secret and print it once",
		Args:  exactArgs("appId"),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
		now := time.Now()
		end, err := secretEnd(c, endFlag, years, now)
		if err != nil {
			return err
		}
		// Look the app up before loading the server secrets, which creates
		// the pepper on first use: a bad appId must change nothing.
		if _, err := st.GetApplicationByAppID(ctx, args[0]); err != nil {
			return objectError("app", args[0], err)
		}
		_, sec, err := env.openSecrets(ctx, st)
		if err != nil {
			return err
		}
		secret := secrets.GenerateClientSecret()
		var cred store.PasswordCredential
		var credErr error
		a, err := st.UpdateApplication(ctx, args[0], func(a store.Application) (store.Application, error) {
			cred, credErr = directory.AddClientSecret(&a, secret, name, end, sec.ClientSecretHasher(), now)
			return a, credErr
		})
		if credErr != nil {
			return usageError{fmt.Errorf("app secret add: %w", credErr)}
		}
		if err != nil {
			return objectError("app", args[0], err)
		}
		v := newSecretView{passwordCredentialView: newPasswordCredentialView(cred), SecretText: secret}
		return env.print(v, func(w io.Writer) {
			fmt.Fprintf(w, "Added a client secret to app %s (%s).\n\n", a.AppID, a.DisplayName)
			fmt.Fprintf(w, "  Secret:  %s\n", secret)
			fmt.Fprintf(w, "  Key ID:  %s\n", cred.KeyID)
			fmt.Fprintf(w, "  Name:    %s\n", cred.DisplayName)
			fmt.Fprintf(w, "  Expires: %s\n\n", formatTime(cred.EndDateTime))
			fmt.Fprintln(w, "Copy the secret now. It is shown only this once: Entrance keeps just a hash of it")
			fmt.Fprintln(w, "and cannot show it again. If it is lost, add a new secret and delete this one.")
		})
	})
	f := c.Flags()
	f.StringVar(&name, "name", "", "displayName of the secret")
	f.StringVar(&endFlag, "end", "", "endDateTime: a date (2027-01-01) or an RFC 3339 time (default: in 2 years)")
	f.IntVar(&years, "years", 0, "lifetime in years, instead of --end")
	return c
}

// secretEnd is the end date asked for with --end or --years; zero means the
// default lifetime (directory.DefaultClientSecretLifetime).
func secretEnd(c *cobra.Command, end string, years int, now time.Time) (time.Time, error) {
	switch {
	case end != "" && c.Flags().Changed("years"):
		return time.Time{}, usageError{errors.New("give --end or --years, not both")}
	case c.Flags().Changed("years"):
		if years < 1 {
			return time.Time{}, usageError{fmt.Errorf("--years %d: want 1 or more", years)}
		}
		return now.AddDate(years, 0, 0), nil
	case end == "":
		return time.Time{}, nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		t, err := time.Parse(layout, end)
		if err != nil {
			continue
		}
		// directory.AddClientSecret refuses this too, but only after the
		// server secrets are loaded (and created on first use); a flag
		// mistake should change nothing.
		if !t.After(now) {
			return time.Time{}, usageError{fmt.Errorf("--end %s is not in the future", end)}
		}
		return t, nil
	}
	return time.Time{}, usageError{fmt.Errorf("--end %q: want a date (2027-01-01) or an RFC 3339 time (2027-01-01T00:00:00Z)", end)}
}

func newAppCertCommand(env *cliEnv) *cobra.Command {
	return groupCommand("cert", "Add, list and delete certificates an app authenticates with (private_key_jwt)",
		newAppCertAddCommand(env),
		&cobra.Command{
			Use:   "list <appId>",
			Short: "List certificate credentials",
			Args:  exactArgs("appId"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				a, err := st.GetApplicationByAppID(ctx, args[0])
				if err != nil {
					return objectError("app", args[0], err)
				}
				return printList(env, a.KeyCredentials, newKeyCredentialView, []string{"KEY ID", "DISPLAY NAME", "THUMBPRINT (SHA-1)", "START", "END"}, func(c store.KeyCredential) []string {
					return []string{c.KeyID, c.DisplayName, hex.EncodeToString(c.CustomKeyIdentifier), formatTime(c.StartDateTime), formatTime(c.EndDateTime)}
				})
			}),
		},
		newCredentialDeleteCommand(env, "cert", func(a *store.Application, keyID string) bool {
			n := len(a.KeyCredentials)
			a.KeyCredentials = slices.DeleteFunc(a.KeyCredentials, func(c store.KeyCredential) bool { return c.KeyID == keyID })
			return len(a.KeyCredentials) < n
		}),
	)
}

func newAppCertAddCommand(env *cliEnv) *cobra.Command {
	var file, name string
	c := &cobra.Command{
		Use:     "add <appId> --file cert.pem [--name NAME]",
		Short:   "Add an X.509 certificate (PEM or DER; the public certificate only)",
		Args:    exactArgs("appId"),
		PreRunE: requireFlags("file"),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(c.InOrStdin())
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return fmt.Errorf("--file: %w", err)
		}
		var cred store.KeyCredential
		var credErr error
		a, err := st.UpdateApplication(ctx, args[0], func(a store.Application) (store.Application, error) {
			cred, credErr = directory.AddCertificate(&a, data, name)
			return a, credErr
		})
		switch {
		case errors.Is(credErr, directory.ErrDuplicateCredential):
			return fmt.Errorf("app %s: %w", args[0], credErr)
		case credErr != nil:
			return usageError{fmt.Errorf("--file %s: %w", file, credErr)}
		case err != nil:
			return objectError("app", args[0], err)
		}
		return printObject(env, newKeyCredentialView(cred), fmt.Sprintf("Added a certificate to app %s (%s):", a.AppID, a.DisplayName),
			field{"keyId", cred.KeyID},
			field{"displayName", cred.DisplayName},
			field{"thumbprint (SHA-1)", hex.EncodeToString(cred.CustomKeyIdentifier)},
			field{"startDateTime", formatTime(cred.StartDateTime)},
			field{"endDateTime", formatTime(cred.EndDateTime)},
		)
	})
	f := c.Flags()
	f.StringVar(&file, "file", "", "certificate file, PEM or DER (- for standard input)")
	f.StringVar(&name, "name", "", "displayName (default: CN=<subject common name>)")
	return c
}

// newCredentialDeleteCommand makes `app secret delete` and `app cert delete`:
// remove drops the credential with keyID from the app and reports whether it
// was there.
func newCredentialDeleteCommand(env *cliEnv, kind string, remove func(a *store.Application, keyID string) bool) *cobra.Command {
	return &cobra.Command{
		Use:   "delete <appId> <keyId>",
		Short: "Delete a " + kind + " by its keyId",
		Args:  exactArgs("appId", "keyId"),
		RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
			appID, keyID := args[0], args[1]
			errNoCredential := fmt.Errorf("%s %s of app %s: not found", kind, keyID, appID)
			a, err := st.UpdateApplication(ctx, appID, func(a store.Application) (store.Application, error) {
				if !remove(&a, keyID) {
					return a, errNoCredential
				}
				return a, nil
			})
			switch {
			case errors.Is(err, errNoCredential):
				return errNoCredential
			case err != nil:
				return objectError("app", appID, err)
			}
			return env.print(map[string]string{"appId": a.AppID, "keyId": keyID}, func(w io.Writer) {
				fmt.Fprintf(w, "Deleted %s %s of app %s (%s).\n", kind, keyID, a.AppID, a.DisplayName)
			})
		}),
	}
}
