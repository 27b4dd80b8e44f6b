package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Microsoft Graph as every Entra tenant sees it. Entrance keeps a stand-in
// that is not stored: the application below is the same in every tenant, and
// its service principal is created in a tenant on first consent (as Entra
// does for first-party resources), so grants to it are ordinary records.
const (
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	GraphURI   = "https://graph.microsoft.com"
	// MicrosoftServicesTenantID owns Microsoft's first-party applications
	// (the appOwnerOrganizationId of Graph's service principals).
	MicrosoftServicesTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
)

// The OpenID Connect scopes. Entra hosts them on Microsoft Graph: they are
// Graph delegated permissions, consented to and stored like User.Read.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// GraphApplication returns Entrance's stand-in for Microsoft Graph: Graph's
// appId, identifier URI and permission ids, the OpenID Connect scopes and
// User.Read (all user-consentable), the User.Read.All app role, and v1.0
// access tokens like Graph's. Each call returns a fresh copy.
func GraphApplication() store.Application {
	scope := func(id, value, adminName, adminDesc, userName, userDesc string) store.PermissionScope {
		return store.PermissionScope{ID: id, Value: value, Type: ScopeTypeUser, IsEnabled: true,
			AdminConsentDisplayName: adminName, AdminConsentDescription: adminDesc,
			UserConsentDisplayName: userName, UserConsentDescription: userDesc}
	}
	a := store.Application{
		ID:             GraphAppID,
		AppID:          GraphAppID,
		TenantID:       MicrosoftServicesTenantID,
		DisplayName:    "Microsoft Graph",
		SignInAudience: store.AudienceMultipleOrgs,
		IdentifierURIs: []string{GraphURI},
		API: store.APIApplication{OAuth2PermissionScopes: []store.PermissionScope{
			scope("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read",
				"Sign in and read user profile",
				"Allows users to sign-in to the app, and allows the app to read the profile of signed-in users. It also allows the app to read basic company information of signed-in users.",
				"Sign you in and read your profile",
				"Allows you to sign in to the app with your organizational account and let the app read your profile. It also allows the app to read basic company information."),
			scope("37f7f235-527c-4136-accd-4a02d197296e", ScopeOpenID,
				"Sign users in",
				"Allows users to sign in to the app with their work or school accounts and allows the app to see basic user profile information.",
				"Sign you in",
				"Allows you to sign in to the app with your work or school account and allows the app to read your basic profile information."),
			scope("14dad69e-099b-42c9-810b-d002981feec1", ScopeProfile,
				"View users' basic profile",
				"Allows the app to see your users' basic profile (e.g., name, picture, user name, email address)",
				"View your basic profile",
				"Allows the app to see your basic profile (e.g., name, picture, user name, email address)"),
			scope("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0", ScopeEmail,
				"View users' email address",
				"Allows the app to read your users' primary email address",
				"View your email address",
				"Allows the app to read your primary email address"),
			scope("7427e0e9-2fba-42fe-b0c0-848c9e6a8182", ScopeOfflineAccess,
				"Maintain access to data you have given it access to",
				"Allows the app to see and update the data you gave it access to, even when users are not currently using the app. This does not give the app any additional permissions.",
				"Maintain access to data you have given it access to",
				"Allows the app to see and update the data you gave it access to, even when you are not currently using the app. This does not give the app any additional permissions."),
		}},
		AppRoles: []store.AppRole{{
			ID: "df021288-bdef-4463-88db-98f22de89214", Value: "User.Read.All", DisplayName: "Read all users' full profiles",
			Description:        "Allows the app to read user profiles without a signed in user.",
			AllowedMemberTypes: []string{AllowedMemberApplication}, IsEnabled: true,
		}},
	}
	NormalizeApplication(&a)
	return a
}

// IsGraph reports whether appIDOrURI names Microsoft Graph: its appId or its
// identifier URI, with or without a trailing slash.
func IsGraph(appIDOrURI string) bool {
	s := strings.TrimSpace(appIDOrURI)
	return strings.EqualFold(s, GraphAppID) || strings.EqualFold(strings.TrimSuffix(s, "/"), GraphURI)
}

// LookupApplication finds the application an appId or an App ID URI names:
// the built-in Graph first, then the store (by appId for a GUID, else by
// identifier URI). Entra tolerates a trailing slash on an App ID URI either
// way (v1 clients such as the Azure CLI send https://management.core.windows.net/),
// so a URI that is not found is tried again with the slash toggled. An unknown
// application returns an error wrapping store.ErrNotFound.
func LookupApplication(ctx context.Context, st store.Directory, appIDOrURI string) (store.Application, error) {
	s := strings.TrimSpace(appIDOrURI)
	switch {
	case s == "":
		return store.Application{}, fmt.Errorf("application \"\": %w", store.ErrNotFound)
	case IsGraph(s):
		return GraphApplication(), nil
	case ids.IsGUID(s):
		return st.GetApplicationByAppID(ctx, strings.ToLower(s))
	}
	a, err := st.GetApplicationByIdentifierURI(ctx, s)
	if errors.Is(err, store.ErrNotFound) {
		other := s + "/"
		if strings.HasSuffix(s, "/") {
			other = strings.TrimSuffix(s, "/")
		}
		if other != "" && other != s {
			a, err = st.GetApplicationByIdentifierURI(ctx, other)
		}
	}
	return a, err
}

// ErrSingleTenantApp: the app is single-tenant (AzureADMyOrg) and the tenant
// is not its home, so it cannot be instantiated there.
var ErrSingleTenantApp = errors.New("the application is single-tenant and cannot have a service principal outside its home tenant")

// EnsureServicePrincipal returns app's service principal in tenantID,
// creating it when there is none — what Entra does when a user or admin first
// consents to a multi-tenant app or to a Microsoft resource such as Graph.
// Concurrent callers get the same one.
func EnsureServicePrincipal(ctx context.Context, st store.Directory, tenantID string, app store.Application) (store.ServicePrincipal, error) {
	sp, err := st.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
	if !errors.Is(err, store.ErrNotFound) {
		return sp, err
	}
	if app.SignInAudience == store.AudienceMyOrg && app.TenantID != tenantID {
		return store.ServicePrincipal{}, fmt.Errorf("application %s in tenant %s: %w", app.AppID, tenantID, ErrSingleTenantApp)
	}
	sp = NewServicePrincipal(tenantID, app, time.Now())
	switch err := st.CreateServicePrincipal(ctx, sp); {
	case errors.Is(err, store.ErrAlreadyExists):
		// Another request created it first; use that one.
		return st.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
	case err != nil:
		return store.ServicePrincipal{}, err
	}
	return sp, nil
}
