package dirfile

import (
	"context"
	"testing"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// A file can pre-consent the built-in Graph resource's scopes (what Auth.js
// asks for: openid profile email User.Read) although Graph is not stored.
func TestApplyGrantsOnBuiltInGraph(t *testing.T) {
	st := storetest.NewSQLite(t)
	yaml := `tenants:
  - id: 8eaef023-2b34-4da1-9baa-8bc8c9d6a490
    displayName: Contoso
    domains: [contoso.onmicrosoft.com]
    applications:
      - appId: 6e74172b-be56-4843-9ff4-e66a39bb12e3
        displayName: Web app
    oauth2PermissionGrants:
      - {client: 6e74172b-be56-4843-9ff4-e66a39bb12e3, resource: ` + directory.GraphAppID + `, scope: "User.Read openid profile email", consentType: AllPrincipals}
`
	for i := 0; i < 2; i++ { // and idempotently
		if _, err := apply(t, st, yaml, fixedT0); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	sp, err := st.GetServicePrincipalByAppID(ctx, "8eaef023-2b34-4da1-9baa-8bc8c9d6a490", directory.GraphAppID)
	if err != nil {
		t.Fatalf("Graph's service principal was not created in the tenant: %v", err)
	}
	grants, err := st.ListOAuth2PermissionGrants(ctx, "8eaef023-2b34-4da1-9baa-8bc8c9d6a490")
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ResourceID != sp.ID || grants[0].Scope != "User.Read openid profile email" {
		t.Errorf("grants = %+v, want one AllPrincipals grant on Graph (%s)", grants, sp.ID)
	}
	if _, err := st.GetApplicationByAppID(ctx, directory.GraphAppID); err == nil {
		t.Error("Graph must stay virtual, not stored as an application")
	}
}
