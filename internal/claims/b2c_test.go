package claims

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/store"
)

var b2cUser = store.User{
	ID: "1558f87f-452b-4757-bcd1-883a1b2c3d4e", TenantID: "c64a4f7d-3091-4c73-a722-a3f0694c5e1d",
	UserPrincipalName: "7b0c5a8e-1f2d-4e3c-9a8b-7c6d5e4f3a2b@contosob2c.onmicrosoft.com",
	DisplayName:       "Jane Doe", GivenName: "Jane", Surname: "Doe", Mail: "jane@example.com",
	AccountEnabled: true, UserType: store.UserTypeMember,
	ExtensionAttributes: map[string]string{"extension_Team": "Blue"},
}

func b2cInput() B2CInput {
	return B2CInput{
		Now: now, Lifetime: time.Hour,
		Issuer:   "https://login.example/c64a4f7d-3091-4c73-a722-a3f0694c5e1d/v2.0/",
		Audience: webApp.AppID, Policy: "B2C_1_SignUpSignIn", User: b2cUser,
		Claims: []string{"objectId", "emails", "displayName", "givenName", "surname", "newUser", "extension_Team", "identityProvider"},
		Nonce:  "defaultNonce", AuthTime: now.Add(-time.Minute), ClientID: webApp.AppID,
	}
}

func TestB2CGolden(t *testing.T) {
	tests := []struct {
		name string
		make func() Ordered
	}{
		{"b2c_id", func() Ordered { return B2CIDToken(b2cInput()) }},
		{"b2c_id_signup_acr_implicit", func() Ordered {
			in := b2cInput()
			in.NewUser, in.PolicyClaimACR = true, true
			in.Issuer = "https://login.example/tfp/c64a4f7d-3091-4c73-a722-a3f0694c5e1d/b2c_1_signupsignin/v2.0/"
			in.Code, in.AccessToken = "code-value", "access-token-value"
			return B2CIDToken(in)
		}},
		{"b2c_access", func() Ordered {
			in := b2cInput()
			in.Audience, in.Scopes = "f2a76e08-93f2-4350-833c-965c02483b11", []string{"orders.read", "orders.write"}
			in.Claims = []string{"objectId", "displayName", "emails"}
			return B2CAccessToken(in)
		}},
		{"b2c_access_self", func() Ordered {
			in := b2cInput()
			in.Claims, in.Nonce = nil, ""
			return B2CAccessToken(in)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.make())
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("claims differ from %s\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
}

// TestB2CClaims checks the rules the golden files show, one by one.
func TestB2CClaims(t *testing.T) {
	in := b2cInput()
	id := B2CIDToken(in)
	for name, want := range map[string]any{
		"ver": "1.0", "sub": b2cUser.ID, "oid": b2cUser.ID, "tfp": "B2C_1_SignUpSignIn", "aud": webApp.AppID,
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Add(-time.Minute).Unix(),
		"given_name": "Jane", "family_name": "Doe", "name": "Jane Doe", "extension_Team": "Blue",
	} {
		if got, ok := id.Get(name); !ok || got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	for _, absent := range []string{"newUser", "idp", "acr", "c_hash", "at_hash", "scp", "azp"} {
		if _, ok := id.Get(absent); ok {
			t.Errorf("%s present", absent)
		}
	}
	in.NewUser, in.PolicyClaimACR, in.IdentityProvider = true, true, "facebook.com"
	id = B2CIDToken(in)
	if v, _ := id.Get("newUser"); v != true {
		t.Error("newUser missing right after sign-up")
	}
	if v, _ := id.Get("acr"); v != "b2c_1_signupsignin" {
		t.Errorf("acr = %v", v)
	}
	if _, ok := id.Get("tfp"); ok {
		t.Error("tfp present in acr mode")
	}
	if v, _ := id.Get("idp"); v != "facebook.com" {
		t.Errorf("idp = %v", v)
	}
	// Empty values are left out, like every absent claim.
	in.User.GivenName, in.User.Mail, in.User.ExtensionAttributes = "", "", nil
	id = B2CIDToken(in)
	for _, absent := range []string{"given_name", "emails", "extension_Team"} {
		if _, ok := id.Get(absent); ok {
			t.Errorf("empty %s present", absent)
		}
	}
}
