package dirfile

import (
	"context"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

const b2cYAML = `tenants:
  - id: 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f
    displayName: Contoso B2C
    type: b2c
    domains: [contosob2c.onmicrosoft.com]
    userFlows:
      - name: B2C_1_signupsignin
        type: signUpOrSignIn
        attributes: [givenName, surname, extension_Team]
        claims: [objectId, emails, givenName, surname, newUser, extension_Team]
        tokenLifetimes: {accessToken: 30m, idToken: 1h, refreshToken: 7d, refreshTokenSlidingWindow: unbounded}
      - name: B2C_1_signup
        type: signUp
        tokenCompatibility: {issuer: tfp, userFlowClaim: acr}
      - {name: B2C_1_reset, type: passwordReset}
    users:
      - {mail: jane@example.com, displayName: Jane, password: "Correct-Horse-9"}
`

func TestApplyUserFlows(t *testing.T) {
	st := storetest.NewSQLite(t)
	for run := 0; run < 2; run++ {
		sum, err := apply(t, st, b2cYAML, fixedT0)
		if err != nil {
			t.Fatal(err)
		}
		if run == 1 && (sum.Created != 0 || sum.Updated != 0) {
			t.Errorf("second apply changed something: %s", sum)
		}
	}
	ctx := context.Background()
	tn, err := st.GetTenant(ctx, "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UserFlow{
		{Name: "B2C_1_signupsignin", Type: "signUpOrSignIn", Attributes: []string{"givenName", "surname", "extension_Team"},
			Claims:            []string{"objectId", "emails", "givenName", "surname", "newUser", "extension_Team"},
			TokenLifetimeSecs: 1800, IDTokenLifetimeSecs: 3600, RefreshTokenLifetimeSecs: 7 * 86400, RollingRefreshTokenLifetimeSecs: -1},
		{Name: "B2C_1_signup", Type: "signUp", IssuerTFP: true, PolicyClaimACR: true},
		{Name: "B2C_1_reset", Type: "passwordReset"},
	}
	if !sameJSON(tn.UserFlows, want) {
		t.Errorf("user flows = %+v\nwant %+v", tn.UserFlows, want)
	}
	// The local account signs in with its mail: its UPN is derived from it.
	u, err := st.GetUserByUPN(ctx, tn.ID, directory.LocalAccountUPN(tn, "Jane@Example.com"))
	if err != nil || u.Mail != "jane@example.com" {
		t.Fatalf("local account %+v %v", u, err)
	}
	if ok, _ := secrets.VerifyPassword(u.PasswordHash, "Correct-Horse-9"); !ok {
		t.Error("password not set")
	}

	// Leaving userFlows out keeps the stored ones, like any property.
	noFlows := strings.Split(b2cYAML, "    userFlows:")[0] + "    users:" + strings.Split(b2cYAML, "    users:")[1]
	if _, err := apply(t, st, noFlows, fixedT0); err != nil {
		t.Fatal(err)
	}
	if tn, _ := st.GetTenant(ctx, tn.ID); len(tn.UserFlows) != 3 {
		t.Errorf("user flows after an apply without them: %+v", tn.UserFlows)
	}
}

func TestApplyUserFlowErrors(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"bad lifetime", "accessToken: 30m", "accessToken: soon",
			`directory.yaml:11: tenants[0].userFlows[0].tokenLifetimes.accessToken: "soon" is not a duration such as 60m, 1h or 14d`},
		{"lifetime out of range", "accessToken: 30m", "accessToken: 2m",
			"directory.yaml:11: tenants[0].userFlows[0].tokenLifetimes.accessToken: 2m0s is out of range (5m0s to 24h0m0s)"},
		{"unbounded refresh token", "refreshToken: 7d", "refreshToken: unbounded",
			`directory.yaml:11: tenants[0].userFlows[0].tokenLifetimes.refreshToken: "unbounded" is not a duration`},
		{"unknown type", "type: signUp\n", "type: register\n",
			`directory.yaml:13: tenants[0].userFlows[1].type: "register" is not a user flow type`},
		{"bad name", "name: B2C_1_reset", "name: reset",
			`directory.yaml:15: tenants[0].userFlows[2].name: "reset" is not a user flow name`},
		{"duplicate name", "name: B2C_1_reset", "name: b2c_1_SIGNUP",
			`directory.yaml:15: tenants[0].userFlows[2].name: "b2c_1_SIGNUP" is declared twice`},
		{"unknown claim", "newUser, extension_Team]", "newUser, country]",
			`directory.yaml:10: tenants[0].userFlows[0].claims[5]: "country" is not supported`},
		{"bad issuer option", "issuer: tfp", "issuer: policy",
			`directory.yaml:14: tenants[0].userFlows[1].tokenCompatibility.issuer: "policy": use default`},
		{"not a b2c tenant", "type: b2c", "type: aad",
			"directory.yaml:6: tenants[0].userFlows: user flows need a B2C tenant"},
		{"unknown property", "tokenCompatibility:", "tokenCompat:",
			`directory.yaml:14: tenants[0].userFlows[1].tokenCompat: unknown property`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(b2cYAML, tt.old) {
				t.Fatalf("%q not in the file", tt.old)
			}
			_, err := apply(t, storetest.NewSQLite(t), strings.Replace(b2cYAML, tt.old, tt.new, 1), fixedT0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant %q", err, tt.want)
			}
		})
	}
}
