package directory

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

func TestGraphApplication(t *testing.T) {
	g := GraphApplication()
	if g.AppID != GraphAppID || g.IdentifierURIs[0] != GraphURI || g.API.RequestedAccessTokenVersion != nil {
		t.Errorf("Graph: %+v", g)
	}
	values := map[string]bool{}
	for _, s := range g.API.OAuth2PermissionScopes {
		if s.Type != ScopeTypeUser || !s.IsEnabled || s.UserConsentDisplayName == "" {
			t.Errorf("scope %s must be enabled and user-consentable with a display name", s.Value)
		}
		values[s.Value] = true
	}
	for _, v := range []string{"User.Read", ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess} {
		if !values[v] {
			t.Errorf("Graph lacks %s", v)
		}
	}
	g.API.OAuth2PermissionScopes[0].Value = "changed"
	if GraphApplication().API.OAuth2PermissionScopes[0].Value == "changed" {
		t.Error("GraphApplication shares its slices between calls")
	}
	for s, want := range map[string]bool{GraphAppID: true, "00000003-0000-0000-C000-000000000000": true,
		GraphURI: true, GraphURI + "/": true, "HTTPS://GRAPH.MICROSOFT.COM": true, "https://graph.microsoft.com/v1.0": false, "": false} {
		if IsGraph(s) != want {
			t.Errorf("IsGraph(%q) = %v", s, !want)
		}
	}
}

func TestLookupApplicationAndEnsureServicePrincipal(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	fabrikam := store.Tenant{ID: "11111111-2222-4333-8444-555555555555", DisplayName: "Fabrikam", Type: "aad", Domains: []string{"fabrikam.com"}}
	for _, tn := range []store.Tenant{contoso, fabrikam} {
		if err := st.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	api := testApp() // api://tasks, https://contoso.com/tasks, ...
	local := NewApplication(fabrikam.ID, "Fabrikam only", time.Now())
	for _, a := range []store.Application{api, local} {
		if err := st.CreateApplication(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for in, want := range map[string]string{
		api.AppID: api.AppID, "API://TASKS": api.AppID, "api://tasks/": api.AppID,
		"https://contoso.com/tasks": api.AppID, GraphURI + "/": GraphAppID, GraphAppID: GraphAppID,
	} {
		if got, err := LookupApplication(ctx, st, in); err != nil || got.AppID != want {
			t.Errorf("LookupApplication(%q) = %q, %v; want %q", in, got.AppID, err, want)
		}
	}
	for _, in := range []string{"api://nope", "11111111-1111-4111-8111-111111111111", "", "/"} {
		if _, err := LookupApplication(ctx, st, in); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("LookupApplication(%q): %v, want ErrNotFound", in, err)
		}
	}

	// Concurrent first consents create one service principal.
	var wg sync.WaitGroup
	sps := make([]store.ServicePrincipal, 4)
	errs := make([]error, 4)
	for i := range sps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sps[i], errs[i] = EnsureServicePrincipal(ctx, st, contoso.ID, GraphApplication())
		}()
	}
	wg.Wait()
	for i := range sps {
		if errs[i] != nil || sps[i].ID != sps[0].ID || sps[i].AppOwnerOrganizationID != MicrosoftServicesTenantID {
			t.Fatalf("EnsureServicePrincipal %d: %+v, %v", i, sps[i], errs[i])
		}
	}
	if list, _ := st.ListServicePrincipals(ctx, contoso.ID); len(list) != 1 {
		t.Errorf("%d service principals, want 1", len(list))
	}
	if _, err := EnsureServicePrincipal(ctx, st, contoso.ID, local); !errors.Is(err, ErrSingleTenantApp) {
		t.Errorf("single-tenant app in another tenant: %v", err)
	}
	if sp, err := EnsureServicePrincipal(ctx, st, fabrikam.ID, local); err != nil || sp.AppID != local.AppID {
		t.Errorf("home tenant: %+v, %v", sp, err)
	}
}
