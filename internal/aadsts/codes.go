package aadsts

import "net/http"

// Codes Entrance answers with. Names follow Entra's internal names where the
// error-code reference gives one.
const (
	ServerError                   = 50000   // TokenIssuanceError
	InvalidInstance               = 50049   // NoSuchInstanceForDiscovery
	ReplyURLMismatch              = 50011   // InvalidReplyTo
	NoReplyAddress                = 500113  // NoReplyAddressesConfigured
	AccountLocked                 = 50053   // IdsLocked
	SilentSignInNoSession         = 50058   // UserInformationNotProvided
	MFARequired                   = 50076   // UserStrongAuthClientAuthNRequired
	UserNotAssigned               = 50105   // EntitlementGrantsNotFound
	InvalidUsernameOrPassword     = 50126   // InvalidUserNameOrPassword
	GrantRevoked                  = 50173   // FreshTokenNeeded
	SingleTenantAppOnCommon       = 50194   // InvalidTenantForApp
	CodeAlreadyRedeemed           = 54005   // OAuth2 authorization code already redeemed
	ConsentRequired               = 65001   // DelegationDoesNotExist
	ExpiredOrRevokedGrant         = 70008   // ExpiredOrRevokedGrant
	InvalidScope                  = 70011   // InvalidScope
	TenantNotFound                = 90002   // InvalidTenantName
	TokenForItselfNeedsGUID       = 90009   // TokenForItselfMissingIdenticalAppIdentifier
	TemporarilyUnavailable        = 90033   // MsodsServiceUnavailable
	ResourceNotFound              = 500011  // InvalidResourceServicePrincipalNotFound
	CodeVerifierMismatch          = 501481  // InvalidCodeChallengeVerifier
	CodeForOtherTenant            = 700005  // InvalidGrantRedeemAgainstWrongTenant
	AppNotFound                   = 700016  // UnauthorizedClient_DoesNotMatchRequest
	MultipleResourcesInScope      = 700022  // InvalidMultipleResourcesScope
	PublicClientSentSecret        = 700025  // InvalidClientPublicClientWithCredential
	InvalidAssertionSignature     = 700027  // Client assertion contains an invalid signature
	TokenResponseNotEnabled       = 700051  // response_type 'token' not enabled
	IDTokenResponseNotEnabled     = 700054  // response_type 'id_token' not enabled
	RefreshTokenInactive          = 700082  // ExpiredOrRevokedGrantInactiveToken
	SPARefreshTokenExpired        = 700084  // SPA refresh token fixed lifetime over
	MissingParameter              = 900144  // The request body must contain the following parameter
	InvalidClientSecret           = 7000215 // InvalidClientSecretProvided
	MissingClientCredential       = 7000218 // InvalidClientCredential: need client_assertion or client_secret
	ClientSecretExpired           = 7000222 // InvalidClientSecretExpiredKeysProvided
	GrantNotAllowedOnCommon       = 9001023 // grant type not supported on /common or /consumers
	CrossOriginOnlyForSPA         = 9002326 // cross-origin redemption only for SPA
	SPARedemptionNeedsOrigin      = 9002327 // SPA tokens only via cross-origin requests
	SPANeedsPKCE                  = 9002325 // PKCE required for cross-origin (SPA) code redemption
	ResourceNotProvided           = 500013  // v1 response_type token without resource
	DeviceCodeAuthorizationPend   = 70016   // AuthorizationPending (device code)
	DeviceCodeExpired             = 70019   // CodeExpired (device code)
	BadVerificationCode           = 70018   // BadVerificationCode (device code not recognised)
	DeviceCodeExpiredPoll         = 70020   // the device_code polled with has expired
	InvalidGrant                  = 70000   // InvalidGrant
	UnsupportedGrantType          = 70003   // UnsupportedGrantType
	InvalidClientAssertion        = 50027   // InvalidJwtToken (client assertions)
	UserDisabled                  = 50057   // UserDisabled
	MalformedRequest              = 9002313 // InvalidRequest: malformed or invalid
	InteractionRequired           = 16000   // SelectUserAccount (several signed-in accounts)
	UserDeclinedConsent           = 65004   // UserDeclinedConsent
	AdminConsentRequired          = 90094   // AdminConsentRequired
	UnsupportedResponseMode       = 70007   // UnsupportedResponseMode
	FlowTokenExpired              = 50089   // Flow token expired (sign-in pages)
	InvalidRequestParameter       = 90023   // InvalidRequest: a parameter's value is not valid
	ClientCredentialsNeedsDefault = 1002012 // client_credentials scope without /.default
	AppDisabled                   = 7000112 // UnauthorizedClientApplicationDisabled
	AppOnlyOnBehalfOf             = 7000114 // app-only token used as an on-behalf-of assertion
	InvalidUserAssertion          = 50013   // InvalidAssertion (on-behalf-of)
	UserAssertionAudience         = 500131  // AssertionAudienceDoesNotMatch (on-behalf-of)
	UserAssertionExpired          = 500133  // assertion not within its valid time range (on-behalf-of)
	GuestPasswordGrant            = 50020   // UserUnauthorized: a guest with the password grant
	TooManyRequests               = 90055   // TenantThrottlingError: too many incoming requests (HTTP 429)
)

// Entry is one error in the catalogue.
type Entry struct {
	Code int
	// Error is the OAuth 2.0 error string (the JSON "error" field).
	Error string
	// Message is the text after "AADSTS<code>: ", as Entra words it; %s verbs
	// take the arguments given to New, in order.
	Message string
	// Status is the HTTP status of a JSON error response.
	Status int
	// Hint says, in one line, how an Entrance operator fixes it. It is for
	// logs, the CLI and the error page, never for the wire.
	Hint string
}

// entries is the catalogue. It is only read after package initialisation.
var entries = map[int]Entry{
	ServerError: {ServerError, "server_error",
		"There was an error issuing a token or an issue with our sign-in service.",
		http.StatusInternalServerError, "An unexpected server error; the server log has the cause under this trace ID."},
	TemporarilyUnavailable: {TemporarilyUnavailable, "temporarily_unavailable",
		"A transient error has occurred. Please try again.",
		http.StatusServiceUnavailable, "The database is unreachable or overloaded; check /readyz and the database."},
	TenantNotFound: {TenantNotFound, "invalid_tenant",
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
		http.StatusBadRequest, "Use a tenant GUID or verified domain from the directory (entrance tenant list), or common/organizations/consumers."},
	InvalidInstance: {InvalidInstance, "invalid_instance",
		"Unknown or invalid instance.",
		http.StatusBadRequest, "The authority host is not this server's public host or one of its --host-aliases."},
	MissingParameter: {MissingParameter, "invalid_request",
		"The request body must contain the following parameter: '%s'.",
		http.StatusBadRequest, "Send the named parameter."},
	ReplyURLMismatch: {ReplyURLMismatch, "invalid_request",
		"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
		http.StatusBadRequest, "Add the exact redirect URI to the app's web, spa or publicClient redirectUris in the directory file."},
	NoReplyAddress: {NoReplyAddress, "invalid_request",
		"No reply address is registered for the application.",
		http.StatusBadRequest, "Register at least one redirect URI for the app."},
	AppNotFound: {AppNotFound, "unauthorized_client",
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
		http.StatusBadRequest, "Check the client_id (appId) and the tenant; a multi-tenant app needs a service principal in the tenant."},
	InvalidClientSecret: {InvalidClientSecret, "invalid_client",
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.",
		http.StatusUnauthorized, "You may have sent the secret's ID (keyId) instead of its value: send the value printed by `entrance app secret add`."},
	ClientSecretExpired: {ClientSecretExpired, "invalid_client",
		"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
		http.StatusUnauthorized, "Create a new secret with `entrance app secret add` (or raise endDateTime in the directory file)."},
	MissingClientCredential: {MissingClientCredential, "invalid_client",
		"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
		http.StatusUnauthorized, "A confidential client must authenticate; send client_secret or a client_assertion."},
	PublicClientSentSecret: {PublicClientSentSecret, "invalid_client",
		"Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
		http.StatusUnauthorized, "Drop the credential, or redeem through a web redirect URI instead of a publicClient one."},
	InvalidAssertionSignature: {InvalidAssertionSignature, "invalid_client",
		"Client assertion contains an invalid signature. [Reason - %s]",
		http.StatusUnauthorized, "Sign the assertion with a certificate registered in the app's keyCredentials."},
	// The OpenID Connect article words it so (and calls the error
	// "unsupported_response"); the service has also been seen answering
	// "response_type 'id_token' is not enabled for the application." with
	// unsupported_response_type, the registered OAuth error, which is kept.
	IDTokenResponseNotEnabled: {IDTokenResponseNotEnabled, "unsupported_response_type",
		"The provided value for the input parameter 'response_type' is not allowed for this client. Expected value is 'code'.",
		http.StatusBadRequest, "Enable ID tokens for this app (web.implicitGrantSettings.enableIdTokenIssuance: true) or use response_type=code."},
	TokenResponseNotEnabled: {TokenResponseNotEnabled, "unsupported_response_type",
		"response_type 'token' is not enabled for the application.",
		http.StatusBadRequest, "Set web.implicitGrantSettings.enableAccessTokenIssuance: true for the app, or use response_type=code."},
	CrossOriginOnlyForSPA: {CrossOriginOnlyForSPA, "invalid_request",
		"Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '%s'.",
		http.StatusBadRequest, "Register the redirect URI under spa, or redeem the code server-side without an Origin header."},
	SPARedemptionNeedsOrigin: {SPARedemptionNeedsOrigin, "invalid_request",
		"Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.",
		http.StatusBadRequest, "Redeem SPA codes from the browser (with an Origin header), or register the URI under web."},
	InvalidUsernameOrPassword: {InvalidUsernameOrPassword, "invalid_grant",
		"Error validating credentials due to invalid username or password.",
		http.StatusBadRequest, "Check the user's UPN and password (entrance user show)."},
	ConsentRequired: {ConsentRequired, "invalid_grant",
		"The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource.",
		http.StatusBadRequest, "Grant consent (oauth2PermissionGrants in the directory file) or sign in interactively."},
	SilentSignInNoSession: {SilentSignInNoSession, "login_required",
		"A silent sign-in request was sent but no user is signed in.",
		http.StatusBadRequest, "Sign in interactively (without prompt=none) first."},
	ExpiredOrRevokedGrant: {ExpiredOrRevokedGrant, "invalid_grant",
		"The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
		http.StatusBadRequest, "Start a new sign-in; codes live about 10 minutes and are single use."},
	CodeAlreadyRedeemed: {CodeAlreadyRedeemed, "invalid_grant",
		"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
		http.StatusBadRequest, "Redeem each code once; use the refresh token for new tokens."},
	CodeVerifierMismatch: {CodeVerifierMismatch, "invalid_grant",
		"The Code_Verifier does not match the code_challenge supplied in the authorization request.",
		http.StatusBadRequest, "Send the code_verifier that produced the code_challenge of the authorize request."},
	MFARequired: {MFARequired, "invalid_grant",
		"Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.",
		http.StatusBadRequest, "Sign in interactively to satisfy multi-factor authentication."},
	TokenForItselfNeedsGUID: {TokenForItselfNeedsGUID, "invalid_request",
		"Application '%s'(%s) is requesting a token for itself. This scenario is supported only if resource is specified using the GUID based App Identifier.",
		http.StatusBadRequest, "Ask for the app's own token with its appId GUID (e.g. {appId}/.default), not its identifier URI."},
	ResourceNotFound: {ResourceNotFound, "invalid_resource",
		"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
		http.StatusBadRequest, "Check the scope's resource (identifierUris or appId) and that the API has a service principal in the tenant."},
	InvalidScope: {InvalidScope, "invalid_scope",
		"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.",
		http.StatusBadRequest, "Use scopes the resource exposes (api.oauth2PermissionScopes) or {resource}/.default."},
	MultipleResourcesInScope: {MultipleResourcesInScope, "invalid_scope",
		"The provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.",
		http.StatusBadRequest, "Request scopes of one resource per token request."},
	RefreshTokenInactive: {RefreshTokenInactive, "invalid_grant",
		"The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
		http.StatusBadRequest, "Sign in again; refresh tokens expire after 90 days without use."},
	SPARefreshTokenExpired: {SPARefreshTokenExpired, "invalid_grant",
		"The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of %s, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on %s.",
		http.StatusBadRequest, "SPA refresh tokens live 24 hours; sign in again."},
	GrantRevoked: {GrantRevoked, "invalid_grant",
		"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
		http.StatusBadRequest, "Sign in again; the user's sessions were revoked or the password changed."},
	SingleTenantAppOnCommon: {SingleTenantAppOnCommon, "invalid_request",
		"Application '%s'(%s) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
		http.StatusBadRequest, "Use the tenant's GUID or domain in the authority, or set signInAudience: AzureADMultipleOrgs."},
	GrantNotAllowedOnCommon: {GrantNotAllowedOnCommon, "invalid_request",
		"The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
		http.StatusBadRequest, "Use the tenant's GUID or domain in the authority for this grant."},
	CodeForOtherTenant: {CodeForOtherTenant, "invalid_grant",
		"Provided Authorization Code is intended to use against other tenant, thus rejected.",
		http.StatusBadRequest, "Redeem the code at the same tenant's token endpoint that issued it."},
	UserNotAssigned: {UserNotAssigned, "invalid_grant",
		"Your administrator has configured the application %s ('%s') to block users unless they are specifically granted ('assigned') access to the application. The signed in user '%s' is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator. Please contact your administrator to assign access to this application.",
		http.StatusBadRequest, "Assign the user (or a group of theirs) an app role, or set appRoleAssignmentRequired: false."},
	AccountLocked: {AccountLocked, "invalid_grant",
		"The account is locked, you've tried to sign in too many times with an incorrect user ID or password.",
		http.StatusBadRequest, "Wait for the lockout to end, or reset the password."},
	DeviceCodeAuthorizationPend: {DeviceCodeAuthorizationPend, "authorization_pending",
		"OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
		http.StatusBadRequest, "Normal while the user has not finished signing in; keep polling at the given interval."},
	InvalidGrant: {InvalidGrant, "invalid_grant",
		"The provided access grant is invalid or malformed.",
		http.StatusBadRequest, "The code or refresh token was issued to another client_id; redeem it with the app that requested it."},
	UnsupportedGrantType: {UnsupportedGrantType, "unsupported_grant_type",
		"The app requested an unsupported grant type '%s'.",
		http.StatusBadRequest, "Use grant_type authorization_code or refresh_token (others come with later releases)."},
	InvalidClientAssertion: {InvalidClientAssertion, "invalid_client",
		"Invalid JWT token. %s",
		http.StatusUnauthorized, "Build the client assertion as Entra wants it: iss = sub = client_id, aud = the token endpoint, a fresh jti, exp in the future."},
	UserDisabled: {UserDisabled, "invalid_grant",
		"The user account is disabled.",
		http.StatusBadRequest, "Enable the account (accountEnabled: true) or sign in as another user."},
	MalformedRequest: {MalformedRequest, "invalid_grant",
		"Invalid request. Request is malformed or invalid.",
		http.StatusBadRequest, "The code or refresh token is not one Entrance issued (truncated, or from another server); start a new sign-in."},
	InteractionRequired: {InteractionRequired, "interaction_required",
		"SelectUserAccount - This is an interrupt thrown by Microsoft Entra ID, which results in UI that allows the user to select from among multiple valid SSO sessions.",
		http.StatusBadRequest, "Several accounts are signed in: send login_hint with prompt=none, or sign in without prompt=none to pick one."},
	UserDeclinedConsent: {UserDeclinedConsent, "access_denied",
		"User declined to consent to access the app.",
		http.StatusBadRequest, "The user pressed Cancel on the consent page; grant consent in the directory file (oauth2PermissionGrants) to skip it."},
	AdminConsentRequired: {AdminConsentRequired, "access_denied",
		"The grant requires admin permission.",
		http.StatusBadRequest, "The app asks for Admin-type scopes: an administrator signs in and consents for the organization, or grant it in the directory file."},
	UnsupportedResponseMode: {UnsupportedResponseMode, "invalid_request",
		"'%s' is not a supported value of 'response_mode'%s.",
		http.StatusBadRequest, "Use response_mode query, fragment or form_post (query is refused when a token is returned)."},
	SPANeedsPKCE: {SPANeedsPKCE, "invalid_request",
		"Proof Key for Code Exchange is required for cross-origin authorization code redemption.",
		http.StatusBadRequest, "The redirect URI is registered under spa: send code_challenge (S256) and redeem with code_verifier, or register the URI under web for a server-side app."},
	ResourceNotProvided: {ResourceNotProvided, "invalid_resource",
		"Resource identifier is not provided.",
		http.StatusBadRequest, "The v1 endpoint returns an access token for the resource= parameter; send it (or use the v2 endpoint with scope)."},
	FlowTokenExpired: {FlowTokenExpired, "invalid_request",
		"Authentication failed due to flow token expired.",
		http.StatusBadRequest, "The sign-in page was open too long or comes from another server setup; start the sign-in again from the app."},
	InvalidRequestParameter: {InvalidRequestParameter, "invalid_request",
		"The provided value for the input parameter '%s' is not valid.",
		http.StatusBadRequest, "Fix the named parameter (prompt, response_mode, code_challenge_method, max_age, claims); for 'csrf', the browser did not send the sign-in cookie back: allow cookies and start again."},
	ClientCredentialsNeedsDefault: {ClientCredentialsNeedsDefault, "invalid_scope",
		"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
		http.StatusBadRequest, "Ask for {App ID URI or appId}/.default: an app-only token carries the app roles assigned to the client, not delegated scopes."},
	AppDisabled: {AppDisabled, "unauthorized_client",
		"Application '%s'(%s) is disabled.",
		http.StatusBadRequest, "The client's service principal in this tenant has accountEnabled: false; enable it in the directory file."},
	AppOnlyOnBehalfOf: {AppOnlyOnBehalfOf, "unauthorized_client",
		"Application '%s' is not allowed to make application on-behalf-of calls.",
		http.StatusBadRequest, "The assertion is an app-only token (client credentials); on-behalf-of needs a user's access token."},
	InvalidUserAssertion: {InvalidUserAssertion, "invalid_grant",
		"Assertion failed signature validation. [Reason - %s]",
		http.StatusBadRequest, "Pass the access token the caller sent you, unchanged: issued by Entrance for this tenant, signed with a key in its JWKS."},
	UserAssertionAudience: {UserAssertionAudience, "invalid_grant",
		"Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Uris of this application with App ID '%s'(%s). The downstream client must request a token for the expected audience (the application that made the OBO request) and this application should use that token as the assertion.",
		http.StatusBadRequest, "The upstream client must ask for a token for this API (its App ID URI or appId), and this API must exchange that token."},
	UserAssertionExpired: {UserAssertionExpired, "invalid_grant",
		"Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token. Current time: %s, expiry time of assertion %s.",
		http.StatusBadRequest, "The user's access token expired (or is not valid yet); have the client send a fresh one."},
	GuestPasswordGrant: {GuestPasswordGrant, "invalid_grant",
		"User account '%s' from tenant '%s' is a guest in tenant '%s' and cannot sign in to application '%s'(%s) with a password grant: guest accounts authenticate at their home tenant.",
		http.StatusBadRequest, "Guests sign in interactively (authorization code or device code flow), or use the password grant at their home tenant."},
	TooManyRequests: {TooManyRequests, "temporarily_unavailable",
		"There are too many incoming requests. Please try again later.",
		http.StatusTooManyRequests, "This client or source address went over --rate-limit-per-client or --rate-limit-per-ip on this replica; wait Retry-After seconds, and cache tokens instead of requesting them again."},
	BadVerificationCode: {BadVerificationCode, "bad_verification_code",
		"Invalid verification code. The provided value for the input parameter 'device_code' is not valid.",
		http.StatusBadRequest, "Poll with the device_code of the device code response, at the tenant it was requested from, with the same client_id."},
	DeviceCodeExpiredPoll: {DeviceCodeExpiredPoll, "expired_token",
		"The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
		http.StatusBadRequest, "The user did not finish signing in within 15 minutes; request a new device code."},
	DeviceCodeExpired: {DeviceCodeExpired, "expired_token",
		"Verification code expired. Have the user retry the sign-in.",
		http.StatusBadRequest, "Start a new device code flow."},
}

// Lookup returns the catalogue entry of code.
func Lookup(code int) (Entry, bool) {
	e, ok := entries[code]
	return e, ok
}

// Codes lists every code in the catalogue (for docs and tests).
func Codes() []int {
	out := make([]int, 0, len(entries))
	for c := range entries {
		out = append(out, c)
	}
	return out
}
