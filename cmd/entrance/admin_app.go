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

func newAppCommand(env *cliEnv) *cobra.Command {
	var tenant string
	list := &cobra.Command{
		Use:   "list [--tenant T]",
		Short: "List app registrations (of one tenant, or of all)",
		Args:  exactArgs(),
		RunE: runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
			var ts []store.Tenant
			if tenant == "" {
				var err error
				if ts, err = st.ListTenants(ctx); err != nil {
					return err
				}
			} else {
				t, err := resolveTenant(ctx, st, tenant)
				if err != nil {
					return err
				}
				ts = []store.Tenant{t}
			}
			var apps []store.Application
			for _, t := range ts {
				as, err := st.ListApplications(ctx, t.ID)
				if err != nil {
					return err
				}
				apps = append(apps, as...)
			}
			return printList(env, apps, newApplicationView, []string{"APP ID", "DISPLAY NAME", "AUDIENCE", "TENANT"}, func(a store.Application) []string {
				return []string{a.AppID, a.DisplayName, a.SignInAudience, a.TenantID}
			})
		}),
	}
	addTenantFlag(list, &tenant)
	return groupCommand("app", "Manage app registrations, their client secrets and certificates",
		newAppCreateCommand(env),
		list,
		&cobra.Command{
			Use:   "show <appId>",
			Short: "Show an app registration",
			Args:  exactArgs("appId"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				a, err := st.GetApplicationByAppID(ctx, args[0])
				if err != nil {
					return objectError("app", args[0], err)
				}
				return printApp(env, a, "")
			}),
		},
		&cobra.Command{
			Use:   "delete <appId>",
			Short: "Delete an app registration and its service principals in every tenant",
			Args:  exactArgs("appId"),
			RunE: runAdmin(env, func(ctx context.Context, st store.Store, args []string) error {
				a, err := st.GetApplicationByAppID(ctx, args[0])
				if err == nil {
					err = st.DeleteApplication(ctx, a.AppID)
				}
				if err != nil {
					return objectError("app", args[0], err)
				}
				return printApp(env, a, "Deleted app registration (and its service principals):")
			}),
		},
		newAppSecretCommand(env),
		newAppCertCommand(env),
	)
}

func newAppCreateCommand(env *cliEnv) *cobra.Command {
	var (
		tenant, name, appID, audience, logoutURL             string
		web, spa, publicClient, identifierURIs               []string
		tokenVersion                                         int
		idTokenIssuance, accessTokenIssuance, fallbackPublic bool
	)
	c := &cobra.Command{
		Use:     "create --tenant T --name NAME [flags]",
		Short:   "Register an application, with its service principal in the home tenant",
		Args:    exactArgs(),
		PreRunE: requireFlags("tenant", "name"),
	}
	c.RunE = runAdmin(env, func(ctx context.Context, st store.Store, _ []string) error {
		t, err := resolveTenant(ctx, st, tenant)
		if err != nil {
			return err
		}
		now := time.Now()
		a := directory.NewApplication(t.ID, name, now)
		if appID != "" {
			a.AppID = strings.ToLower(appID)
		}
		a.SignInAudience = audience
		a.Web.RedirectURIs, a.Web.LogoutURL = web, logoutURL
		a.Web.ImplicitGrantSettings = store.ImplicitGrantSettings{EnableIDTokenIssuance: idTokenIssuance, EnableAccessTokenIssuance: accessTokenIssuance}
		a.SPA.RedirectURIs = spa
		a.PublicClient.RedirectURIs = publicClient
		a.IsFallbackPublicClient = fallbackPublic
		a.IdentifierURIs = identifierURIs
		if c.Flags().Changed("access-token-version") {
			a.API.RequestedAccessTokenVersion = &tokenVersion
		}
		directory.NormalizeApplication(&a)
		if err := directory.ValidateApplication(a, t); err != nil {
			return invalid("application", err)
		}
		// Like Entra, registering an app instantiates it in its home tenant.
		sp := directory.NewServicePrincipal(t.ID, a, now)
		if err := directory.ValidateServicePrincipal(sp, a, t); err != nil {
			return invalid("service principal", err)
		}
		err = st.InTx(ctx, func(tx store.Directory) error {
			if err := tx.CreateApplication(ctx, a); err != nil {
				return objectError("app", a.AppID, err)
			}
			return objectError("service principal of app", a.AppID, tx.CreateServicePrincipal(ctx, sp))
		})
		if err != nil {
			return err
		}
		return printApp(env, a, fmt.Sprintf("Created app registration (service principal %s in tenant %s):", sp.ID, t.ID))
	})
	addTenantFlag(c, &tenant)
	f := c.Flags()
	f.StringVar(&name, "name", "", "displayName")
	f.StringVar(&appID, "app-id", "", "appId (client id) GUID (default: a new one)")
	f.StringVar(&audience, "audience", store.AudienceMyOrg, "signInAudience: AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount or PersonalMicrosoftAccount")
	f.StringArrayVar(&web, "web-redirect-uri", nil, "web.redirectUris entry (repeatable)")
	f.StringArrayVar(&spa, "spa-redirect-uri", nil, "spa.redirectUris entry (repeatable)")
	f.StringArrayVar(&publicClient, "public-client-redirect-uri", nil, "publicClient.redirectUris entry (repeatable)")
	f.StringVar(&logoutURL, "logout-url", "", "web.logoutUrl (front-channel logout)")
	f.StringArrayVar(&identifierURIs, "identifier-uri", nil, "identifierUris entry, such as api://tasks (repeatable)")
	f.IntVar(&tokenVersion, "access-token-version", 0, "api.requestedAccessTokenVersion: 1 or 2 (default: unset, which means 1)")
	f.BoolVar(&idTokenIssuance, "enable-id-token-issuance", false, "web.implicitGrantSettings.enableIdTokenIssuance")
	f.BoolVar(&accessTokenIssuance, "enable-access-token-issuance", false, "web.implicitGrantSettings.enableAccessTokenIssuance")
	f.BoolVar(&fallbackPublic, "fallback-public-client", false, "isFallbackPublicClient (treat as a public client when undeterminable)")
	return c
}

func printApp(env *cliEnv, a store.Application, headline string) error {
	tokenVersion := "-"
	if v := a.API.RequestedAccessTokenVersion; v != nil {
		tokenVersion = fmt.Sprint(*v)
	}
	return printObject(env, newApplicationView(a), headline,
		field{"appId", a.AppID},
		field{"id", a.ID},
		field{"tenantId", a.TenantID},
		field{"displayName", a.DisplayName},
		field{"signInAudience", a.SignInAudience},
		field{"web.redirectUris", joinList(a.Web.RedirectURIs)},
		field{"web.logoutUrl", a.Web.LogoutURL},
		field{"web.implicitGrantSettings", fmt.Sprintf("enableIdTokenIssuance=%t enableAccessTokenIssuance=%t",
			a.Web.ImplicitGrantSettings.EnableIDTokenIssuance, a.Web.ImplicitGrantSettings.EnableAccessTokenIssuance)},
		field{"spa.redirectUris", joinList(a.SPA.RedirectURIs)},
		field{"publicClient.redirectUris", joinList(a.PublicClient.RedirectURIs)},
		field{"isFallbackPublicClient", fmt.Sprint(a.IsFallbackPublicClient)},
		field{"identifierUris", joinList(a.IdentifierURIs)},
		field{"api.requestedAccessTokenVersion", tokenVersion},
		field{"passwordCredentials", fmt.Sprintf("%d (see app secret list)", len(a.PasswordCredentials))},
		field{"keyCredentials", fmt.Sprintf("%d (see app cert list)", len(a.KeyCredentials))},
		field{"createdDateTime", formatTime(a.CreatedDateTime)},
	)
}
