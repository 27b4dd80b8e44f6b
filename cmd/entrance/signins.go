package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// newSignInsCommand is `entrance signins list`: the sign-in log, newest
// first, as the Entra admin center's "Sign-in logs" shows it; and `entrance
// signins export`, the log as JSON lines.
func newSignInsCommand(env *cliEnv) *cobra.Command {
	var tenant, user, app, since string
	var limit int
	list := &cobra.Command{
		Use:   "list --tenant T [--user UPN|id] [--app appId] [--since 24h|RFC3339] [--limit N]",
		Short: "List sign-in attempts (successes and failures with their AADSTS codes), newest first",
		Args:  exactArgs(),
	}
	list.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		f := store.SignInFilter{Limit: limit}
		if limit <= 0 {
			return usageError{fmt.Errorf("signins list: --limit %d: want a positive number", limit)}
		}
		if since != "" {
			t, err := parseSince(since, time.Now())
			if err != nil {
				return usageError{fmt.Errorf("signins list: --since %q: %w", since, err)}
			}
			f.Since = t
		}
		if app != "" {
			if !ids.IsGUID(app) {
				return usageError{fmt.Errorf("signins list: --app %q: want an appId (GUID)", app)}
			}
			f.AppID = strings.ToLower(app)
		}
		t, err := resolveTenant(ctx, st, tenant)
		if err != nil {
			return err
		}
		f.TenantID = t.ID
		// A username that is no user is still worth listing: failed attempts
		// with unknown usernames are logged under what was typed.
		byUPN := ""
		if user != "" {
			u, err := byIDOrName(user,
				func(id string) (store.User, error) { return st.GetUser(ctx, t.ID, id) },
				func(upn string) (store.User, error) { return st.GetUserByUPN(ctx, t.ID, upn) })
			switch {
			case err == nil:
				f.UserID = u.ID
			case errors.Is(err, store.ErrNotFound):
				byUPN = user
			default:
				return err
			}
		}
		entries, err := st.ListSignIns(ctx, f)
		if err != nil {
			return err
		}
		if byUPN != "" {
			kept := entries[:0]
			for _, e := range entries {
				if strings.EqualFold(e.UserPrincipalName, byUPN) {
					kept = append(kept, e)
				}
			}
			entries = kept
		}
		return printList(env, entries, func(s store.SignIn) store.SignIn { return s },
			[]string{"TIME", "USER", "APP", "IP ADDRESS", "RESULT"}, func(s store.SignIn) []string {
				result := "Success"
				if s.ErrorCode != 0 {
					result = "AADSTS" + strconv.Itoa(s.ErrorCode) + " " + s.FailureReason
				}
				appName := s.AppDisplayName
				if appName == "" {
					appName = s.AppID
				}
				return []string{formatTime(s.CreatedDateTime), orDash(s.UserPrincipalName), orDash(appName), orDash(s.IPAddress), result}
			})
	})
	fl := list.Flags()
	fl.StringVar(&user, "user", "", "only this user: UPN or object id (an unknown UPN matches what was typed)")
	fl.StringVar(&app, "app", "", "only sign-ins to this app (appId)")
	fl.StringVar(&since, "since", "", "only sign-ins after this: a duration back from now (24h, 7d) or an RFC 3339 time")
	fl.IntVar(&limit, "limit", 100, "at most this many entries")
	var exportSince string
	export := &cobra.Command{
		Use:   "export [--tenant T] [--since 24h|RFC3339]",
		Short: "Write the sign-in log as JSON lines, oldest first (every tenant unless --tenant)",
		Args:  exactArgs(),
	}
	export.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		f := store.SignInFilter{Limit: math.MaxInt32}
		if exportSince != "" {
			t, err := parseSince(exportSince, time.Now())
			if err != nil {
				return usageError{fmt.Errorf("signins export: --since %q: %w", exportSince, err)}
			}
			f.Since = t
		}
		if tenant != "" {
			t, err := resolveTenant(ctx, st, tenant)
			if err != nil {
				return err
			}
			f.TenantID = t.ID
		}
		entries, err := st.ListSignIns(ctx, f)
		if err != nil {
			return err
		}
		slices.Reverse(entries)
		return writeJSONLines(env.stdout, entries)
	})
	export.Flags().StringVar(&exportSince, "since", "", "only sign-ins after this: a duration back from now (24h, 7d) or an RFC 3339 time")
	c := groupCommand("signins", "Read the sign-in log", list, export)
	return addTenantFlag(c, &tenant)
}

// parseSince reads --since: a Go duration, a number of days ("7d"), or an
// RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a duration such as 24h or 7d, or an RFC 3339 time such as 2026-01-02T15:04:05Z")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
