package main

// The admin commands (tenant, user, group, app, sp) work on the database
// directly, like `entrance apply`: no server needs to run. Every object is
// checked by internal/directory before it is written, so the CLI and the
// directory file judge input the same way. This file holds what the commands
// share; admin_<kind>.go hold the commands.
//
// Exit codes: 2 when the call itself is wrong (flags, arguments, a value that
// breaks a directory rule), 1 when the directory refuses it as it stands (not
// found, already exists) or the database fails.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// newAdminCommands returns the directory admin commands for the root command.
func newAdminCommands(env *cliEnv) []*cobra.Command {
	return []*cobra.Command{
		newTenantCommand(env),
		newUserCommand(env),
		newGroupCommand(env),
		newAppCommand(env),
		newSPCommand(env),
	}
}

// adminFunc is the body of an admin command, run with the store open.
type adminFunc func(ctx context.Context, st store.Store, args []string) error

// runAdmin makes a command's RunE: it checks --output before opening the
// store, so a bad format fails before anything is written, then runs fn with
// the store open.
func runAdmin(env *cliEnv, fn adminFunc) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		switch env.output {
		case "text", "", "json":
		default:
			return usageError{fmt.Errorf("--output %q: want text or json", env.output)}
		}
		ctx := cmd.Context()
		return env.withStore(ctx, func(st store.Store) error { return fn(ctx, st, args) })
	}
}

// groupCommand is a command that only holds subcommands. Called without a
// known subcommand it is a usage error (cobra would print help and exit 0).
func groupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("%s: missing subcommand (see %s --help)", commandName(cmd), cmd.CommandPath())}
			}
			return usageError{fmt.Errorf("%s: unknown subcommand %q (see %s --help)", commandName(cmd), args[0], cmd.CommandPath())}
		},
	}
	c.AddCommand(subs...)
	return c
}

// exactArgs is cobra.ExactArgs with names for the arguments, as a usage error.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == len(names):
		case len(names) == 0:
			return usageError{fmt.Errorf("%s takes no arguments, got %q", commandName(cmd), args)}
		default:
			return usageError{fmt.Errorf("%s: want <%s>, got %d argument(s)", commandName(cmd), strings.Join(names, "> <"), len(args))}
		}
		return nil
	}
}

// commandName is the command's path without the program name ("app secret
// add"), for error messages that main prefixes with "entrance: ".
func commandName(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// requireFlags is a PreRunE that fails unless every named flag was given,
// before the store is opened. (cobra's MarkFlagRequired would fail with a
// plain error, exit code 1.)
func requireFlags(names ...string) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		for _, n := range names {
			if !cmd.Flags().Changed(n) {
				return usageError{fmt.Errorf("%s: --%s is required", commandName(cmd), n)}
			}
		}
		return nil
	}
}

// addTenantFlag registers --tenant on c for its subcommands (persistent, so
// it may come before or after the subcommand's name).
func addTenantFlag(c *cobra.Command, p *string) *cobra.Command {
	c.PersistentFlags().StringVar(p, "tenant", "", "tenant: its GUID or a verified domain")
	return c
}

// resolveTenant finds the tenant named by a GUID or verified domain.
func resolveTenant(ctx context.Context, st store.Directory, seg string) (store.Tenant, error) {
	if seg == "" {
		return store.Tenant{}, usageError{errors.New("--tenant is required (a tenant GUID or verified domain)")}
	}
	t, err := directory.ResolveTenant(ctx, st, seg)
	switch {
	case errors.Is(err, directory.ErrTenantAlias):
		return t, usageError{fmt.Errorf("tenant %q is an alias for many tenants; give a tenant GUID or verified domain", seg)}
	case errors.Is(err, store.ErrNotFound):
		return t, fmt.Errorf("tenant %s: not found", seg)
	}
	return t, err
}

// objectError turns the store's errors about one object into messages that
// name it: "app 6e74...: not found". Other errors pass through.
func objectError(kind, key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s %s: not found", kind, key)
	case errors.Is(err, store.ErrAlreadyExists):
		return fmt.Errorf("%s %s: already exists", kind, key)
	}
	return fmt.Errorf("%s %s: %w", kind, key, err)
}

// invalid reports a rule broken by the given values, one line per property
// ("application: web.redirectUris[0]: ...") as a usage error.
func invalid(kind string, err error) error {
	if err == nil {
		return nil
	}
	var es directory.Errors
	if !errors.As(err, &es) {
		return usageError{fmt.Errorf("%s: %w", kind, err)}
	}
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = kind + ": " + e.Error()
	}
	return usageError{errors.New(strings.Join(lines, "\n"))}
}

// byIDOrName looks an object up by id when key is a GUID, else by name.
func byIDOrName[T any](key string, byID, byName func(string) (T, error)) (T, error) {
	if ids.IsGUID(key) {
		return byID(strings.ToLower(key))
	}
	return byName(key)
}

// printList prints items as a JSON array of views, or as a table.
func printList[T, V any](env *cliEnv, items []T, view func(T) V, header []string, row func(T) []string) error {
	views := make([]V, 0, len(items))
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		views = append(views, view(it))
		rows = append(rows, row(it))
	}
	return env.print(views, func(w io.Writer) {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
	})
}

// field is one "name: value" line of an object printed as text.
type field struct{ name, value string }

// printObject prints v as JSON, or its fields as aligned lines after an
// optional headline.
func printObject(env *cliEnv, v any, headline string, fields ...field) error {
	return env.print(v, func(w io.Writer) {
		if headline != "" {
			fmt.Fprintln(w, headline)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
		for _, f := range fields {
			if f.value == "" {
				f.value = "-"
			}
			fmt.Fprintf(tw, "%s:\t%s\n", f.name, f.value)
		}
		tw.Flush()
	})
}

// formatTime prints a time in UTC, or "-" when unset.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// joinList joins values for text output, "-" when there are none.
func joinList(vs []string) string {
	if len(vs) == 0 {
		return "-"
	}
	return strings.Join(vs, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
