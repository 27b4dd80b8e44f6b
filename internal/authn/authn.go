// Package authn checks what users type on the sign-in page: passwords
// (argon2id), with Entra's smart-lockout behaviour per account and per source
// address, and writes every attempt to the sign-in log.
//
// It never tells an attacker which usernames exist: an unknown user costs the
// same argon2id verification (against a dummy hash) and gets the same answer
// (AADSTS50126) as a wrong password, and unknown usernames lock out like real
// ones. A disabled account (AADSTS50057) is only revealed to someone who
// typed its correct password.
package authn

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/secrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/tracing"
)

// Options tune throttling. Zero values take Entra's smart-lockout defaults.
type Options struct {
	// Observe, if set, is told of every sign-in attempt written to the log
	// (errorCode 0 for a success), for metrics.
	Observe func(errorCode int)
	// AccountThreshold failed attempts for one username within Window lock
	// it for LockoutDuration. Entra: 10.
	AccountThreshold int
	// IPThreshold failed attempts from one address within Window block that
	// address for LockoutDuration (password spraying).
	IPThreshold int
	// Window is how long failed attempts are counted, from the first one.
	Window time.Duration
	// LockoutDuration is how long a lock lasts. Entra: 60 seconds.
	LockoutDuration time.Duration
	// MaxConcurrentHashes bounds the argon2id verifications that run at
	// once; more wait their turn. Default GOMAXPROCS: a verification holds a
	// core for its whole run, so more at once finish no sooner, and each
	// would evict the others' 19 MiB from the caches (~10% more CPU per
	// hash with twice as many as cores) and hold 19 MiB more memory.
	MaxConcurrentHashes int
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultAccountThreshold = 10
	DefaultIPThreshold      = 100
	DefaultWindow           = 10 * time.Minute
	DefaultLockoutDuration  = time.Minute
)

func (o *Options) complete() {
	if o.AccountThreshold <= 0 {
		o.AccountThreshold = DefaultAccountThreshold
	}
	if o.IPThreshold <= 0 {
		o.IPThreshold = DefaultIPThreshold
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.LockoutDuration <= 0 {
		o.LockoutDuration = DefaultLockoutDuration
	}
	if o.MaxConcurrentHashes <= 0 {
		o.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Authenticator checks passwords against the directory.
type Authenticator struct {
	st      store.Store
	opts    Options
	dummy   string        // an argon2id hash nobody knows the password of
	hashing chan struct{} // a slot per verification running (MaxConcurrentHashes)
}

// New returns an Authenticator. It hashes a random password once, so that
// unknown users cost one argon2id verification with the current parameters.
func New(st store.Store, opts Options) (*Authenticator, error) {
	opts.complete()
	dummy, err := secrets.HashPassword(ids.RandomToken(32))
	if err != nil {
		return nil, err
	}
	return &Authenticator{st: st, opts: opts, dummy: dummy, hashing: make(chan struct{}, opts.MaxConcurrentHashes)}, nil
}

// Attempt is one password sign-in attempt.
type Attempt struct {
	// TenantID is the tenant being signed in to.
	TenantID string
	// Username is what the user typed (a UPN; a guest types their home UPN).
	Username string
	Password string
	// AppID and AppDisplayName name the app the user signs in to (for the log).
	AppID          string
	AppDisplayName string
	// IP is the source address (throttling and the log).
	IP            string
	CorrelationID string
	// ClientApp is the log's clientAppUsed: "Browser" when empty (the
	// sign-in pages); the password grant passes ClientAppMobileDesktop.
	ClientApp string
	// MembersOnly refuses guests, once their password is verified
	// (AADSTS50020): the password grant signs in members only, as Entra's
	// does; a guest authenticates at home, interactively.
	MembersOnly bool
}

// ClientAppMobileDesktop is the clientAppUsed Entra logs for token requests
// made by installed apps and services (the password grant).
const ClientAppMobileDesktop = "Mobile Apps and Desktop clients"

// Password checks a password attempt. It returns the account signed in to
// in Attempt.TenantID — for a guest, the guest object, checked with the
// password of its home account — or an *aadsts.Error: 50053 (locked), 50126
// (unknown user or wrong password), 50057 (disabled). Other errors are the
// store's. Every outcome except store errors is written to the sign-in log.
func (a *Authenticator) Password(ctx context.Context, at Attempt) (store.User, error) {
	at.Username = strings.TrimSpace(at.Username)
	now := a.opts.Now()
	acctKey := "signin-acct:" + at.TenantID + ":" + store.HashToken(strings.ToLower(at.Username))
	ipKey := "signin-ip:" + at.IP

	locked, err := a.locked(ctx, now, acctKey, ipKey)
	if err != nil {
		return store.User{}, err
	}
	if locked {
		a.log(ctx, at, store.User{}, aadsts.New(aadsts.AccountLocked))
		return store.User{}, aadsts.New(aadsts.AccountLocked)
	}

	account, cred, err := a.find(ctx, at.TenantID, at.Username)
	if err != nil {
		return store.User{}, err
	}
	hash := cred.PasswordHash
	if hash == "" {
		hash = a.dummy
	}
	if err := a.waitTurn(ctx); err != nil {
		return store.User{}, err // no attempt was made
	}
	ok, err := func() (bool, error) {
		defer func() { <-a.hashing }()
		_, span := tracing.Start(ctx, "verify password argon2id")
		defer span.End()
		return secrets.VerifyPassword(hash, at.Password)
	}()
	if err != nil {
		// A hash Entrance cannot read is a broken account, not a right password.
		a.opts.Logger.ErrorContext(ctx, "unreadable password hash", "tenant", at.TenantID, "user", cred.ID, "err", err)
		ok = false
	}
	if !ok || cred.PasswordHash == "" {
		if err := a.fail(ctx, now, acctKey, ipKey); err != nil {
			return store.User{}, err
		}
		e := aadsts.New(aadsts.InvalidUsernameOrPassword)
		a.log(ctx, at, account, e)
		return store.User{}, e
	}
	if !account.AccountEnabled || !cred.AccountEnabled {
		e := aadsts.New(aadsts.UserDisabled)
		a.log(ctx, at, account, e)
		return store.User{}, e
	}
	if at.MembersOnly && account.UserType == store.UserTypeGuest {
		e := aadsts.New(aadsts.GuestPasswordGrant, at.Username, cred.TenantID, at.TenantID, at.AppID, at.AppDisplayName)
		a.log(ctx, at, account, e)
		return store.User{}, e
	}
	// A success clears the account's failures. Most sign-ins have none, and
	// a read is cheaper than a write (SQLite serialises writes).
	if n, err := a.st.PeekCounter(ctx, acctKey, a.opts.Window, now); err != nil {
		return store.User{}, err
	} else if n > 0 {
		if err := a.st.ResetCounter(ctx, acctKey); err != nil {
			return store.User{}, err
		}
	}
	a.log(ctx, at, account, nil)
	return account, nil
}

// waitTurn takes a verification slot (MaxConcurrentHashes), to be given
// back with <-a.hashing, or returns ctx's error if ctx ends first.
func (a *Authenticator) waitTurn(ctx context.Context) error {
	select {
	case a.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Lock counters: a lock is a counter whose window is the lockout duration,
// hit once when the failure threshold is reached; it is in force while its
// window lasts.
func lockKey(key string) string { return key + ":lock" }

func (a *Authenticator) locked(ctx context.Context, now time.Time, keys ...string) (bool, error) {
	for _, k := range keys {
		n, err := a.st.PeekCounter(ctx, lockKey(k), a.opts.LockoutDuration, now)
		if err != nil {
			return false, err
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}

// fail counts a failed attempt for the account and the address, locking
// either when it reaches its threshold.
func (a *Authenticator) fail(ctx context.Context, now time.Time, acctKey, ipKey string) error {
	for _, c := range []struct {
		key       string
		threshold int
	}{{acctKey, a.opts.AccountThreshold}, {ipKey, a.opts.IPThreshold}} {
		n, err := a.st.HitCounter(ctx, c.key, a.opts.Window, now)
		if err != nil {
			return err
		}
		if n < c.threshold {
			continue
		}
		if _, err := a.st.HitCounter(ctx, lockKey(c.key), a.opts.LockoutDuration, now); err != nil {
			return err
		}
		// Counting starts again after the lock, as Entra's smart lockout does.
		if err := a.st.ResetCounter(ctx, c.key); err != nil {
			return err
		}
	}
	return nil
}

// find returns the account username signs in to in tenant and the user whose
// password it is checked against: a member is both; a guest is found by its
// home UPN and checked with its home account. Unknown usernames return zero
// users and no error.
func (a *Authenticator) find(ctx context.Context, tenantID, username string) (account, cred store.User, err error) {
	u, err := a.st.GetUserByUPN(ctx, tenantID, username)
	switch {
	case err == nil && u.UserType != store.UserTypeGuest:
		return u, u, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.User{}, store.User{}, err
	}
	// A guest types the UPN of its home account, as on Entra's page.
	_, domain, ok := directory.SplitUPN(username)
	if !ok || !directory.IsDomainName(domain) {
		return store.User{}, store.User{}, nil
	}
	home, err := a.st.GetTenantByDomain(ctx, domain)
	if errors.Is(err, store.ErrNotFound) || (err == nil && home.ID == tenantID) {
		return store.User{}, store.User{}, nil
	}
	if err != nil {
		return store.User{}, store.User{}, err
	}
	homeUser, err := a.st.GetUserByUPN(ctx, home.ID, username)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, store.User{}, nil
	}
	if err != nil {
		return store.User{}, store.User{}, err
	}
	guests, err := a.st.ListGuestsOf(ctx, homeUser.ID)
	if err != nil {
		return store.User{}, store.User{}, err
	}
	for _, g := range guests {
		if g.TenantID == tenantID {
			return g, homeUser, nil
		}
	}
	return store.User{}, store.User{}, nil
}

// Event is a sign-in to log that did not involve a password: single sign-on
// from an existing session, or a failure the authorize endpoint decided.
type Event struct {
	TenantID       string
	User           store.User
	AppID          string
	AppDisplayName string
	IP             string
	CorrelationID  string
	// Err is nil for a success.
	Err *aadsts.Error
}

// Record writes an event to the sign-in log.
func (a *Authenticator) Record(ctx context.Context, ev Event) {
	a.write(ctx, entry(a.opts.Now(), ev.TenantID, ev.User, ev.User.UserPrincipalName, ev.AppID, ev.AppDisplayName, ev.IP, ev.CorrelationID, ev.Err))
}

func (a *Authenticator) log(ctx context.Context, at Attempt, u store.User, e *aadsts.Error) {
	upn := u.UserPrincipalName
	if upn == "" {
		upn = at.Username
	}
	s := entry(a.opts.Now(), at.TenantID, u, upn, at.AppID, at.AppDisplayName, at.IP, at.CorrelationID, e)
	if at.ClientApp != "" {
		s.ClientAppUsed = at.ClientApp
	}
	a.write(ctx, s)
}

func entry(now time.Time, tenantID string, u store.User, upn, appID, appName, ip, corrID string, e *aadsts.Error) store.SignIn {
	s := store.SignIn{
		ID:                ids.NewGUID(),
		CreatedDateTime:   now.UTC(),
		TenantID:          tenantID,
		UserID:            u.ID,
		UserPrincipalName: truncate(upn, 256),
		AppID:             appID,
		AppDisplayName:    appName,
		IPAddress:         ip,
		ClientAppUsed:     "Browser",
		CorrelationID:     corrID,
	}
	if e != nil {
		s.ErrorCode = e.Code
		s.FailureReason = e.Message()
	}
	return s
}

// write stores a log entry. A sign-in is not refused because the log could
// not be written (the database failing would refuse it anyway); the failure
// is logged.
func (a *Authenticator) write(ctx context.Context, s store.SignIn) {
	if a.opts.Observe != nil {
		a.opts.Observe(s.ErrorCode)
	}
	if err := a.st.CreateSignIn(ctx, s); err != nil {
		a.opts.Logger.ErrorContext(ctx, "sign-in log not written", "tenant", s.TenantID, "user", s.UserID, "code", s.ErrorCode, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
