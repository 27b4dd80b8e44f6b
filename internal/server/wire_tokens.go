package server

import (
	"net/http"

	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/claims"
	"github.com/entranceidp/entrance/internal/jwtverify"
	"github.com/entranceidp/entrance/internal/token"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/userinfo"
)

// newIssuer is the token issuer of the token and authorize endpoints.
func (s *Server) newIssuer() *tokens.Issuer {
	return tokens.New(s.st, s.keys, s.URLs(), s.secrets.PairwiseSubjectKey, tokens.Options{
		AccessTokenLifetimeMin:      s.cfg.AccessTokenLifetimeMin,
		AccessTokenLifetimeMax:      s.cfg.AccessTokenLifetimeMax,
		RefreshTokenMaxInactiveTime: s.cfg.RefreshTokenMaxInactive,
	})
}

// registerTokens mounts the token endpoint, userinfo and Entrance's Graph
// stand-in.
func (s *Server) registerTokens(mux *http.ServeMux, issuer *tokens.Issuer) error {
	urls := s.URLs()
	// One verifier for the access tokens Entrance gets back (Graph bearer
	// tokens, on-behalf-of assertions), so they share its key cache.
	verifier := jwtverify.New(jwtverify.Options{Store: s.st, Keys: s.keys, URLs: urls})
	// The password grant checks passwords like the sign-in page: the same
	// lockout counters (kept in the store) and the same sign-in log.
	an, err := authn.New(s.st, s.authnOptions())
	if err != nil {
		return err
	}
	token.New(token.Options{
		Store:        s.st,
		Issuer:       issuer,
		SecretHasher: s.secrets.ClientSecretHasher(),
		PublicURL:    s.cfg.PublicURL,
		Errors:       s.errors,
		// Entra keeps a redeemed refresh token valid; operators who want
		// rotation with reuse refused turn this on.
		SingleUseRefreshTokens: s.cfg.SingleUseRefreshTokens,
		Authn:                  an,
		Verifier:               verifier,
		Logger:                 s.log,
		Observe:                s.metrics.token,
	}).Register(mux)
	userinfo.New(userinfo.Options{
		Store:     s.st,
		Keys:      s.keys,
		URLs:      urls,
		Verifier:  verifier,
		PublicURL: s.cfg.PublicURL,
		Subject: func(userID, appID, tenantID string) string {
			return claims.PairwiseSubject(s.secrets.PairwiseSubjectKey, tenantID, appID, userID)
		},
		Logger: s.log,
	}).Register(mux)
	return nil
}
