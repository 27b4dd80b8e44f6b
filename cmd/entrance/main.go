// Command entrance is an identity provider that speaks the Microsoft identity
// platform's protocol. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand(os.Stdout, os.Stderr, os.LookupEnv).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "entrance:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ error }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// newRootCommand builds the whole command tree. Output goes to stdout/stderr
// and the environment is read through getenv, so tests can run commands
// in-process.
func newRootCommand(stdout, stderr io.Writer, getenv func(string) (string, bool)) *cobra.Command {
	root := &cobra.Command{
		Use:           "entrance",
		Short:         "An identity provider that speaks the Microsoft identity platform's protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	env := newCLIEnv(stdout, getenv)
	env.bindAdminFlags(root)
	root.AddCommand(
		newServeCommand(env),
		newDevCommand(env),
		newApplyCommand(env),
		newKeysCommand(env),
		newBenchCommand(env),
		newMasterKeyCommand(env),
		newSignInsCommand(env),
		newAuditCommand(env),
	)
	root.AddCommand(newAdminCommands(env)...)
	return root
}
