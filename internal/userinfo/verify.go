package userinfo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/jwtverify"
)

// graphAudiences are the aud values of an access token for Graph: its
// identifier URI (v1 tokens, as the client named it) or its appId (v2).
var graphAudiences = map[string]bool{
	directory.GraphURI:       true,
	directory.GraphURI + "/": true,
	directory.GraphAppID:     true,
}

// accessToken is what Graph reads from a verified access token.
type accessToken struct{ jwtverify.Claims }

// client is the appId of the client the token was issued to.
func (t accessToken) client() string { return t.Client() }

// hasScope reports whether the token grants one of the delegated scopes.
func (t accessToken) hasScope(any ...string) bool { return t.HasScope(any...) }

// authError is a failed bearer token check, answered 401 as Graph does.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

func invalid(format string, args ...any) error { return &authError{fmt.Sprintf(format, args...)} }

// bearer verifies the request's access token with the shared verifier
// (internal/jwtverify: RS256 only, a key the token's tenant publishes, that
// tenant's v1 or v2 issuer, within its lifetime) and checks that it is for
// Graph.
func (h *Handler) bearer(ctx context.Context, r *http.Request) (accessToken, error) {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") || strings.TrimSpace(auth[7:]) == "" {
		return accessToken{}, invalid("Access token is empty.")
	}
	c, err := h.verifier.Verify(ctx, auth[7:], nil)
	var ve *jwtverify.Error
	switch {
	case errors.As(err, &ve):
		return accessToken{c}, invalid("%s", graphMessage(ve))
	case err != nil:
		return accessToken{c}, err
	case !graphAudiences[c.Aud]:
		return accessToken{c}, invalid("Access token validation failure. Invalid audience.")
	}
	return accessToken{c}, nil
}

// graphMessage is how Graph words a token that does not verify.
func graphMessage(e *jwtverify.Error) string {
	switch e.Kind {
	case jwtverify.Malformed:
		return e.Reason
	case jwtverify.BadSignature:
		return "Signature validation failed."
	case jwtverify.BadIssuer:
		return "Access token validation failure. Invalid issuer."
	case jwtverify.Expired:
		return "Lifetime validation failed, the token is expired."
	case jwtverify.NotYetValid:
		return "Lifetime validation failed, the token is not yet valid."
	}
	return "Access token validation failure."
}
