package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Fixtures set every field (checked by requireFull), so that a round trip
// proves each one is stored. Times are UTC with nanoseconds: what a store
// keeps and returns (see utcTimes in sqlstore).

var (
	t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	t1 = time.Date(2031, 12, 31, 23, 59, 59, 1, time.UTC)
)

func newTenant(domain string) store.Tenant {
	return store.Tenant{
		ID:              ids.NewGUID(),
		DisplayName:     "Contoso " + domain,
		Type:            store.TenantTypeAAD,
		Domains:         []string{domain, "alt." + domain},
		CreatedDateTime: t0,
		UserFlows: []store.UserFlow{{
			Name: "B2C_1_SignUpSignIn", Type: store.UserFlowSignUpOrSignIn,
			Attributes: []string{"givenName", "extension_loyaltyId"}, Claims: []string{"objectId", "emails"},
			TokenLifetimeSecs: 3600, IDTokenLifetimeSecs: 3600, RefreshTokenLifetimeSecs: 1209600,
			RollingRefreshTokenLifetimeSecs: -1, IssuerTFP: true, PolicyClaimACR: true,
		}},
	}
}

func newUser(tenantID, upn string) store.User {
	return store.User{
		ID:                              ids.NewGUID(),
		TenantID:                        tenantID,
		UserPrincipalName:               upn,
		DisplayName:                     "Abe Lincoln",
		GivenName:                       "Abe",
		Surname:                         "Lincoln",
		Mail:                            upn,
		AccountEnabled:                  true,
		UserType:                        store.UserTypeGuest,
		HomeTenantID:                    ids.NewGUID(),
		HomeUserID:                      ids.NewGUID(),
		PasswordHash:                    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		LastPasswordChangeDateTime:      t0,
		SignInSessionsValidFromDateTime: t1,
		CreatedDateTime:                 t0,
		ExtensionAttributes:             map[string]string{"extension_loyaltyId": "A-1"},
	}
}

func newGroup(tenantID, name string, members ...store.DirectoryObjectRef) store.Group {
	if members == nil {
		members = []store.DirectoryObjectRef{{ID: ids.NewGUID(), Type: store.MemberTypeUser}}
	}
	return store.Group{
		ID:              ids.NewGUID(),
		TenantID:        tenantID,
		DisplayName:     name,
		Description:     "the " + name + " group",
		SecurityEnabled: true,
		MailEnabled:     true,
		Members:         members,
		CreatedDateTime: t0,
	}
}

func newDirectoryRoleAssignment(tenantID, principalID, roleID string) store.DirectoryRoleAssignment {
	return store.DirectoryRoleAssignment{
		ID:               ids.NewGUID(),
		TenantID:         tenantID,
		PrincipalID:      principalID,
		RoleDefinitionID: roleID,
		DirectoryScopeID: "/",
	}
}

func newApplication(tenantID string) store.Application {
	v2 := 2
	appID := ids.NewGUID()
	return store.Application{
		ID:             ids.NewGUID(),
		AppID:          appID,
		TenantID:       tenantID,
		DisplayName:    "Tasks",
		SignInAudience: store.AudienceMyOrg,
		Web: store.WebApplication{
			RedirectURIs: []string{"https://app.example/callback"},
			LogoutURL:    "https://app.example/logout",
			ImplicitGrantSettings: store.ImplicitGrantSettings{
				EnableIDTokenIssuance:     true,
				EnableAccessTokenIssuance: true,
			},
		},
		SPA:                    store.RedirectURIs{RedirectURIs: []string{"http://localhost:3000"}},
		PublicClient:           store.RedirectURIs{RedirectURIs: []string{"msal://redirect"}},
		IsFallbackPublicClient: true,
		IdentifierURIs:         []string{"api://" + appID}, // unique across applications
		API: store.APIApplication{
			RequestedAccessTokenVersion: &v2,
			OAuth2PermissionScopes: []store.PermissionScope{{
				ID: ids.NewGUID(), Value: "access_as_user", Type: "User",
				AdminConsentDisplayName: "Access", AdminConsentDescription: "Access as the user",
				UserConsentDisplayName: "Access", UserConsentDescription: "Access as you",
				IsEnabled: true,
			}},
		},
		AppRoles: []store.AppRole{{
			ID: ids.NewGUID(), Value: "Tasks.Read.All", DisplayName: "Read all", Description: "Read all tasks",
			AllowedMemberTypes: []string{"Application", "User"}, IsEnabled: true,
		}},
		GroupMembershipClaims: "SecurityGroup",
		OptionalClaims: store.OptionalClaims{
			IDToken:     []store.OptionalClaim{{Name: "email", Source: "user", Essential: true, AdditionalProperties: []string{"emit_as_roles"}}},
			AccessToken: []store.OptionalClaim{{Name: "upn", Source: "user", Essential: true, AdditionalProperties: []string{"include_externally_authenticated_upn"}}},
			SAML2Token:  []store.OptionalClaim{{Name: "groups", Source: "user", Essential: true, AdditionalProperties: []string{"sam_account_name"}}},
		},
		RequiredResourceAccess: []store.RequiredResourceAccess{{
			ResourceAppID:  ids.NewGUID(),
			ResourceAccess: []store.ResourceAccess{{ID: ids.NewGUID(), Type: "Scope"}},
		}},
		PasswordCredentials: []store.PasswordCredential{{
			KeyID: ids.NewGUID(), DisplayName: "dev", Hint: "abc",
			SecretHash: []byte{1, 2, 3, 0, 255}, StartDateTime: t0, EndDateTime: t1,
		}},
		KeyCredentials: []store.KeyCredential{{
			KeyID: ids.NewGUID(), DisplayName: "cert", Type: "AsymmetricX509Cert", Usage: "Verify",
			Key: []byte{0x30, 0x82, 0, 1}, CustomKeyIdentifier: []byte{9, 8, 7},
			StartDateTime: t0, EndDateTime: t1,
		}},
		UseOwnSigningKey: true,
		CreatedDateTime:  t0,
	}
}

func newServicePrincipal(tenantID string, app store.Application) store.ServicePrincipal {
	return store.ServicePrincipal{
		ID:                        ids.NewGUID(),
		TenantID:                  tenantID,
		AppID:                     app.AppID,
		AppOwnerOrganizationID:    app.TenantID,
		AppDisplayName:            app.DisplayName,
		AccountEnabled:            true,
		AppRoleAssignmentRequired: true,
		CreatedDateTime:           t0,
	}
}

func newAppRoleAssignment(tenantID, principalID, resourceID, roleID string) store.AppRoleAssignment {
	return store.AppRoleAssignment{
		ID:              ids.NewGUID(),
		TenantID:        tenantID,
		PrincipalID:     principalID,
		PrincipalType:   store.PrincipalTypeUser,
		ResourceID:      resourceID,
		AppRoleID:       roleID,
		CreatedDateTime: t0,
	}
}

func newGrant(tenantID, clientID, resourceID, principalID string) store.OAuth2PermissionGrant {
	return store.OAuth2PermissionGrant{
		ID:          ids.NewGUID(),
		TenantID:    tenantID,
		ClientID:    clientID,
		ResourceID:  resourceID,
		ConsentType: store.ConsentPrincipal,
		PrincipalID: principalID,
		Scope:       "openid profile access_as_user",
	}
}

func newKeySet(tenantID, appID string) store.KeySet {
	return store.KeySet{
		TenantID: tenantID,
		AppID:    appID,
		Keys: []store.SigningKey{{
			KID: "kid-1", Status: store.KeyStatusCurrent,
			CertificateDER: []byte{0x30, 1, 2}, SealedPrivateKey: []byte{7, 7, 7},
			CreatedAt: t0, RetireAt: t1,
		}},
		NextRotation: t1,
	}
}

// requireFull fails the test if any field of v, at any depth, has its zero
// value (or a slice is empty), so that fixtures keep up with new fields.
func requireFull(t *testing.T, v any) {
	t.Helper()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		if v.IsZero() || (v.Kind() == reflect.Slice && v.Len() == 0) {
			t.Errorf("fixture %T: %s is not set; set every field so the round trip checks it", v.Interface(), path)
			return
		}
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				return
			}
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return // bytes may be zero
			}
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Pointer:
			walk(path, v.Elem())
		}
	}
	walk(reflect.TypeOf(v).Name(), reflect.ValueOf(v))
}
