package storetest

import (
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Flow fixtures set every field too (see requireFull); their IDs are made as
// the flows make them, by hashing a random value.

func newTokenID() string { return store.HashToken(ids.RandomToken(32)) }

func newSession(tenantID string) store.Session {
	return store.Session{
		ID:       newTokenID(),
		TenantID: tenantID,
		Accounts: []store.SessionAccount{{
			UserID: ids.NewGUID(), AuthTime: t0, AuthMethods: []string{store.AuthMethodPassword},
		}},
		Apps:       []string{ids.NewGUID()},
		CreatedAt:  t0,
		LastSeenAt: t0.Add(time.Minute),
		ExpiresAt:  t1,
	}
}

func newAuthorizationCode(tenantID, userID string) store.AuthorizationCode {
	return store.AuthorizationCode{
		ID:                   newTokenID(),
		TenantID:             tenantID,
		ClientID:             ids.NewGUID(),
		RedirectURI:          "https://app.example/callback",
		Platform:             store.PlatformWeb,
		UserID:               userID,
		SessionID:            newTokenID(),
		Scope:                "openid profile offline_access api://tasks/access_as_user",
		Resource:             "api://tasks",
		EndpointVersion:      "2.0",
		Nonce:                "n-0S6_WzA2Mj",
		CodeChallenge:        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod:  "S256",
		ClaimsRequest:        `{"id_token":{"auth_time":{"essential":true}}}`,
		AuthTime:             t0,
		AuthMethods:          []string{store.AuthMethodPassword, "mfa"},
		IssuedAt:             t0.Add(time.Second),
		ExpiresAt:            t1,
		RedeemedAt:           t0.Add(2 * time.Second),
		RefreshTokenFamilyID: ids.NewGUID(),
		Policy:               "B2C_1_SignUpSignIn",
		NewUser:              true,
	}
}

func newRefreshToken(tenantID, userID, familyID string) store.RefreshToken {
	return store.RefreshToken{
		ID:              newTokenID(),
		FamilyID:        familyID,
		TenantID:        tenantID,
		ClientID:        ids.NewGUID(),
		UserID:          userID,
		SessionID:       newTokenID(),
		Scope:           "openid offline_access User.Read",
		AuthTime:        t0,
		AuthMethods:     []string{store.AuthMethodPassword},
		Confidential:    true,
		Platform:        store.PlatformSPA,
		FamilyCreatedAt: t0,
		IssuedAt:        t0.Add(time.Hour),
		ExpiresAt:       t1,
		RedeemedAt:      t0.Add(2 * time.Hour),
		Revoked:         true,
		Policy:          "B2C_1_SignUpSignIn",
	}
}

func newSignIn(tenantID, userID, appID string, at time.Time) store.SignIn {
	return store.SignIn{
		ID:                ids.NewGUID(),
		CreatedDateTime:   at,
		TenantID:          tenantID,
		UserID:            userID,
		UserPrincipalName: "abe@contoso.example",
		AppID:             appID,
		AppDisplayName:    "Tasks",
		IPAddress:         "203.0.113.7",
		ClientAppUsed:     "Browser",
		ErrorCode:         50126,
		FailureReason:     "Invalid username or password.",
		CorrelationID:     ids.NewGUID(),
	}
}
