package authorize

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/authn"
	"github.com/entranceidp/entrance/internal/devicecode"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/ui"
)

// The device page, the verification_uri of the device code flow: GET and
// POST /devicelogin. The user enters the code their device shows, confirms
// the app is theirs, then signs in and consents through the same pages as
// the authorize endpoint (a flow whose Device names the device code); at
// the end the device code is approved instead of a code being sent to a
// redirect URI, and the device's next poll gets the tokens.
//
// A user code carries 45 bits, and wrong codes are counted per address
// (throttled after deviceMaxWrongCodes in deviceWrongCodeWindow), so codes
// cannot be guessed in their 15 minutes. The confirmation step and the
// account picker (never silent single sign-on) guard against the phishing
// this flow invites: someone sending a victim their own code.

// Throttling of wrong codes per client address.
const (
	deviceMaxWrongCodes    = 20
	deviceWrongCodeWindow  = 15 * time.Minute
	deviceWrongCodeCounter = "devicecode-ip:"
)

// Messages on the device page.
const (
	titleDeviceCode    = "Enter code"
	titleDeviceConfirm = "Continue signing in"
	msgDeviceBadCode   = "That code didn't work. Check the code and try again."
	msgDeviceExpired   = "That code has expired. Go back to your app or device to get a new code, then try again."
	msgDeviceUsed      = "That code has already been used. Go back to your app or device to get a new code, then try again."
	msgDeviceThrottled = "You've entered too many codes that didn't work. Wait a few minutes, then try again."
)

// errDeviceCodeState aborts an approval or decline of a device code that
// is no longer pending; deviceCodeMessage says why.
var errDeviceCodeState = errors.New("device code is not pending")

func (h *Handler) registerDevice(mux *http.ServeMux) {
	mux.HandleFunc("GET "+devicecode.VerificationPath, h.deviceGet)
	mux.HandleFunc("POST "+devicecode.VerificationPath, h.devicePost)
}

func (h *Handler) deviceGet(w http.ResponseWriter, r *http.Request) {
	r = withBrowser(r, h.opts.CSRF.Browser(w, r))
	h.showDeviceCode(w, r, "", "")
}

// devicePost serves the device page's forms: the code (action=code, otc),
// and the confirmation (action=continue or cancel, with the sealed flow).
func (h *Handler) devicePost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, "request")})
		return
	}
	browser, ok := h.opts.CSRF.Verify(r)
	if !ok {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, ui.CSRFField)})
		return
	}
	r = withBrowser(r, browser)
	action := r.PostFormValue("action")
	if action == "code" {
		h.takeDeviceCode(w, r, r.PostFormValue("otc"))
		return
	}
	f, err := h.sealer.open(r.PostFormValue("flow"), store.HashToken(browser), h.opts.Now())
	if err != nil || f.Device == "" {
		h.page(w, r, correlationID(r), &pageError{err: aadsts.New(aadsts.FlowTokenExpired)})
		return
	}
	app, err := h.opts.Store.GetApplicationByAppID(r.Context(), f.Req.ClientID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = aadsts.New(aadsts.AppNotFound, f.Req.ClientID, f.Req.PathTenant)
		}
		h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	switch action {
	case "continue":
		dc, err := h.opts.Store.GetDeviceCode(r.Context(), f.Device)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
			return
		}
		if msg := h.deviceCodeMessage(dc, err); msg != "" {
			h.showDeviceCode(w, r, "", msg)
			return
		}
		// Always an explicit choice of account: a code sent by someone
		// else must not be approved by a silent single sign-on.
		h.choose(w, r, f, app)
	case "cancel":
		h.declineDevice(w, r, f, app, nil)
	default:
		h.page(w, r, f.Req.CorrelationID, &pageError{err: aadsts.New(aadsts.InvalidRequestParameter, "action")})
	}
}

func (h *Handler) showDeviceCode(w http.ResponseWriter, r *http.Request, typed, msg string) {
	page := ui.DeviceCode{Form: ui.Form{
		Title: titleDeviceCode, Action: devicecode.VerificationPath, Error: msg,
		CSRF: h.opts.CSRF.Token(browserFrom(r)),
	}, Code: typed}
	if err := ui.Render(w, http.StatusOK, ui.PageDeviceCode, page, ui.CSP{}); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "render", "page", ui.PageDeviceCode, "err", err)
	}
}

// takeDeviceCode finds the device code a user typed and asks them to
// confirm the app it is for.
func (h *Handler) takeDeviceCode(w http.ResponseWriter, r *http.Request, typed string) {
	ctx := r.Context()
	now := h.opts.Now()
	counter := deviceWrongCodeCounter + clientIP(r)
	n, err := h.opts.Store.PeekCounter(ctx, counter, deviceWrongCodeWindow, now)
	if err != nil {
		h.page(w, r, correlationID(r), &pageError{err: h.internal(r, err)})
		return
	}
	if n >= deviceMaxWrongCodes {
		h.showDeviceCode(w, r, typed, msgDeviceThrottled)
		return
	}
	dc, err := store.DeviceCode{}, store.ErrNotFound
	if code, ok := devicecode.NormalizeUserCode(typed); ok {
		dc, err = h.opts.Store.GetDeviceCodeByUserCode(ctx, code)
	}
	if errors.Is(err, store.ErrNotFound) {
		if _, err := h.opts.Store.HitCounter(ctx, counter, deviceWrongCodeWindow, now); err != nil {
			h.page(w, r, correlationID(r), &pageError{err: h.internal(r, err)})
			return
		}
		h.showDeviceCode(w, r, typed, msgDeviceBadCode)
		return
	}
	if err != nil {
		h.page(w, r, correlationID(r), &pageError{err: h.internal(r, err)})
		return
	}
	if msg := h.deviceCodeMessage(dc, nil); msg != "" {
		h.showDeviceCode(w, r, typed, msg)
		return
	}
	app, err := h.opts.Store.GetApplicationByAppID(ctx, dc.ClientID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = aadsts.New(aadsts.AppNotFound, dc.ClientID, dc.PathTenant)
		}
		h.page(w, r, dc.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	expires := now.Add(h.opts.FlowLifetime)
	if dc.ExpiresAt.Before(expires) {
		expires = dc.ExpiresAt
	}
	f := &flow{
		Req: Request{
			Version: dc.EndpointVersion, PathTenant: dc.PathTenant, TenantID: dc.TenantID, ClientID: app.AppID,
			Scope: dc.Scope, Resource: dc.Resource, Prompt: PromptSelectAccount, MaxAge: -1,
			Claims: dc.ClaimsRequest, CorrelationID: dc.CorrelationID,
		},
		Browser:  store.HashToken(browserFrom(r)),
		Expires:  expires.Unix(),
		TenantID: dc.TenantID,
		Device:   dc.ID,
	}
	fm, err := h.form(r, f, app, titleDeviceConfirm, "")
	if err != nil {
		h.page(w, r, dc.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	fm.Action = devicecode.VerificationPath
	h.render(w, r, f, ui.PageDeviceConfirm, ui.DeviceConfirm{Form: fm})
}

// deviceCodeMessage says why a device code (or the error reading it) can no
// longer be signed in with, or "" if it can.
func (h *Handler) deviceCodeMessage(dc store.DeviceCode, err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound) || !h.opts.Now().Before(dc.ExpiresAt):
		return msgDeviceExpired // a missing one was swept after it expired
	case !dc.ApprovedAt.IsZero() || !dc.DeclinedAt.IsZero() || !dc.RedeemedAt.IsZero():
		return msgDeviceUsed
	}
	return ""
}

// decideDevice records the user's decision on the flow's device code, if
// it is still pending: set fills in the approval or decline.
func (h *Handler) decideDevice(r *http.Request, f *flow, set func(*store.DeviceCode)) (string, error) {
	msg := ""
	_, err := h.opts.Store.UpdateDeviceCode(r.Context(), f.Device, func(v store.DeviceCode) (store.DeviceCode, error) {
		if msg = h.deviceCodeMessage(v, nil); msg != "" {
			return v, errDeviceCodeState
		}
		set(&v)
		return v, nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return h.deviceCodeMessage(store.DeviceCode{}, err), nil
	case errors.Is(err, errDeviceCodeState):
		return msg, nil
	}
	return "", err
}

// approveDevice ends a device sign-in: it approves the device code for the
// signed-in account (the device's next poll gets the tokens) and tells the
// user they may close the window. The authorize flow's issue step calls it.
func (h *Handler) approveDevice(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, u store.User, s store.Session) {
	ctx := r.Context()
	now := h.opts.Now().UTC()
	msg, err := h.decideDevice(r, f, func(v *store.DeviceCode) {
		v.TenantID, v.UserID, v.SessionID = f.TenantID, u.ID, s.ID
		v.AuthTime, v.AuthMethods, v.ApprovedAt = f.AuthTime, slices.Clone(f.Methods), now
	})
	if err != nil {
		h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	if msg != "" {
		h.showDeviceCode(w, r, "", msg)
		return
	}
	if _, err := h.opts.Sessions.Used(ctx, s, app.AppID); err != nil {
		h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	if !f.Fresh {
		// Password sign-ins are logged by authn; single sign-on is logged here.
		h.opts.Authn.Record(ctx, authn.Event{
			TenantID: f.TenantID, User: u, AppID: app.AppID, AppDisplayName: app.DisplayName,
			IP: clientIP(r), CorrelationID: f.Req.CorrelationID,
		})
	}
	h.render(w, r, f, ui.PageDeviceDone, ui.DeviceDone{Title: app.DisplayName, AppName: app.DisplayName, Approved: true})
}

// deviceFailed shows an error of a device sign-in, which the authorize flow
// would have sent to the redirect URI. A refusal (access_denied: the user
// cancelled consent, an admin must consent, the user is not assigned)
// declines the device code, so the device stops polling with
// authorization_declined; anything else leaves it pending for another try.
func (h *Handler) deviceFailed(w http.ResponseWriter, r *http.Request, f *flow, e *aadsts.Error) {
	if e.OAuth() != "access_denied" {
		h.page(w, r, f.Req.CorrelationID, &pageError{err: e})
		return
	}
	app, err := h.opts.Store.GetApplicationByAppID(r.Context(), f.Req.ClientID)
	if err != nil {
		h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
		return
	}
	h.declineDevice(w, r, f, app, e)
}

// declineDevice declines the flow's device code: Cancel on the
// confirmation or consent page (e nil or 65004 shows the declined page), or
// another refusal e (shown on the error page).
func (h *Handler) declineDevice(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, e *aadsts.Error) {
	now := h.opts.Now().UTC()
	msg, err := h.decideDevice(r, f, func(v *store.DeviceCode) { v.DeclinedAt = now })
	switch {
	case err != nil:
		h.page(w, r, f.Req.CorrelationID, &pageError{err: h.internal(r, err)})
	case msg != "":
		h.showDeviceCode(w, r, "", msg)
	case e != nil && e.Code != aadsts.UserDeclinedConsent:
		h.page(w, r, f.Req.CorrelationID, &pageError{err: e})
	default:
		h.render(w, r, f, ui.PageDeviceDone, ui.DeviceDone{Title: app.DisplayName, AppName: app.DisplayName})
	}
}
