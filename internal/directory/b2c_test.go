package directory

import (
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

func TestValidateUserFlows(t *testing.T) {
	b2c := func(flows ...store.UserFlow) store.Tenant {
		return store.Tenant{ID: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", DisplayName: "Contoso B2C", Type: store.TenantTypeB2C,
			Domains: []string{"contosob2c.onmicrosoft.com"}, UserFlows: flows}
	}
	days := func(n int) int { return n * 24 * 3600 }
	tests := []struct {
		name string
		t    store.Tenant
		want string // "" = valid; else a substring of the error
	}{
		{"every type", b2c(
			store.UserFlow{Name: "B2C_1_susi", Type: store.UserFlowSignUpOrSignIn, Attributes: []string{"givenName", "extension_Team"},
				Claims: []string{"objectId", "emails", "extension_Team"}, TokenLifetimeSecs: 3600, RefreshTokenLifetimeSecs: days(14), RollingRefreshTokenLifetimeSecs: -1},
			store.UserFlow{Name: "B2C_1_signin", Type: store.UserFlowSignIn},
			store.UserFlow{Name: "B2C_1_signup", Type: store.UserFlowSignUp, IssuerTFP: true},
			store.UserFlow{Name: "b2c_1_edit", Type: store.UserFlowProfileEdit, Attributes: []string{"displayName"}},
			store.UserFlow{Name: "B2C_1_reset", Type: store.UserFlowPasswordReset},
		), ""},
		{"aad tenant", store.Tenant{ID: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", DisplayName: "Contoso", Type: store.TenantTypeAAD,
			Domains: []string{"contoso.onmicrosoft.com"}, UserFlows: []store.UserFlow{{Name: "B2C_1_x", Type: store.UserFlowSignIn}}}, "userFlows: user flows need a B2C tenant"},
		{"name without prefix", b2c(store.UserFlow{Name: "signin", Type: store.UserFlowSignIn}), "userFlows[0].name: \"signin\" is not a user flow name"},
		{"custom policy name", b2c(store.UserFlow{Name: "B2C_1A_signin", Type: store.UserFlowSignIn}), "is not a user flow name"},
		{"slash in name", b2c(store.UserFlow{Name: "B2C_1_a/b", Type: store.UserFlowSignIn}), "is not a user flow name"},
		{"duplicate in another case", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignIn}, store.UserFlow{Name: "b2c_1_X", Type: store.UserFlowSignUp}),
			"userFlows[1].name: \"b2c_1_X\" is declared twice"},
		{"unknown type", b2c(store.UserFlow{Name: "B2C_1_x", Type: "signOut"}), "userFlows[0].type: \"signOut\" is not a user flow type"},
		{"sign-in collects nothing", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignIn, Attributes: []string{"givenName"}}),
			"userFlows[0].attributes: a signIn user flow collects no attributes"},
		{"unknown attribute", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignUp, Attributes: []string{"city"}}),
			"userFlows[0].attributes[0]: \"city\" is not supported"},
		{"bad extension name", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignUp, Attributes: []string{"extension_"}}), "is not supported"},
		{"duplicate claim", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignUp, Claims: []string{"emails", "emails"}}),
			"userFlows[0].claims[1]: \"emails\" is listed twice"},
		{"access token too short", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignIn, TokenLifetimeSecs: 60}),
			"userFlows[0].tokenLifetimes.accessToken: 1m0s is out of range"},
		{"refresh too long", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignIn, RefreshTokenLifetimeSecs: days(91)}),
			"tokenLifetimes.refreshToken"},
		{"window shorter than refresh", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowSignIn, RollingRefreshTokenLifetimeSecs: days(7)}),
			"tokenLifetimes.refreshTokenSlidingWindow: must be at least the refresh token lifetime"},
		{"password reset lifetimes", b2c(store.UserFlow{Name: "B2C_1_x", Type: store.UserFlowPasswordReset, IDTokenLifetimeSecs: 3600}),
			"a passwordReset user flow has no token lifetime settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTenant(tt.t)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestUserFlowHelpers(t *testing.T) {
	tn := store.Tenant{ID: "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", Domains: []string{"contoso.com", "ContosoB2C.onmicrosoft.com"},
		UserFlows: []store.UserFlow{{Name: "B2C_1_SignUpSignIn", Type: store.UserFlowSignUpOrSignIn, RollingRefreshTokenLifetimeSecs: -1, TokenLifetimeSecs: 600}}}
	if f, ok := FindUserFlow(tn, "b2c_1_signupsignin"); !ok || f.Name != "B2C_1_SignUpSignIn" {
		t.Errorf("FindUserFlow = %+v, %v", f, ok)
	}
	if _, ok := FindUserFlow(tn, "B2C_1_other"); ok {
		t.Error("found an undeclared flow")
	}
	l := UserFlowLifetimes(tn.UserFlows[0])
	if l != (B2CLifetimes{AccessToken: 10 * time.Minute, IDToken: time.Hour, RefreshToken: 14 * 24 * time.Hour, SlidingWindow: 0}) {
		t.Errorf("lifetimes = %+v", l)
	}
	if d := UserFlowLifetimes(store.UserFlow{}); d.SlidingWindow != 90*24*time.Hour {
		t.Errorf("default sliding window = %v", d.SlidingWindow)
	}
	upn := LocalAccountUPN(tn, " Jane@Example.com ")
	if upn != LocalAccountUPN(tn, "jane@example.com") || !strings.HasSuffix(upn, "@contosob2c.onmicrosoft.com") || len(upn) != 36+len("@contosob2c.onmicrosoft.com") {
		t.Errorf("LocalAccountUPN = %q", upn)
	}
	other := tn
	other.ID = "2c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	if LocalAccountUPN(other, "jane@example.com") == upn {
		t.Error("two tenants derive the same UPN")
	}
}
