package b2c

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
)

// B2C's errors: an AADB2C code, an OAuth error string and a message, from
// B2C's error code reference. On the wire error_description is
// "AADB2C<code>: <message>\r\nCorrelation ID: <id>\r\nTimestamp: <time>",
// in a JSON body ({"error", "error_description"}), or in the parameters of
// a redirect to the app (error, error_description, state).

// Codes used here (B2C's numbers).
const (
	codeRedirectNotRegistered = 90006
	codeNoRedirectURIs        = 90007
	codeNoClientID            = 90008
	codeNoScope               = 90010
	codeResponseType          = 90013
	codeResponseMode          = 90014
	codeClientNotInTenant     = 90018
	codePolicyNotFound        = 90022
	codeUnavailable           = 90035
	codePrompt                = 90043
	codeBadState              = 90046
	codeScopeNeedsResource    = 90055
	codeImplicitNotAllowed    = 90057
	codeNoSession             = 90077
	codeSecretRequired        = 90079
	codeGrantExpired          = 90080
	codeBadSecret             = 90081
	codeMissingParameter      = 90083
	codePublicClientSecret    = 90084
	codeGrantType             = 90086
	codeGrantOtherPolicy      = 90088
	codeUserCancelled         = 90091
	codeIDTokenNeedsOpenID    = 90110
	codeCodeNeedsScope        = 90115
	codeScopeNotSupported     = 90117
	codeUserGone              = 90128
	codeGrantRevoked          = 90129
	codeMultipleResources     = 90146
	codeVerifierMismatch      = 90182
	codeVerifierInvalid       = 90183
	codeChallengeMethod       = 90184
	codeNoPermission          = 90205
	codeClientMismatch        = 90279
	codeSPANeedsPKCE          = 99059
	// codeTenantNotFound is Entra's AADSTS90002 (b2clogin.com answers an
	// unknown tenant as the platform does); B2C has no code of its own.
	codeTenantNotFound = -90002
)

type entry struct {
	oauth   string
	message string
	status  int
}

var catalogue = map[int]entry{
	codeRedirectNotRegistered: {"redirect_uri_mismatch", "The redirect URI '%s' provided in the request is not registered for the client id '%s'.", 400},
	codeNoRedirectURIs:        {"invalid_request", "The application associated with client id '%s' has no registered redirect URIs.", 400},
	codeNoClientID:            {"invalid_request", "The request does not contain a client id parameter.", 400},
	codeNoScope:               {"invalid_request", "The request does not contain a scope parameter.", 400},
	codeResponseType:          {"unsupported_response_type", "The requested response type '%s' provided in the request is not supported.", 400},
	codeResponseMode:          {"invalid_request", "The requested response mode '%s' provided in the request is not supported.", 400},
	codeClientNotInTenant:     {"invalid_request", "The client id '%s' specified in the request is not registered in tenant '%s'.", 400},
	codePolicyNotFound:        {"invalid_request", "Unable to return metadata for the policy '%s' in tenant '%s'.", 404},
	codeUnavailable:           {"temporarily_unavailable", "The service is temporarily unavailable. Please retry after a few minutes.", 503},
	codePrompt:                {"invalid_request", "The prompt included in the request contains invalid values. Expected 'none', 'login', 'consent' or 'select_account'.", 400},
	codeBadState:              {"invalid_request", "We are having trouble loading your current state. You might want to try starting your session over from the beginning.", 400},
	codeScopeNeedsResource:    {"invalid_scope", "The scope '%s' provided in request must specify a resource, such as 'https://example.com/calendar.read'.", 400},
	codeImplicitNotAllowed:    {"unauthorized_client", "The provided application is not configured to allow the 'OAuth' Implicit flow.", 400},
	codeNoSession:             {"user_authentication_required", "User does not have an existing session and request prompt parameter has a value of 'None'.", 400},
	codeSecretRequired:        {"invalid_request", "Clients must send a client_secret when redeeming a confidential grant.", 400},
	codeGrantExpired:          {"invalid_grant", "The provided grant has expired. Please re-authenticate and try again.", 400},
	codeBadSecret:             {"invalid_client", "The specified client_secret does not match the expected value for this client. Please correct the client_secret and try again.", 401},
	codeMissingParameter:      {"invalid_request", "The request is missing required parameter: %s.", 400},
	codePublicClientSecret:    {"invalid_request", "Public clients should not send a client_secret when redeeming a publicly acquired grant.", 400},
	codeGrantType:             {"unsupported_grant_type", "The supplied grant_type [%s] is not supported.", 400},
	codeGrantOtherPolicy:      {"invalid_grant", "The provided grant has not been issued for this endpoint. Actual Value : %s and Expected Value : %s", 400},
	codeUserCancelled:         {"access_denied", "The user has cancelled entering self-asserted information.", 400},
	codeIDTokenNeedsOpenID:    {"invalid_request", "The scope parameter must include 'openid' when requesting a response_type that includes 'id_token'.", 400},
	codeCodeNeedsScope:        {"invalid_request", "When requesting the 'code' response_type, the scope parameter must include a resource or client ID for access tokens, and 'openid' for ID tokens. Additionally include 'offline_access' for refresh tokens.", 400},
	codeScopeNotSupported:     {"invalid_scope", "The scope '%s' provided in the request is not supported.", 400},
	codeUserGone:              {"invalid_grant", "The account associated with this grant no longer exists. Please reauthenticate and try again.", 400},
	codeGrantRevoked:          {"invalid_grant", "The provided grant has been revoked. Please reauthenticate and try again.", 400},
	codeMultipleResources:     {"invalid_scope", "The scope '%s' provided in request specifies more than one resource for an access token, which is not supported.", 400},
	codeVerifierMismatch:      {"invalid_grant", "The supplied code_verifier does not match associated code_challenge.", 400},
	codeVerifierInvalid:       {"invalid_request", "The supplied code_verifier is invalid.", 400},
	codeChallengeMethod:       {"invalid_request", "The supplied code_challenge_method is not supported. Supported values are plain or S256.", 400},
	codeNoPermission:          {"invalid_grant", "This application does not have sufficient permissions against this web resource to perform the operation.", 400},
	codeClientMismatch:        {"invalid_grant", "The provided client id '%s' does not match the client id that issued the grant.", 400},
	codeSPANeedsPKCE:          {"invalid_request", "The supplied request must present a code_challenge. Required for single-page apps using the authorization code flow.", 400},
	codeTenantNotFound:        {"invalid_tenant", "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", 400},
}

// Error is a B2C error to answer with; Cause is for the log only.
type Error struct {
	Code  int
	Args  []any
	Cause error
}

func b2cErr(code int, args ...any) *Error { return &Error{Code: code, Args: args} }

func (e *Error) wrap(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

func (e *Error) entry() entry {
	if en, ok := catalogue[e.Code]; ok {
		return en
	}
	return entry{"server_error", "An unhandled exception has occurred on the server.", 500}
}

// Message is the text after the code.
func (e *Error) Message() string {
	if len(e.Args) == 0 {
		return e.entry().message
	}
	return fmt.Sprintf(e.entry().message, e.Args...)
}

// Prefix is "AADB2C<code>" (or "AADSTS90002" for an unknown tenant).
func (e *Error) Prefix() string {
	if e.Code < 0 {
		return "AADSTS" + strconv.Itoa(-e.Code)
	}
	return "AADB2C" + strconv.Itoa(e.Code)
}

// OAuth is the OAuth 2.0 error string; Status the HTTP status of a JSON answer.
func (e *Error) OAuth() string { return e.entry().oauth }
func (e *Error) Status() int   { return e.entry().status }

func (e *Error) Error() string {
	s := e.Prefix() + ": " + e.Message()
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// description is error_description as B2C writes it.
func (e *Error) description(corrID string, now time.Time) string {
	return e.Prefix() + ": " + e.Message() + "\r\nCorrelation ID: " + corrID + "\r\nTimestamp: " + now.UTC().Format("2006-01-02 15:04:05Z")
}

// writeJSON answers a metadata, keys or token request with err.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, err error) {
	e := h.internal(r, err)
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{e.OAuth(), e.description(correlationID(r), h.opts.Now())})
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store, no-cache")
	hd.Set("Pragma", "no-cache")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status())
	_, _ = w.Write(body)
}

// correlationID is the caller's client-request-id when it sent one, else
// the request's trace id.
func correlationID(r *http.Request) string {
	if c := r.Header.Get("Client-Request-Id"); c != "" && len(c) <= 64 {
		return c
	}
	return aadsts.TraceID(r)
}
