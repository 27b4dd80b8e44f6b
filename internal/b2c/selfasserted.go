package b2c

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// The pages' messages, in B2C's words.
const (
	msgNoEmail        = "Please enter your Email Address"
	msgBadEmail       = "Please enter a valid email address."
	msgNoPassword     = "Please enter your password"
	msgBadCredentials = "Invalid username or password."
	msgLocked         = "Your account is temporarily locked to prevent unauthorized use. Try again later."
	msgDisabled       = "Your account has been locked. Contact your support person to unlock it, then try again."
	msgWrongCode      = "The verification code you have entered does not match our records. Please try again, or request a new code."
	msgExpiredCode    = "That code is expired. Please request a new code."
	msgTooManyCodes   = "There have been too many requests to verify this email address. Please wait a while, then try again."
	msgTooManyTries   = "You've made too many incorrect attempts. Please try again later."
	msgSendFailed     = "We are having trouble sending the verification code. Please try again later."
	msgPasswordLength = "The password must be between 8 and 64 characters."
	msgPasswordRules  = "The password must have at least 3 of the following: a lowercase letter, an uppercase letter, a digit, a symbol."
	msgMismatch       = "The password entry fields do not match. Please enter the same password in both fields and try again."
	msgUserExists     = "A user with the specified ID already exists. Please choose a different one."
	msgNoUser         = "An account could not be found for the provided user ID."
	msgTooLong        = "The value entered is too long."
)

// Throttling of email codes (store counters, so every replica counts alike).
const (
	codeLifetime        = 10 * time.Minute
	codeAttempts        = 5 // per code, the right one included
	codeSendsPerEmail   = 5 // per hour
	codeSendsPerAddress = 30
	sendWindow          = time.Hour
	maxAttributeLength  = 256
)

// selfAsserted serves every page's form: POST .../api/selfasserted with the
// sealed flow, the CSRF token and an action of the page's step.
func (h *Handler) selfAsserted(w http.ResponseWriter, r *http.Request) {
	corr := correlationID(r)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, corr, b2cErr(codeBadState))
		return
	}
	browser, ok := h.opts.CSRF.Verify(r)
	if !ok {
		h.errorPage(w, r, corr, b2cErr(codeBadState))
		return
	}
	r = withBrowser(r, browser)
	f, err := h.sealer.open(r.PostFormValue("flow"), store.HashToken(browser), h.opts.Now())
	if err != nil {
		h.errorPage(w, r, corr, b2cErr(codeBadState))
		return
	}
	ctx := r.Context()
	// The directory may have changed since the flow began: the flow, the
	// app and its redirect URI must all still be there.
	t, err := h.resolve(ctx, endpoint{segment: f.Req.TenantID, policy: f.Req.Policy})
	if err != nil {
		h.errorPage(w, r, f.Req.Correlation, err)
		return
	}
	app, err := h.app(ctx, t, f.Req.ClientID)
	if err == nil {
		if _, ok := redirectPlatform(app, f.Req.RedirectURI); !ok {
			err = b2cErr(codeRedirectNotRegistered, f.Req.RedirectURI, app.AppID)
		}
	}
	if err != nil {
		h.errorPage(w, r, f.Req.Correlation, err)
		return
	}

	form := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	action := r.PostFormValue("action")
	susi := t.flow.Type == store.UserFlowSignUpOrSignIn
	switch {
	case action == "cancel":
		h.redirectError(w, r, f, b2cErr(codeUserCancelled))
	case f.Step == stepSignIn && action == "signin":
		h.signIn(w, r, f, t, app, form("email"), r.PostFormValue("password"))
	case f.Step == stepSignIn && action == "forgot":
		f.Reset = true
		h.showEmail(w, r, f, t, app, "", "")
	case f.Step == stepSignIn && action == "signup" && susi:
		h.showEmail(w, r, f, t, app, "", "")
	case (f.Step == stepEmail || f.Step == stepVerify) && action == "send_code":
		email := form("email")
		if f.Step == stepVerify {
			email = f.Email
		}
		h.sendCode(w, r, f, t, app, email)
	case f.Step == stepVerify && action == "change_email":
		f.Email, f.CodeHash, f.CodeID = "", "", ""
		h.showEmail(w, r, f, t, app, "", "")
	case f.Step == stepVerify && action == "verify_code":
		h.verifyCode(w, r, f, t, app, form("code"))
	case f.Step == stepDetails && action == "create" && f.Verified && !f.Reset:
		h.create(w, r, f, t, app)
	case f.Step == stepNewPassword && action == "reset_password" && f.Verified && f.Reset:
		h.resetPassword(w, r, f, t, app, r.PostFormValue("password"), r.PostFormValue("password2"))
	case f.Step == stepProfile && action == "save" && f.UserID != "":
		h.saveProfile(w, r, f, t, app)
	default:
		h.errorPage(w, r, f.Req.Correlation, b2cErr(codeBadState))
	}
}

// signIn checks an email and password (authn: lockout per account and per
// address, the sign-in log) and signs the account in to the tenant's session.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, email, password string) {
	switch {
	case email == "":
		h.showSignIn(w, r, f, t, app, email, msgNoEmail)
		return
	case password == "":
		h.showSignIn(w, r, f, t, app, email, msgNoPassword)
		return
	}
	ctx := r.Context()
	username, err := h.username(r, t, email)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	u, err := h.opts.Authn.Password(ctx, authn.Attempt{
		TenantID: t.tenant.ID, Username: username, Password: password,
		AppID: app.AppID, AppDisplayName: app.DisplayName, IP: clientIP(r), CorrelationID: f.Req.Correlation,
	})
	var e *aadsts.Error
	if errors.As(err, &e) {
		msg := msgBadCredentials
		switch e.Code {
		case aadsts.AccountLocked:
			msg = msgLocked
		case aadsts.UserDisabled:
			msg = msgDisabled
		}
		h.showSignIn(w, r, f, t, app, email, msg)
		return
	}
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if err := h.signedIn(w, r, f, u); err != nil {
		h.fail(w, r, f, err)
		return
	}
	if t.flow.Type == store.UserFlowProfileEdit {
		h.showProfile(w, r, f, t, app, "")
		return
	}
	h.issue(w, r, f, t, app)
}

// username is the UPN an email signs in with: the local account's derived
// UPN, or (for accounts given a UPN in the directory file) the UPN typed.
func (h *Handler) username(r *http.Request, t target, email string) (string, error) {
	upn := directory.LocalAccountUPN(t.tenant, email)
	_, err := h.opts.Store.GetUserByUPN(r.Context(), t.tenant.ID, upn)
	switch {
	case err == nil:
		return upn, nil
	case errors.Is(err, store.ErrNotFound):
		return email, nil
	}
	return "", err
}

// signedIn starts (or joins) the tenant's SSO session for u.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request, f *flow, u store.User) error {
	now := h.opts.Now().UTC()
	acct := store.SessionAccount{UserID: u.ID, AuthTime: now, AuthMethods: []string{store.AuthMethodPassword}}
	s, err := h.opts.Sessions.SignIn(r.Context(), w, r, f.Req.TenantID, acct)
	if err != nil {
		return err
	}
	f.UserID, f.SessionID, f.AuthTime, f.Email = u.ID, s.ID, now, u.Mail
	return nil
}

// sendCode mails a new one-time code to email, throttled per address and
// per source, and asks for it.
func (h *Handler) sendCode(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, email string) {
	switch {
	case email == "":
		h.showEmail(w, r, f, t, app, email, msgNoEmail)
		return
	case len(email) > 256 || !directory.LooksLikeMail(email):
		h.showEmail(w, r, f, t, app, email, msgBadEmail)
		return
	}
	ctx := r.Context()
	now := h.opts.Now()
	for _, c := range []struct {
		key   string
		limit int
	}{
		{"b2c-mail:" + t.tenant.ID + ":" + store.HashToken(strings.ToLower(email)), codeSendsPerEmail},
		{"b2c-mail-ip:" + clientIP(r), codeSendsPerAddress},
	} {
		n, err := h.opts.Store.HitCounter(ctx, c.key, sendWindow, now)
		if err != nil {
			h.fail(w, r, f, err)
			return
		}
		if n > c.limit {
			h.showEmail(w, r, f, t, app, email, msgTooManyCodes)
			return
		}
	}
	code, err := sixDigits()
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if err := h.opts.Mail.SendCode(ctx, CodeMail{To: email, Code: code, Tenant: t.tenant.DisplayName}); err != nil {
		h.opts.Logger.ErrorContext(ctx, "sending an email verification code failed", "trace_id", aadsts.TraceID(r), "err", err)
		h.showEmail(w, r, f, t, app, email, msgSendFailed)
		return
	}
	f.Email, f.Verified = email, false
	f.CodeID = ids.RandomToken(16)
	f.CodeHash = codeHash(f.CodeID, code)
	f.CodeExpires = now.Add(codeLifetime).Unix()
	h.showVerify(w, r, f, app, code, "")
}

// verifyCode checks the code typed against the sealed hash; each code
// allows a few attempts, counted in the store (a sealed flow can be
// replayed, a counter cannot).
func (h *Handler) verifyCode(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, code string) {
	ctx := r.Context()
	now := h.opts.Now()
	if f.CodeID == "" || now.Unix() > f.CodeExpires {
		h.showVerify(w, r, f, app, "", msgExpiredCode)
		return
	}
	n, err := h.opts.Store.HitCounter(ctx, "b2c-code:"+f.CodeID, codeLifetime, now)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if n > codeAttempts {
		f.CodeID, f.CodeHash = "", ""
		h.showVerify(w, r, f, app, "", msgTooManyTries)
		return
	}
	if subtle.ConstantTimeCompare([]byte(codeHash(f.CodeID, code)), []byte(f.CodeHash)) != 1 {
		h.showVerify(w, r, f, app, "", msgWrongCode)
		return
	}
	if err := h.opts.Store.ResetCounter(ctx, "b2c-code:"+f.CodeID); err != nil {
		h.fail(w, r, f, err)
		return
	}
	f.Verified, f.CodeID, f.CodeHash, f.CodeExpires = true, "", "", 0
	if f.Reset {
		h.showNewPassword(w, r, f, app, "")
		return
	}
	h.showDetails(w, r, f, t, app, nil, "")
}

// create makes the local account of a sign-up, signs it in and ends the
// flow with newUser.
func (h *Handler) create(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application) {
	values := map[string]string{}
	for _, a := range t.flow.Attributes {
		values[a] = strings.TrimSpace(r.PostFormValue(a))
	}
	for _, a := range t.flow.Attributes {
		if len(values[a]) > maxAttributeLength {
			h.showDetails(w, r, f, t, app, values, msgTooLong)
			return
		}
	}
	password := r.PostFormValue("password")
	if msg := passwordProblem(password, r.PostFormValue("password2")); msg != "" {
		h.showDetails(w, r, f, t, app, values, msg)
		return
	}
	ctx := r.Context()
	now := h.opts.Now().UTC()
	u := directory.NewUser(t.tenant.ID, directory.LocalAccountUPN(t.tenant, f.Email), "", now)
	u.Mail = strings.ToLower(f.Email)
	setAttributes(&u, t.flow.Attributes, values)
	if err := directory.SetPassword(&u, password, now); err != nil {
		h.showDetails(w, r, f, t, app, values, msgPasswordRules)
		return
	}
	if err := directory.ValidateUser(u, t.tenant); err != nil {
		h.showDetails(w, r, f, t, app, values, msgBadEmail)
		return
	}
	err := h.opts.Store.CreateUser(ctx, u)
	if errors.Is(err, store.ErrAlreadyExists) {
		h.showDetails(w, r, f, t, app, values, msgUserExists)
		return
	}
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.opts.Authn.Record(ctx, authn.Event{TenantID: t.tenant.ID, User: u, AppID: app.AppID, AppDisplayName: app.DisplayName,
		IP: clientIP(r), CorrelationID: f.Req.Correlation})
	if err := h.signedIn(w, r, f, u); err != nil {
		h.fail(w, r, f, err)
		return
	}
	f.NewUser = true
	h.issue(w, r, f, t, app)
}

// resetPassword sets the verified account's new password, signs it in and
// ends the flow. Only the mailbox's owner gets here, so saying that no
// account has the address reveals nothing to anyone else.
func (h *Handler) resetPassword(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, password, confirm string) {
	if msg := passwordProblem(password, confirm); msg != "" {
		h.showNewPassword(w, r, f, app, msg)
		return
	}
	ctx := r.Context()
	username, err := h.username(r, t, f.Email)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	u, err := h.opts.Store.GetUserByUPN(ctx, t.tenant.ID, username)
	if errors.Is(err, store.ErrNotFound) || err == nil && (u.UserType != store.UserTypeMember || !strings.EqualFold(u.Mail, f.Email)) {
		h.showNewPassword(w, r, f, app, msgNoUser)
		return
	}
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	now := h.opts.Now().UTC()
	u, err = h.opts.Store.UpdateUser(ctx, t.tenant.ID, u.ID, func(u store.User) (store.User, error) {
		return u, directory.SetPassword(&u, password, now)
	})
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	if err := h.signedIn(w, r, f, u); err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.issue(w, r, f, t, app)
}

// saveProfile stores the edited attributes and ends the flow.
func (h *Handler) saveProfile(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application) {
	values := map[string]string{}
	for _, a := range t.flow.Attributes {
		values[a] = strings.TrimSpace(r.PostFormValue(a))
		if len(values[a]) > maxAttributeLength {
			h.showProfile(w, r, f, t, app, msgTooLong)
			return
		}
	}
	_, err := h.opts.Store.UpdateUser(r.Context(), t.tenant.ID, f.UserID, func(u store.User) (store.User, error) {
		setAttributes(&u, t.flow.Attributes, values)
		return u, nil
	})
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	h.issue(w, r, f, t, app)
}

// passwordProblem checks a new password against B2C's strong password
// policy (8 to 64 characters, three of four kinds) and its confirmation.
func passwordProblem(password, confirm string) string {
	switch {
	case len(password) < 8 || len(password) > 64:
		return msgPasswordLength
	case directory.ValidatePassword(password) != nil:
		return msgPasswordRules
	case password != confirm:
		return msgMismatch
	}
	return ""
}

// sixDigits is a uniformly random one-time code.
func sixDigits() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	s := n.String()
	return strings.Repeat("0", 6-len(s)) + s, nil
}

// codeHash binds a code to its id; the flow keeps only this.
func codeHash(id, code string) string { return store.HashToken(id + ":" + strings.TrimSpace(code)) }
