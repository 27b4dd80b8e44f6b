package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

// Service principals: an application's instance in one tenant. `app create`
// makes the one in the home tenant; `sp create` adds a multi-tenant app to
// another tenant, as admin consent does in Entra.

func newSPCommand(env *cliEnv) *cobra.Command {
	var tenant string
	c := groupCommand("sp", "Create, list, show and delete service principals of a tenant (--tenant)",
		newSPCreateCommand(env, &tenant),
		&cobra.Command{
			Use:   "list --tenant T",
			Short: "List the service principals of a tenant",
			Args:  exactArgs(),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
				t, err := resolveTenant(ctx, st, tenant)
				if err != nil {
					return err
				}
				sps, err := st.ListServicePrincipals(ctx, t.ID)
				if err != nil {
					return err
				}
				return printList(env, sps, identity, []string{"ID", "APP ID", "APP DISPLAY NAME", "APP OWNER TENANT"}, func(sp store.ServicePrincipal) []string {
					return []string{sp.ID, sp.AppID, sp.AppDisplayName, sp.AppOwnerOrganizationID}
				})
			}),
		},
		&cobra.Command{
			Use:   "show --tenant T <id|appId>",
			Short: "Show a service principal",
			Args:  exactArgs("id|appId"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				sp, err := findSP(ctx, st, tenant, args[0])
				if err != nil {
					return err
				}
				return printSP(env, sp, "")
			}),
		},
		&cobra.Command{
			Use:   "delete --tenant T <id|appId>",
			Short: "Delete a service principal (and its assignments and grants)",
			Args:  exactArgs("id|appId"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				sp, err := findSP(ctx, st, tenant, args[0])
				if err != nil {
					return err
				}
				if err := st.DeleteServicePrincipal(ctx, sp.TenantID, sp.ID); err != nil {
					return objectError("service principal", args[0], err)
				}
				return printSP(env, sp, "Deleted service principal:")
			}),
		},
	)
	return addTenantFlag(c, &tenant)
}

func newSPCreateCommand(env *cliEnv, tenant *string) *cobra.Command {
	var appID string
	c := &cobra.Command{
		Use:     "create --tenant T --app-id APPID",
		Short:   "Create the service principal of an application in a tenant",
		Args:    exactArgs(),
		PreRunE: requireFlags("app-id"),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		t, err := resolveTenant(ctx, st, *tenant)
		if err != nil {
			return err
		}
		a, err := st.GetApplicationByAppID(ctx, appID)
		if err != nil {
			return objectError("app", appID, err)
		}
		sp := directory.NewServicePrincipal(t.ID, a, time.Now())
		if err := directory.ValidateServicePrincipal(sp, a, t); err != nil {
			return invalid("service principal", err)
		}
		if err := st.CreateServicePrincipal(ctx, sp); err != nil {
			return objectError("service principal of app", a.AppID+" in tenant "+t.ID, err)
		}
		return printSP(env, sp, "Created service principal:")
	})
	c.Flags().StringVar(&appID, "app-id", "", "appId of the application")
	return c
}

// findSP resolves --tenant and finds a service principal in it by its object
// id, else by its application's appId (both are GUIDs).
func findSP(ctx context.Context, st store.Directory, tenant, key string) (store.ServicePrincipal, error) {
	t, err := resolveTenant(ctx, st, tenant)
	if err != nil {
		return store.ServicePrincipal{}, err
	}
	id := strings.ToLower(key)
	sp, err := st.GetServicePrincipal(ctx, t.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		sp, err = st.GetServicePrincipalByAppID(ctx, t.ID, id)
	}
	return sp, objectError("service principal", key, err)
}

func printSP(env *cliEnv, sp store.ServicePrincipal, headline string) error {
	return printObject(env, sp, headline,
		field{"id", sp.ID},
		field{"appId", sp.AppID},
		field{"appDisplayName", sp.AppDisplayName},
		field{"appOwnerOrganizationId", sp.AppOwnerOrganizationID},
		field{"tenantId", sp.TenantID},
		field{"accountEnabled", fmt.Sprint(sp.AccountEnabled)},
		field{"appRoleAssignmentRequired", fmt.Sprint(sp.AppRoleAssignmentRequired)},
		field{"createdDateTime", formatTime(sp.CreatedDateTime)},
	)
}
