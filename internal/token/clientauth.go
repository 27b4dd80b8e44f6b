package token

import (
	"context"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
)

// authenticate checks the client's credential against what the grant
// requires, and returns how the client authenticated (appidacr / azpacr).
//
// Whether a client must authenticate is decided by the grant, as Entra does:
// a code issued to a web redirect URI (or a refresh token issued from one) is
// redeemed only by an authenticated, confidential client (no credential →
// AADSTS7000218); one issued to a spa or publicClient redirect URI is
// redeemed by a public client, which must not present a credential
// (AADSTS700025) — an installed app cannot keep a secret, so a secret there
// is a misconfiguration, not extra assurance.
func (h *Handler) authenticate(ctx context.Context, req *request, app store.Application, confidential bool) (tokens.ClientAuth, error) {
	if !confidential {
		if req.cred.kind != credNone {
			return 0, aadsts.New(aadsts.PublicClientSentSecret)
		}
		return tokens.ClientAuthPublic, nil
	}
	switch req.cred.kind {
	case credSecret:
		return tokens.ClientAuthSecret, h.checkSecret(req, app)
	case credAssertion:
		return tokens.ClientAuthCertificate, h.checkAssertion(ctx, req, app)
	}
	return 0, aadsts.New(aadsts.MissingClientCredential)
}

// checkSecret compares the secret with every credential of the app, only
// through the keyed hash (constant time). A secret that matches only an
// expired credential is AADSTS7000222, so the operator knows to renew it
// rather than hunt for a typo.
func (h *Handler) checkSecret(req *request, app store.Application) error {
	expired := false
	for _, c := range app.PasswordCredentials {
		if !h.opts.SecretHasher.Verify(c.SecretHash, req.cred.secret) {
			continue
		}
		if req.now.Before(c.StartDateTime) {
			continue // not valid yet
		}
		if !c.EndDateTime.IsZero() && !req.now.Before(c.EndDateTime) {
			expired = true
			continue
		}
		return nil
	}
	if expired {
		return aadsts.New(aadsts.ClientSecretExpired, app.AppID)
	}
	return aadsts.New(aadsts.InvalidClientSecret, app.AppID)
}
