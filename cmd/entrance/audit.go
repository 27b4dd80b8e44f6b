package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/store"
)

// newAuditCommand: `entrance audit list|export` — the log of administrative
// changes (admin commands, `entrance apply`, directory files applied by a
// server as it starts).
func newAuditCommand(env *cliEnv) *cobra.Command {
	var since string
	var limit int
	list := &cobra.Command{
		Use:   "list [--since 24h|RFC3339] [--limit N]",
		Short: "List administrative changes, newest first: who, when, what (-o json adds before and after)",
		Args:  exactArgs(),
	}
	list.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		if limit <= 0 {
			return usageError{fmt.Errorf("audit list: --limit %d: want a positive number", limit)}
		}
		f, err := auditFilter(since, limit)
		if err != nil {
			return err
		}
		entries, err := st.ListAuditEntries(ctx, f)
		if err != nil {
			return err
		}
		return printList(env, entries, func(e store.AuditEntry) store.AuditEntry { return e },
			[]string{"TIME", "ACTOR", "ACTION", "KIND", "OBJECT", "SOURCE"}, func(e store.AuditEntry) []string {
				return []string{formatTime(e.Time), e.Actor, e.Action, e.Kind, e.ObjectID, orDash(e.Source)}
			})
	})
	list.Flags().IntVar(&limit, "limit", 100, "at most this many entries")

	export := &cobra.Command{
		Use:   "export [--since 24h|RFC3339]",
		Short: "Write the audit log as JSON lines, oldest first, for a log pipeline or an archive",
		Args:  exactArgs(),
	}
	export.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		f, err := auditFilter(since, math.MaxInt32)
		if err != nil {
			return err
		}
		entries, err := st.ListAuditEntries(ctx, f)
		if err != nil {
			return err
		}
		slices.Reverse(entries)
		return writeJSONLines(env.stdout, entries)
	})
	for _, c := range []*cobra.Command{list, export} {
		c.Flags().StringVar(&since, "since", "", "only changes after this: a duration back from now (24h, 7d) or an RFC 3339 time")
	}
	return groupCommand("audit", "Read the log of administrative changes", list, export)
}

func auditFilter(since string, limit int) (store.AuditFilter, error) {
	f := store.AuditFilter{Limit: limit}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			return f, usageError{fmt.Errorf("--since %q: %w", since, err)}
		}
		f.Since = t
	}
	return f, nil
}

// writeJSONLines writes one JSON object per line (the JSON Lines format).
func writeJSONLines[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}
