package store

import (
	"context"
	"time"
)

// The records of sign-in flows: SSO sessions, authorization codes, refresh
// tokens, the sign-in log, throttling counters and the replay cache. Unlike
// the directory, these are written on hot paths: their writes do not bump
// ChangeVersion and must not serialise behind directory writes.
//
// Secrets (session cookies, codes, refresh tokens) are never stored: a
// record's ID is the base64url SHA-256 of the value handed out (see
// HashToken), so a copy of the database does not let anyone use them.

// Platforms of a redirect URI (how it was registered on the app).
const (
	PlatformWeb          = "web"
	PlatformSPA          = "spa"
	PlatformPublicClient = "publicClient"
)

// Authentication methods (the `amr` claim values Entra uses).
const (
	AuthMethodPassword = "pwd"
)

// SessionAccount is one account signed in to a browser session.
type SessionAccount struct {
	UserID      string    `json:"userId"`
	AuthTime    time.Time `json:"authTime"`
	AuthMethods []string  `json:"authMethods"`
}

// Session is an SSO browser session in one tenant. Several accounts may be
// signed in to it (the account picker); Apps lists the appIds signed into
// during the session, for front-channel sign-out.
type Session struct {
	ID         string           `json:"id"`
	TenantID   string           `json:"tenantId"`
	Accounts   []SessionAccount `json:"accounts"`
	Apps       []string         `json:"apps"`
	CreatedAt  time.Time        `json:"createdAt"`
	LastSeenAt time.Time        `json:"lastSeenAt"`
	// ExpiresAt is the absolute end of the session; the idle timeout is
	// checked against LastSeenAt by the session code.
	ExpiresAt time.Time `json:"expiresAt"`
}

// AuthorizationCode is an issued code waiting to be redeemed at the token
// endpoint. It is single use: RedeemedAt is set, under a row lock, by the one
// redemption that wins.
type AuthorizationCode struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenantId"`
	ClientID    string `json:"clientId"` // the client's appId
	RedirectURI string `json:"redirectUri"`
	Platform    string `json:"platform"` // of RedirectURI
	UserID      string `json:"userId"`
	SessionID   string `json:"sessionId,omitempty"`
	// Scope is the scope string of the request (v2) and Resource the resource
	// parameter (v1); the token endpoint resolves them again at redemption.
	Scope               string    `json:"scope"`
	Resource            string    `json:"resource,omitempty"`
	EndpointVersion     string    `json:"endpointVersion"` // "1.0" | "2.0": the ID token's version
	Nonce               string    `json:"nonce,omitempty"`
	CodeChallenge       string    `json:"codeChallenge,omitempty"`
	CodeChallengeMethod string    `json:"codeChallengeMethod,omitempty"`
	ClaimsRequest       string    `json:"claimsRequest,omitempty"`
	AuthTime            time.Time `json:"authTime"`
	AuthMethods         []string  `json:"authMethods"`
	IssuedAt            time.Time `json:"issuedAt"`
	ExpiresAt           time.Time `json:"expiresAt"`
	RedeemedAt          time.Time `json:"redeemedAt,omitempty"`
	// RefreshTokenFamilyID names the refresh tokens issued from this code, so
	// that a replay of the code can revoke them.
	RefreshTokenFamilyID string `json:"refreshTokenFamilyId,omitempty"`
	// Policy is the B2C user flow the code was issued by ("" outside B2C):
	// only that flow's token endpoint redeems it. NewUser: the user signed
	// up in this flow (the newUser claim).
	Policy  string `json:"policy,omitempty"`
	NewUser bool   `json:"newUser,omitempty"`
}

// RefreshToken is one refresh token. Each redemption marks it redeemed and
// issues a new one in the same family.
type RefreshToken struct {
	ID       string `json:"id"`
	FamilyID string `json:"familyId"`
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	UserID   string `json:"userId"`
	// SessionID is the SSO session the family started in (web sign-out).
	SessionID   string    `json:"sessionId,omitempty"`
	Scope       string    `json:"scope"`
	AuthTime    time.Time `json:"authTime"`
	AuthMethods []string  `json:"authMethods"`
	// Confidential: issued to an authenticated (confidential) client. Seed 002:
	// a password change does not revoke those.
	Confidential bool   `json:"confidential"`
	Platform     string `json:"platform"`
	// FamilyCreatedAt is when the family's first token was issued (SPA refresh
	// tokens live 24 hours from then, not extended by rotation).
	FamilyCreatedAt time.Time `json:"familyCreatedAt"`
	IssuedAt        time.Time `json:"issuedAt"`
	// ExpiresAt is the absolute expiry; inactivity is judged from IssuedAt.
	ExpiresAt  time.Time `json:"expiresAt"`
	RedeemedAt time.Time `json:"redeemedAt,omitempty"`
	Revoked    bool      `json:"revoked"`
	// Policy is the B2C user flow of the family ("" outside B2C): only that
	// flow's token endpoint redeems it.
	Policy string `json:"policy,omitempty"`
}

// DeviceCode is a device authorization (RFC 8628; Entra's device code flow).
// The device polls the token endpoint with the device code (the record's ID
// is its hash); the user enters the short UserCode at the device page, signs
// in and approves or declines. Approval, decline and the one redemption are
// each made under a row lock (UpdateDeviceCode), so two polls never both get
// the tokens.
type DeviceCode struct {
	ID string `json:"id"`
	// UserCode is what the user types, normalised (upper case, no
	// separators); unique among stored device codes.
	UserCode string `json:"userCode"`
	// TenantID is the tenant the request named, "" for common and
	// organizations until the user signs in; then the user's tenant.
	TenantID        string    `json:"tenantId,omitempty"`
	PathTenant      string    `json:"pathTenant"` // the {tenant} segment of the request
	ClientID        string    `json:"clientId"`   // the client's appId
	Scope           string    `json:"scope"`
	Resource        string    `json:"resource,omitempty"`
	EndpointVersion string    `json:"endpointVersion"` // "1.0" | "2.0"
	ClaimsRequest   string    `json:"claimsRequest,omitempty"`
	CorrelationID   string    `json:"correlationId,omitempty"`
	IssuedAt        time.Time `json:"issuedAt"`
	ExpiresAt       time.Time `json:"expiresAt"`
	// LastPolledAt is the last poll's time, for slow_down.
	LastPolledAt time.Time `json:"lastPolledAt,omitzero"`

	// Set when the user approves: who, from which SSO session, when and how
	// they authenticated.
	UserID      string    `json:"userId,omitempty"`
	SessionID   string    `json:"sessionId,omitempty"`
	AuthTime    time.Time `json:"authTime,omitzero"`
	AuthMethods []string  `json:"authMethods,omitempty"`
	ApprovedAt  time.Time `json:"approvedAt,omitzero"`
	DeclinedAt  time.Time `json:"declinedAt,omitzero"`
	RedeemedAt  time.Time `json:"redeemedAt,omitzero"`
}

// SignIn is one entry of the sign-in log (successes and failures).
type SignIn struct {
	ID                string    `json:"id"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	TenantID          string    `json:"tenantId"`
	UserID            string    `json:"userId,omitempty"`
	UserPrincipalName string    `json:"userPrincipalName,omitempty"`
	AppID             string    `json:"appId,omitempty"`
	AppDisplayName    string    `json:"appDisplayName,omitempty"`
	IPAddress         string    `json:"ipAddress,omitempty"`
	ClientAppUsed     string    `json:"clientAppUsed,omitempty"` // Browser, Mobile Apps and Desktop clients, ...
	// ErrorCode is the AADSTS code, 0 on success.
	ErrorCode     int    `json:"errorCode"`
	FailureReason string `json:"failureReason,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
}

// SignInFilter selects sign-in log entries; zero fields match everything.
type SignInFilter struct {
	TenantID string
	UserID   string
	AppID    string
	Since    time.Time
	// Limit caps the result (newest first); 0 means a default of 1000.
	Limit int
}

// Flows is the part of the store that holds sign-in flow state.
type Flows interface {
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, error)
	UpdateSession(ctx context.Context, id string, fn func(Session) (Session, error)) (Session, error)
	DeleteSession(ctx context.Context, id string) error

	CreateAuthorizationCode(ctx context.Context, c AuthorizationCode) error
	GetAuthorizationCode(ctx context.Context, id string) (AuthorizationCode, error)
	// UpdateAuthorizationCode locks the row for fn: two concurrent redemptions
	// see each other's RedeemedAt, so exactly one wins.
	UpdateAuthorizationCode(ctx context.Context, id string, fn func(AuthorizationCode) (AuthorizationCode, error)) (AuthorizationCode, error)

	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	GetRefreshToken(ctx context.Context, id string) (RefreshToken, error)
	UpdateRefreshToken(ctx context.Context, id string, fn func(RefreshToken) (RefreshToken, error)) (RefreshToken, error)
	// RevokeRefreshTokenFamily marks every token of the family revoked and
	// returns how many it changed.
	RevokeRefreshTokenFamily(ctx context.Context, familyID string) (int, error)

	CreateDeviceCode(ctx context.Context, c DeviceCode) error
	GetDeviceCode(ctx context.Context, id string) (DeviceCode, error)
	// GetDeviceCodeByUserCode finds a device code by its (normalised) user code.
	GetDeviceCodeByUserCode(ctx context.Context, userCode string) (DeviceCode, error)
	// UpdateDeviceCode locks the row for fn: approval, decline and
	// redemption each happen at most once.
	UpdateDeviceCode(ctx context.Context, id string, fn func(DeviceCode) (DeviceCode, error)) (DeviceCode, error)

	CreateSignIn(ctx context.Context, s SignIn) error
	ListSignIns(ctx context.Context, f SignInFilter) ([]SignIn, error)

	// HitCounter adds one to the counter key and returns its value in the
	// current window: a counter whose window (started at its first hit) is
	// older than window starts again at 1. ResetCounter deletes it.
	HitCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	// PeekCounter returns the counter's value in the current window without
	// adding to it (0 if none).
	PeekCounter(ctx context.Context, key string, window time.Duration, now time.Time) (int, error)
	ResetCounter(ctx context.Context, key string) error

	// RecordOnce remembers key until expiresAt. It returns ErrAlreadyExists if
	// key was recorded before and has not expired: the replay cache for
	// client-assertion `jti`s.
	RecordOnce(ctx context.Context, key string, expiresAt time.Time) error

	// DeleteExpired removes up to limit expired sessions, codes, device
	// codes, refresh tokens, counters and replay-cache entries (each kind),
	// and returns how many rows it removed. Sign-in log entries older than
	// now-retention are removed too when retention > 0.
	DeleteExpired(ctx context.Context, now time.Time, limit int, retention time.Duration) (int, error)
}
