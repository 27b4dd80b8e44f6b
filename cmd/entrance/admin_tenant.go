package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

func newTenantCommand(env *cliEnv) *cobra.Command {
	return groupCommand("tenant", "Create, list, show and delete tenants",
		newTenantCreateCommand(env),
		&cobra.Command{
			Use:   "list",
			Short: "List tenants",
			Args:  exactArgs(),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
				ts, err := st.ListTenants(ctx)
				if err != nil {
					return err
				}
				return printList(env, ts, identity, []string{"ID", "TYPE", "NAME", "DOMAINS"}, func(t store.Tenant) []string {
					return []string{t.ID, t.Type, t.DisplayName, strings.Join(t.Domains, ",")}
				})
			}),
		},
		&cobra.Command{
			Use:   "show <id|domain>",
			Short: "Show a tenant",
			Args:  exactArgs("id|domain"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				t, err := resolveTenant(ctx, st, args[0])
				if err != nil {
					return err
				}
				return printTenant(env, t, "")
			}),
		},
		&cobra.Command{
			Use:   "delete <id|domain>",
			Short: "Delete a tenant and everything in it",
			Args:  exactArgs("id|domain"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				t, err := resolveTenant(ctx, st, args[0])
				if err != nil {
					return err
				}
				if err := st.DeleteTenant(ctx, t.ID); err != nil {
					return objectError("tenant", t.ID, err)
				}
				return printTenant(env, t, "Deleted tenant (with its users, groups, applications and service principals):")
			}),
		},
	)
}

func newTenantCreateCommand(env *cliEnv) *cobra.Command {
	var id, name, typ string
	var domains []string
	c := &cobra.Command{
		Use:     "create --name NAME --domain DOMAIN [--domain ...] [--id GUID] [--type aad|b2c]",
		Short:   "Create a tenant",
		Args:    exactArgs(),
		PreRunE: requireFlags("name", "domain"),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		t := directory.NewTenant(name, domains, time.Now())
		t.Type = typ
		if id != "" {
			t.ID = strings.ToLower(id)
		}
		if err := directory.ValidateTenant(t); err != nil {
			return invalid("tenant", err)
		}
		if err := st.CreateTenant(ctx, t); err != nil {
			return objectError("tenant", fmt.Sprintf("%s (%s)", t.ID, strings.Join(t.Domains, ", ")), err)
		}
		return printTenant(env, t, "Created tenant:")
	})
	f := c.Flags()
	f.StringVar(&id, "id", "", "tenant GUID (default: a new one)")
	f.StringVar(&name, "name", "", "display name")
	f.StringSliceVar(&domains, "domain", nil, "verified domain, such as contoso.onmicrosoft.com (repeatable)")
	f.StringVar(&typ, "type", store.TenantTypeAAD, "tenant type: aad (Entra ID) or b2c (Azure AD B2C)")
	return c
}

func printTenant(env *cliEnv, t store.Tenant, headline string) error {
	return printObject(env, t, headline,
		field{"id", t.ID},
		field{"displayName", t.DisplayName},
		field{"type", t.Type},
		field{"domains", joinList(t.Domains)},
		field{"createdDateTime", formatTime(t.CreatedDateTime)},
	)
}
