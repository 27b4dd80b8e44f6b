// Package session keeps browser SSO sessions: one cookie per tenant, whose
// random value is the key of a server-side store.Session (by its hash), so
// sessions can be listed and revoked and any replica can serve them.
//
// The cookie is Secure, HttpOnly and SameSite=None. None is needed because
// Entra's flows reach /authorize from other sites: MSAL.js's silent sign-in
// loads it in a hidden iframe of the app (a third-party context), and apps
// may POST the authorize request from their own origin; with Lax or Strict
// the browser would not send the cookie and single sign-on would fail.
// Cross-site request forgery is stopped by the sign-in pages' CSRF tokens,
// not by SameSite.
//
// The cookie has no Max-Age: like Entra's without "Stay signed in?", it ends
// with the browser. On the server a session ends after IdleTimeout without
// use or MaxLifetime after the last credential sign-in, whichever is first.
package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// Options are the session lifetimes.
type Options struct {
	// MaxLifetime is how long a session lasts after a credential sign-in at
	// most. Default 90 days: Entra's default sign-in frequency (rolling).
	MaxLifetime time.Duration
	// IdleTimeout ends a session not used for this long. Default 24 hours.
	IdleTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultMaxLifetime = 90 * 24 * time.Hour
	DefaultIdleTimeout = 24 * time.Hour
)

// CookiePrefix starts the name of every SSO cookie; the tenant id follows.
const CookiePrefix = "entrance-sso-"

// touchEvery limits LastSeenAt writes: idle timeouts are hours long, so a
// minute's precision is plenty and saves a write per sign-in.
const touchEvery = time.Minute

// Manager reads and writes sessions.
type Manager struct {
	st   store.Store
	opts Options
}

// New returns a Manager.
func New(st store.Store, opts Options) *Manager {
	if opts.MaxLifetime <= 0 {
		opts.MaxLifetime = DefaultMaxLifetime
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{st: st, opts: opts}
}

// CookieName is the SSO cookie of a tenant.
func CookieName(tenantID string) string { return CookiePrefix + tenantID }

// Load returns the browser's live sessions, one per tenant it is signed in
// to. Cookies of sessions that ended (expired, idle, deleted) are cleared
// through w and their records deleted.
func (m *Manager) Load(ctx context.Context, w http.ResponseWriter, r *http.Request) ([]store.Session, error) {
	now := m.opts.Now()
	var out []store.Session
	for _, c := range r.Cookies() {
		tenantID, ok := strings.CutPrefix(c.Name, CookiePrefix)
		if !ok || !ids.IsGUID(tenantID) || slices.ContainsFunc(out, func(s store.Session) bool { return s.TenantID == tenantID }) {
			continue
		}
		s, err := m.st.GetSession(ctx, store.HashToken(c.Value))
		switch {
		case errors.Is(err, store.ErrNotFound):
			clearCookie(w, tenantID)
			continue
		case err != nil:
			return nil, err
		}
		if s.TenantID != tenantID || !m.alive(s, now) {
			if err := m.st.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			clearCookie(w, tenantID)
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func (m *Manager) alive(s store.Session, now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Sub(s.LastSeenAt) < m.opts.IdleTimeout
}

// Account is one account signed in to the browser.
type Account struct {
	store.SessionAccount
	Session store.Session
	User    store.User
}

// Accounts returns the accounts of sessions that are still signed in. An
// account is dropped (and removed from its session) when its user is gone or
// disabled, when an administrator revoked the user's sessions after it signed
// in (signInSessionsValidFromDateTime), or when the password changed after a
// password sign-in (seed 002: a password change revokes password-based
// cookies).
func (m *Manager) Accounts(ctx context.Context, sessions []store.Session) ([]Account, error) {
	var out []Account
	for _, s := range sessions {
		var dropped []string
		for _, a := range s.Accounts {
			u, err := m.st.GetUser(ctx, s.TenantID, a.UserID)
			if errors.Is(err, store.ErrNotFound) {
				dropped = append(dropped, a.UserID)
				continue
			}
			if err != nil {
				return nil, err
			}
			if Revoked(u, a) {
				dropped = append(dropped, a.UserID)
				continue
			}
			out = append(out, Account{SessionAccount: a, Session: s, User: u})
		}
		if len(dropped) > 0 {
			if _, err := m.removeAccounts(ctx, s.ID, dropped); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// Revoked reports whether an account's sign-in no longer counts for user u.
func Revoked(u store.User, a store.SessionAccount) bool {
	if !u.AccountEnabled || u.SignInSessionsValidFromDateTime.After(a.AuthTime) {
		return true
	}
	return slices.Contains(a.AuthMethods, store.AuthMethodPassword) && u.LastPasswordChangeDateTime.After(a.AuthTime)
}

// SignIn records a credential sign-in of acct to tenantID: the account joins
// (or replaces itself in) the tenant's session. The session gets a new
// cookie value each time, so a value planted before the sign-in is worthless
// after it (session fixation).
func (m *Manager) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, tenantID string, acct store.SessionAccount) (store.Session, error) {
	now := m.opts.Now()
	s := store.Session{TenantID: tenantID, CreatedAt: now, Apps: []string{}}
	var oldID string
	if c, err := r.Cookie(CookieName(tenantID)); err == nil {
		old, err := m.st.GetSession(ctx, store.HashToken(c.Value))
		switch {
		case err == nil && old.TenantID == tenantID && m.alive(old, now):
			s, oldID = old, old.ID
		case err == nil:
			oldID = old.ID
		case !errors.Is(err, store.ErrNotFound):
			return store.Session{}, err
		}
	}
	value := ids.RandomToken(32)
	s.ID = store.HashToken(value)
	s.Accounts = append(slices.DeleteFunc(slices.Clone(s.Accounts), func(a store.SessionAccount) bool { return a.UserID == acct.UserID }), acct)
	s.LastSeenAt = now
	s.ExpiresAt = now.Add(m.opts.MaxLifetime)
	if err := m.st.CreateSession(ctx, s); err != nil {
		return store.Session{}, err
	}
	if oldID != "" {
		if err := m.st.DeleteSession(ctx, oldID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, err
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName(tenantID), Value: value, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode,
	})
	return s, nil
}

// Used records that the session signed the user in to appID: the app joins
// the session's apps (for front-channel sign-out) and the idle clock restarts.
func (m *Manager) Used(ctx context.Context, s store.Session, appID string) (store.Session, error) {
	now := m.opts.Now()
	if slices.Contains(s.Apps, appID) && now.Sub(s.LastSeenAt) < touchEvery {
		return s, nil
	}
	return m.st.UpdateSession(ctx, s.ID, func(s store.Session) (store.Session, error) {
		if !slices.Contains(s.Apps, appID) {
			s.Apps = append(s.Apps, appID)
		}
		s.LastSeenAt = now
		return s, nil
	})
}

// End deletes sessions and clears their cookies (sign-out).
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, sessions []store.Session) error {
	for _, s := range sessions {
		if err := m.st.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		clearCookie(w, s.TenantID)
	}
	return nil
}

// SignOut removes one account from a session, ending the session (and
// clearing its cookie) when no account is left.
func (m *Manager) SignOut(ctx context.Context, w http.ResponseWriter, s store.Session, userID string) error {
	left, err := m.removeAccounts(ctx, s.ID, []string{userID})
	if err != nil {
		return err
	}
	if len(left.Accounts) == 0 {
		return m.End(ctx, w, []store.Session{s})
	}
	return nil
}

func (m *Manager) removeAccounts(ctx context.Context, id string, userIDs []string) (store.Session, error) {
	s, err := m.st.UpdateSession(ctx, id, func(s store.Session) (store.Session, error) {
		s.Accounts = slices.DeleteFunc(s.Accounts, func(a store.SessionAccount) bool { return slices.Contains(userIDs, a.UserID) })
		return s, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, nil
	}
	return s, err
}

// State is the session_state Entra returns with a code: a GUID that stays
// the same for the session and reveals nothing about its cookie.
func State(s store.Session) string {
	sum := sha256.Sum256([]byte("session_state\x00" + s.ID))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func clearCookie(w http.ResponseWriter, tenantID string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName(tenantID), Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode,
	})
}
