package server

import (
	"crypto/hkdf"
	"crypto/sha256"
	"net/http"

	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/b2c"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/ui"
)

// registerB2C mounts the Azure AD B2C endpoints (per user flow metadata,
// keys, authorize, token, logout and the user flow pages) and returns the
// handler, whose QueryForm must wrap the mux: B2C's ?p= form shares its
// paths with Entra's endpoints.
func (s *Server) registerB2C(mux *http.ServeMux, issuer *tokens.Issuer) (*b2c.Handler, error) {
	opts := signInConfig(s.cfg)
	an, err := authn.New(s.st, s.authnOptions())
	if err != nil {
		return nil, err
	}
	// The same keys as the sign-in pages (wire_signin.go): one CSRF cookie
	// serves both, and B2C flows are sealed under a purpose of their own.
	flowKey, err := hkdf.Key(sha256.New, s.secrets.ClientSecretPepper, nil, "entrance sign-in flow state", 32)
	if err != nil {
		return nil, err
	}
	csrfKey, err := hkdf.Key(sha256.New, s.secrets.ClientSecretPepper, nil, "entrance sign-in csrf", 32)
	if err != nil {
		return nil, err
	}
	var mail b2c.Sender = b2c.LogSender{Logger: s.log}
	if s.cfg.SMTPURL == "" && !s.cfg.ShowEmailCodes {
		s.log.Info("no --smtp-url: B2C email verification codes are written to this log")
	}
	if s.cfg.SMTPURL != "" {
		if mail, err = b2c.ParseSMTPURL(s.cfg.SMTPURL, s.cfg.SMTPFrom); err != nil {
			return nil, err
		}
	}
	h, err := b2c.New(b2c.Options{
		Store:        s.st,
		Keys:         s.keys,
		Issuer:       issuer,
		URLs:         s.URLs(),
		Sessions:     session.New(s.st, opts.Session),
		Authn:        an,
		CSRF:         ui.NewCSRF(csrfKey),
		SecretHasher: s.secrets.ClientSecretHasher(),
		FlowKey:      flowKey,
		Mail:         mail,
		ShowCodes:    s.cfg.ShowEmailCodes,
		Errors:       s.errors,
		Logger:       s.log,
	})
	if err != nil {
		return nil, err
	}
	h.Register(mux)
	return h, nil
}
