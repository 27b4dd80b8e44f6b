package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/server"
)

// newServeCommand: `entrance serve` — the production server.
func newServeCommand(env *cliEnv) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the identity provider (https by default)",
		Args:  cobra.NoArgs,
	}
	flags := config.Bind(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := flags.Load(env.getenv)
		if err != nil {
			return usageError{err}
		}
		return runServer(cmd, cfg)
	}
	return cmd
}

// runServer starts the server and blocks until the command's context ends
// (SIGINT/SIGTERM), then shuts down gracefully.
func runServer(cmd *cobra.Command, cfg config.Config) error {
	started := time.Now()
	logger := server.NewLogger(cmd.ErrOrStderr(), cfg.LogFormat, cfg.LogLevel)
	logger.Info("garbage collector", "gc_percent", server.TuneGC())
	srv, err := server.New(cmd.Context(), cfg, logger)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	logger.Info("entrance ready", "public_url", cfg.PublicURL, "listen", cfg.Listen, "startup", time.Since(started).Round(time.Millisecond))
	return srv.Run(cmd.Context())
}
