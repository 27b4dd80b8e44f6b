package server

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"net/http"
	"slices"

	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/authorize"
	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/session"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tokens"
	"github.com/entranceidp/entrance/internal/ui"
)

// signInOptions tune the sign-in endpoints; zero values are Entra's
// defaults (see each package).
type signInOptions struct {
	Session   session.Options
	Authn     authn.Options
	Authorize authorize.Options // only CodeLifetime and FlowLifetime are read
}

// signInConfig maps the configuration onto the sign-in options; a zero
// setting keeps the package's default.
func signInConfig(c config.Config) signInOptions {
	return signInOptions{
		Session: session.Options{MaxLifetime: c.SessionLifetime, IdleTimeout: c.SessionIdleTimeout},
		Authn: authn.Options{
			AccountThreshold: c.LockoutThreshold,
			IPThreshold:      c.LockoutIPThreshold,
			Window:           c.LockoutWindow,
			LockoutDuration:  c.LockoutDuration,
		},
	}
}

// authnOptions are the password checks' options: the configured lockout,
// this server's logger, and the sign-in metrics. Every endpoint that checks
// passwords (sign-in pages, the password grant, B2C) uses them, so they
// share lockout counters (in the store) and the sign-in log.
func (s *Server) authnOptions() authn.Options {
	o := signInConfig(s.cfg).Authn
	o.Logger = s.log
	o.Observe = s.metrics.signIn
	return o
}

// registerSignIn mounts the interactive sign-in endpoints: authorize, the
// sign-in, consent and error pages, and sign-out.
func (s *Server) registerSignIn(mux *http.ServeMux, issuer *tokens.Issuer) error {
	opts := signInConfig(s.cfg)
	an, err := authn.New(s.st, s.authnOptions())
	if err != nil {
		return err
	}
	// The sign-in flow and CSRF keys are derived from a server secret every
	// replica shares, so any replica can continue a sign-in another began.
	flowKey, err := hkdf.Key(sha256.New, s.secrets.ClientSecretPepper, nil, "entrance sign-in flow state", 32)
	if err != nil {
		return err
	}
	csrfKey, err := hkdf.Key(sha256.New, s.secrets.ClientSecretPepper, nil, "entrance sign-in csrf", 32)
	if err != nil {
		return err
	}
	h, err := authorize.New(authorize.Options{
		Store:        s.st,
		Sessions:     session.New(s.st, opts.Session),
		Authn:        an,
		Consent:      scopesConsent{st: s.st},
		Issuer:       issuer,
		Errors:       s.errors,
		CSRF:         ui.NewCSRF(csrfKey),
		FlowKey:      flowKey,
		CodeLifetime: opts.Authorize.CodeLifetime,
		FlowLifetime: opts.Authorize.FlowLifetime,
		Logger:       s.log,
	})
	if err != nil {
		return err
	}
	h.Register(mux)
	return nil
}

// scopesConsent answers the consent questions of the authorize endpoint
// with internal/scopes, which the token endpoint uses too, so both agree on
// what is consented.
type scopesConsent struct{ st store.Store }

func (c scopesConsent) Check(ctx context.Context, q authorize.ConsentQuery) (authorize.ConsentCheck, error) {
	res, err := scopes.Resolve(ctx, c.st, q.TenantID, q.Client, q.Scope, q.Resource)
	if err != nil {
		return authorize.ConsentCheck{}, err
	}
	requested, err := scopes.Requested(ctx, c.st, q.TenantID, q.Client, res)
	if err != nil {
		return authorize.ConsentCheck{}, err
	}
	missing, err := scopes.Missing(ctx, c.st, q.TenantID, q.Client, res, q.User.ID)
	if err != nil {
		return authorize.ConsentCheck{}, err
	}
	// Every directory role of the user, whatever the app's group claims.
	_, wids, err := scopes.Groups(ctx, c.st, q.TenantID, q.User.ID, store.Application{GroupMembershipClaims: directory.GroupClaimsDirectoryRole})
	if err != nil {
		return authorize.ConsentCheck{}, err
	}
	notAssigned := false
	sp, err := c.st.GetServicePrincipalByAppID(ctx, q.TenantID, q.Client.AppID)
	switch {
	case err == nil && sp.AppRoleAssignmentRequired:
		assigned, err := scopes.IsAssigned(ctx, c.st, q.TenantID, q.Client, q.User.ID)
		if err != nil {
			return authorize.ConsentCheck{}, err
		}
		notAssigned = !assigned
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return authorize.ConsentCheck{}, err
	}
	return authorize.ConsentCheck{
		Requested:   permissions(requested),
		Missing:     permissions(missing),
		Admin:       scopes.CanGrantAdminConsent(wids),
		NotAssigned: notAssigned,
	}, nil
}

// Grant grants what is missing, or with nothing missing (prompt=consent)
// everything requested that the grant may cover.
func (c scopesConsent) Grant(ctx context.Context, q authorize.ConsentQuery, forOrganization bool) error {
	res, err := scopes.Resolve(ctx, c.st, q.TenantID, q.Client, q.Scope, q.Resource)
	if err != nil {
		return err
	}
	perms, err := scopes.Missing(ctx, c.st, q.TenantID, q.Client, res, q.User.ID)
	if err != nil {
		return err
	}
	if len(perms) == 0 {
		if perms, err = scopes.Requested(ctx, c.st, q.TenantID, q.Client, res); err != nil {
			return err
		}
		if !forOrganization {
			// Admin-type permissions were consented for everyone already.
			perms = slices.DeleteFunc(perms, func(p scopes.Permission) bool { return p.Scope.Type == directory.ScopeTypeAdmin })
		}
	}
	return scopes.Grant(ctx, c.st, q.TenantID, q.Client, perms, q.User.ID, forOrganization)
}

// permissions are scope permissions as the consent page shows them: Entra
// shows users the user-consent wording, and admins' wording for Admin-type
// scopes; Graph's are listed without the resource's name.
func permissions(ps []scopes.Permission) []authorize.Permission {
	out := make([]authorize.Permission, 0, len(ps))
	for _, p := range ps {
		sc := p.Scope
		admin := sc.Type == directory.ScopeTypeAdmin
		name, desc := sc.UserConsentDisplayName, sc.UserConsentDescription
		if admin || name == "" {
			name, desc = sc.AdminConsentDisplayName, sc.AdminConsentDescription
		}
		resource := p.Resource.DisplayName
		if directory.IsGraph(p.Resource.AppID) {
			resource = ""
		}
		out = append(out, authorize.Permission{
			Resource: resource, Value: sc.Value, DisplayName: name, Description: desc, AdminOnly: admin,
		})
	}
	return out
}
