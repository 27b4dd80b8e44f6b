package store

import "time"

// The directory model. Field names and JSON names follow Microsoft Graph so that
// anyone who has used Entra recognises every property. These types are stored as
// JSON documents by every backend; secrets appear in them only as hashes.

// Tenant types.
const (
	TenantTypeAAD = "aad"
	TenantTypeB2C = "b2c"
)

// Tenant is a directory: an Entra ID tenant or an Azure AD B2C tenant.
type Tenant struct {
	ID              string    `json:"id"`
	DisplayName     string    `json:"displayName"`
	Type            string    `json:"type"`
	Domains         []string  `json:"domains"`
	CreatedDateTime time.Time `json:"createdDateTime"`
	// UserFlows are a B2C tenant's user flows (policies). They live on the
	// tenant record because they are few, small, and always read with it.
	UserFlows []UserFlow `json:"userFlows,omitempty"`
}

// User flow types (Graph's b2cIdentityUserFlow userFlowType).
const (
	UserFlowSignUpOrSignIn = "signUpOrSignIn"
	UserFlowSignIn         = "signIn"
	UserFlowSignUp         = "signUp"
	UserFlowProfileEdit    = "profileEdit"
	UserFlowPasswordReset  = "passwordReset"
)

// UserFlow is an Azure AD B2C user flow (a policy such as B2C_1_signupsignin):
// the attributes it collects from the user and the claims its tokens carry.
type UserFlow struct {
	// Name is the policy name; matched case-insensitively, kept as written.
	Name string `json:"name"`
	Type string `json:"type"`
	// Attributes are what the flow's pages collect (sign-up, profile edit):
	// givenName, surname, displayName, extension_*.
	Attributes []string `json:"attributes,omitempty"`
	// Claims are the application claims its tokens return, by B2C's
	// attribute names (objectId, emails, displayName, ..., extension_*).
	Claims []string `json:"claims,omitempty"`
	// Token lifetimes in seconds, as B2C's custom policies name them; 0 is
	// B2C's default. RollingRefreshTokenLifetimeSecs -1 means no sliding
	// window limit ("unbounded").
	TokenLifetimeSecs               int `json:"tokenLifetimeSecs,omitempty"`
	IDTokenLifetimeSecs             int `json:"idTokenLifetimeSecs,omitempty"`
	RefreshTokenLifetimeSecs        int `json:"refreshTokenLifetimeSecs,omitempty"`
	RollingRefreshTokenLifetimeSecs int `json:"rollingRefreshTokenLifetimeSecs,omitempty"`
	// IssuerTFP issues tokens with the policy in the issuer
	// ({base}/tfp/{tid}/{policy}/v2.0/), B2C's token compatibility setting.
	IssuerTFP bool `json:"issuerTfp,omitempty"`
	// PolicyClaimACR names the policy in `acr` rather than `tfp` (legacy).
	PolicyClaimACR bool `json:"policyClaimAcr,omitempty"`
}

// User types.
const (
	UserTypeMember = "Member"
	UserTypeGuest  = "Guest"
)

// User is a user object in one tenant. A guest (B2B) is a separate object in the
// inviting tenant that points at the user's home tenant and home object.
type User struct {
	ID                string `json:"id"`
	TenantID          string `json:"tenantId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	GivenName         string `json:"givenName,omitempty"`
	Surname           string `json:"surname,omitempty"`
	Mail              string `json:"mail,omitempty"`
	AccountEnabled    bool   `json:"accountEnabled"`
	UserType          string `json:"userType"`
	// HomeTenantID and HomeUserID are set for guests only.
	HomeTenantID string `json:"homeTenantId,omitempty"`
	HomeUserID   string `json:"homeUserId,omitempty"`
	// PasswordHash is an argon2id PHC string; empty when the user has no
	// password in this tenant (guests authenticate at home).
	PasswordHash                    string    `json:"passwordHash,omitempty"`
	LastPasswordChangeDateTime      time.Time `json:"lastPasswordChangeDateTime,omitempty"`
	SignInSessionsValidFromDateTime time.Time `json:"signInSessionsValidFromDateTime,omitempty"`
	CreatedDateTime                 time.Time `json:"createdDateTime"`
	// ExtensionAttributes are a B2C user's custom attributes (extension_*),
	// collected by user flows and returned as claims of the same name.
	ExtensionAttributes map[string]string `json:"extensionAttributes,omitempty"`
}

// Member types of a group.
const (
	MemberTypeUser  = "user"
	MemberTypeGroup = "group"
)

// DirectoryObjectRef names a member of a group.
type DirectoryObjectRef struct {
	ID   string `json:"id"`
	Type string `json:"type"` // user | group
}

// Group is a security or Microsoft 365 group. Members are users and nested groups.
type Group struct {
	ID              string               `json:"id"`
	TenantID        string               `json:"tenantId"`
	DisplayName     string               `json:"displayName"`
	Description     string               `json:"description,omitempty"`
	SecurityEnabled bool                 `json:"securityEnabled"`
	MailEnabled     bool                 `json:"mailEnabled"`
	Members         []DirectoryObjectRef `json:"members"`
	CreatedDateTime time.Time            `json:"createdDateTime"`
}

// DirectoryRoleAssignment assigns a built-in directory role (by its role
// template ID, which becomes a `wids` entry) to a user or group.
type DirectoryRoleAssignment struct {
	ID               string `json:"id"`
	TenantID         string `json:"tenantId"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

// Sign-in audiences of an application.
const (
	AudienceMyOrg                    = "AzureADMyOrg"
	AudienceMultipleOrgs             = "AzureADMultipleOrgs"
	AudienceMultipleOrgsAndPersonal  = "AzureADandPersonalMicrosoftAccount"
	AudiencePersonalMicrosoftAccount = "PersonalMicrosoftAccount"
)

// ImplicitGrantSettings gates tokens returned from /authorize.
type ImplicitGrantSettings struct {
	EnableIDTokenIssuance     bool `json:"enableIdTokenIssuance"`
	EnableAccessTokenIssuance bool `json:"enableAccessTokenIssuance"`
}

// WebApplication is the "Web" platform: confidential clients.
type WebApplication struct {
	RedirectURIs          []string              `json:"redirectUris"`
	LogoutURL             string                `json:"logoutUrl,omitempty"`
	ImplicitGrantSettings ImplicitGrantSettings `json:"implicitGrantSettings"`
}

// RedirectURIs is a platform that only carries redirect URIs (spa, publicClient).
type RedirectURIs struct {
	RedirectURIs []string `json:"redirectUris"`
}

// PermissionScope is a delegated permission an API exposes.
type PermissionScope struct {
	ID                      string `json:"id"`
	Value                   string `json:"value"`
	Type                    string `json:"type"` // User | Admin
	AdminConsentDisplayName string `json:"adminConsentDisplayName,omitempty"`
	AdminConsentDescription string `json:"adminConsentDescription,omitempty"`
	UserConsentDisplayName  string `json:"userConsentDisplayName,omitempty"`
	UserConsentDescription  string `json:"userConsentDescription,omitempty"`
	IsEnabled               bool   `json:"isEnabled"`
}

// APIApplication describes the API an application exposes.
type APIApplication struct {
	// RequestedAccessTokenVersion is nil or 1 for v1.0 access tokens, 2 for v2.0.
	RequestedAccessTokenVersion *int              `json:"requestedAccessTokenVersion,omitempty"`
	OAuth2PermissionScopes      []PermissionScope `json:"oauth2PermissionScopes"`
}

// AppRole is a role an application defines, assignable to users, groups or applications.
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName,omitempty"`
	Description        string   `json:"description,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"` // User | Application
	IsEnabled          bool     `json:"isEnabled"`
}

// OptionalClaim asks for an extra claim in one token type.
type OptionalClaim struct {
	Name                 string   `json:"name"`
	Source               string   `json:"source,omitempty"`
	Essential            bool     `json:"essential,omitempty"`
	AdditionalProperties []string `json:"additionalProperties,omitempty"`
}

// OptionalClaims lists optional claims per token type.
type OptionalClaims struct {
	IDToken     []OptionalClaim `json:"idToken,omitempty"`
	AccessToken []OptionalClaim `json:"accessToken,omitempty"`
	SAML2Token  []OptionalClaim `json:"saml2Token,omitempty"`
}

// ResourceAccess is one permission of a RequiredResourceAccess.
type ResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"` // Scope | Role
}

// RequiredResourceAccess lists the permissions an app asks for on one resource.
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []ResourceAccess `json:"resourceAccess"`
}

// PasswordCredential is a client secret. The secret itself is never stored:
// only SecretHash, a keyed HMAC-SHA-256 of it under the server's pepper.
type PasswordCredential struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName,omitempty"`
	Hint          string    `json:"hint"`
	SecretHash    []byte    `json:"secretHash"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
}

// KeyCredential is an X.509 certificate an application authenticates with
// (private_key_jwt).
type KeyCredential struct {
	KeyID       string `json:"keyId"`
	DisplayName string `json:"displayName,omitempty"`
	Type        string `json:"type"`  // AsymmetricX509Cert
	Usage       string `json:"usage"` // Verify
	// Key is the DER encoding of the certificate.
	Key []byte `json:"key"`
	// CustomKeyIdentifier is the certificate's SHA-1 thumbprint, as Graph stores it.
	CustomKeyIdentifier []byte    `json:"customKeyIdentifier"`
	StartDateTime       time.Time `json:"startDateTime"`
	EndDateTime         time.Time `json:"endDateTime"`
}

// Application is an app registration. Its home tenant owns it; service
// principals make it usable in other tenants.
type Application struct {
	ID                     string                   `json:"id"`
	AppID                  string                   `json:"appId"`
	TenantID               string                   `json:"tenantId"`
	DisplayName            string                   `json:"displayName"`
	SignInAudience         string                   `json:"signInAudience"`
	Web                    WebApplication           `json:"web"`
	SPA                    RedirectURIs             `json:"spa"`
	PublicClient           RedirectURIs             `json:"publicClient"`
	IsFallbackPublicClient bool                     `json:"isFallbackPublicClient"`
	IdentifierURIs         []string                 `json:"identifierUris"`
	API                    APIApplication           `json:"api"`
	AppRoles               []AppRole                `json:"appRoles"`
	GroupMembershipClaims  string                   `json:"groupMembershipClaims,omitempty"`
	OptionalClaims         OptionalClaims           `json:"optionalClaims"`
	RequiredResourceAccess []RequiredResourceAccess `json:"requiredResourceAccess"`
	PasswordCredentials    []PasswordCredential     `json:"passwordCredentials"`
	KeyCredentials         []KeyCredential          `json:"keyCredentials"`
	// UseOwnSigningKey gives the app a signing key of its own, served with ?appid=.
	UseOwnSigningKey bool      `json:"useOwnSigningKey,omitempty"`
	CreatedDateTime  time.Time `json:"createdDateTime"`
}

// ServicePrincipal is an application's instance in one tenant.
type ServicePrincipal struct {
	ID                        string    `json:"id"`
	TenantID                  string    `json:"tenantId"`
	AppID                     string    `json:"appId"`
	AppOwnerOrganizationID    string    `json:"appOwnerOrganizationId"`
	AppDisplayName            string    `json:"appDisplayName,omitempty"`
	AccountEnabled            bool      `json:"accountEnabled"`
	AppRoleAssignmentRequired bool      `json:"appRoleAssignmentRequired"`
	CreatedDateTime           time.Time `json:"createdDateTime"`
}

// Principal types of an app role assignment.
const (
	PrincipalTypeUser             = "User"
	PrincipalTypeGroup            = "Group"
	PrincipalTypeServicePrincipal = "ServicePrincipal"
)

// AppRoleAssignment grants an app role of a resource (its service principal)
// to a user, group or service principal.
type AppRoleAssignment struct {
	ID              string    `json:"id"`
	TenantID        string    `json:"tenantId"`
	PrincipalID     string    `json:"principalId"`
	PrincipalType   string    `json:"principalType"`
	ResourceID      string    `json:"resourceId"` // the resource's service principal
	AppRoleID       string    `json:"appRoleId"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

// Consent types of a delegated permission grant.
const (
	ConsentAllPrincipals = "AllPrincipals"
	ConsentPrincipal     = "Principal"
)

// OAuth2PermissionGrant is delegated consent: the client (service principal)
// may act for the user (Principal) or for everyone (AllPrincipals) on the resource
// with the space-separated Scope.
type OAuth2PermissionGrant struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenantId"`
	ClientID    string `json:"clientId"`   // the client's service principal
	ResourceID  string `json:"resourceId"` // the resource's service principal
	ConsentType string `json:"consentType"`
	PrincipalID string `json:"principalId,omitempty"`
	Scope       string `json:"scope"`
}

// Key statuses in a key set.
const (
	KeyStatusNext     = "next"     // published, not yet signing
	KeyStatusCurrent  = "current"  // published and signing
	KeyStatusPrevious = "previous" // published until RetireAt, no longer signing
)

// SigningKey is one RSA key with its self-signed certificate. The private key is
// stored only sealed under the master key (envelope encryption).
type SigningKey struct {
	KID              string    `json:"kid"`
	Status           string    `json:"status"`
	CertificateDER   []byte    `json:"certificate"`
	SealedPrivateKey []byte    `json:"sealedPrivateKey"`
	CreatedAt        time.Time `json:"createdAt"`
	// RetireAt is when a previous key leaves the JWKS.
	RetireAt time.Time `json:"retireAt,omitempty"`
}

// KeySet holds the signing keys of one tenant, or of one application when AppID
// is set. It is updated atomically so that replicas agree on the signing key and
// exactly one of them rotates.
type KeySet struct {
	TenantID     string       `json:"tenantId"`
	AppID        string       `json:"appId,omitempty"`
	Keys         []SigningKey `json:"keys"`
	NextRotation time.Time    `json:"nextRotation"`
}
