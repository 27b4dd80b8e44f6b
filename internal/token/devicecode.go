package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/devicecode"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/scopes"
	"github.com/entranceidp/entrance/internal/store"
)

// The device authorization endpoint: POST /{tenant}/oauth2/v2.0/devicecode
// (client_id, scope) and v1 POST /{tenant}/oauth2/devicecode (client_id,
// resource). It hands the device a device code to poll the token endpoint
// with (grant_device_code.go) and the user a short code to enter at the
// device page (internal/authorize). The client does not authenticate here,
// as at Entra: whether it must is decided when it polls.

// deviceCodeResponseV2 is the v2 answer, fields in Entra's order. There is
// no verification_uri_complete: Entra does not send one.
type deviceCodeResponseV2 struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// deviceCodeResponseV1 is the v1 answer: ADAL's names (verification_url)
// and numbers as strings, like the rest of the v1 endpoints.
type deviceCodeResponseV1 struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURL string `json:"verification_url"`
	ExpiresIn       string `json:"expires_in"`
	Interval        string `json:"interval"`
	Message         string `json:"message"`
}

// newUserCodeAttempts bounds the retries when a new user code collides with
// a stored one (a chance of about one in 2^45 per stored code).
const newUserCodeAttempts = 5

func (h *Handler) serveDeviceCode(w http.ResponseWriter, r *http.Request, version string) {
	dc, deviceCode, err := h.newDeviceCode(r, version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	uri := strings.TrimSuffix(h.opts.PublicURL, "/") + devicecode.VerificationPath
	expiresIn, interval := int(devicecode.Lifetime.Seconds()), int(devicecode.Interval.Seconds())
	msg := devicecode.Message(uri, dc.UserCode)
	var body any = deviceCodeResponseV2{dc.UserCode, deviceCode, uri, expiresIn, interval, msg}
	if version == v1 {
		body = deviceCodeResponseV1{dc.UserCode, deviceCode, uri, strconv.Itoa(expiresIn), strconv.Itoa(interval), msg}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // the message holds a URL; keep it as Entra writes it
	_ = enc.Encode(body)     // strings and ints only: cannot fail
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store, no-cache")
	hd.Set("Pragma", "no-cache")
	if c := r.Header.Get("Client-Request-Id"); ids.IsGUID(c) {
		hd.Set("Client-Request-Id", c)
	}
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// newDeviceCode checks a device authorization request and stores its
// device code; it returns the record and the device code value (only its
// hash is stored).
func (h *Handler) newDeviceCode(r *http.Request, version string) (store.DeviceCode, string, error) {
	ctx := r.Context()
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		return store.DeviceCode{}, "", aadsts.New(aadsts.MissingParameter, "client_id")
	}
	if err := r.ParseForm(); err != nil {
		return store.DeviceCode{}, "", aadsts.New(aadsts.MissingParameter, "client_id").Wrap(err)
	}
	form := r.PostForm
	seg := strings.ToLower(r.PathValue("tenant"))
	tenant, err := directory.ResolveTenant(ctx, h.opts.Store, seg)
	switch {
	case errors.Is(err, directory.ErrTenantAlias):
	case errors.Is(err, directory.ErrTenantNotFound):
		return store.DeviceCode{}, "", aadsts.New(aadsts.TenantNotFound, seg)
	case err != nil:
		return store.DeviceCode{}, "", err
	}

	clientID := strings.ToLower(strings.TrimSpace(form.Get("client_id")))
	if clientID == "" {
		return store.DeviceCode{}, "", aadsts.New(aadsts.MissingParameter, "client_id")
	}
	app, err := store.Application{}, store.ErrNotFound
	if ids.IsGUID(clientID) {
		app, err = h.opts.Store.GetApplicationByAppID(ctx, clientID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.DeviceCode{}, "", aadsts.New(aadsts.AppNotFound, clientID, seg)
	} else if err != nil {
		return store.DeviceCode{}, "", err
	}
	// Who may sign in, as at the authorize endpoint: a single-tenant app
	// only at its own tenant, never at common or organizations.
	multi := app.SignInAudience == store.AudienceMultipleOrgs || app.SignInAudience == store.AudienceMultipleOrgsAndPersonal
	switch {
	case tenant.ID == "" && app.SignInAudience == store.AudienceMyOrg:
		return store.DeviceCode{}, "", aadsts.New(aadsts.SingleTenantAppOnCommon, app.AppID, app.DisplayName)
	case tenant.ID != "" && tenant.ID != app.TenantID && !multi:
		return store.DeviceCode{}, "", aadsts.New(aadsts.AppNotFound, app.AppID, seg)
	}

	scope := strings.Join(strings.Fields(form.Get("scope")), " ")
	resource := ""
	if version == v1 {
		if resource = strings.TrimSpace(form.Get("resource")); resource == "" {
			return store.DeviceCode{}, "", aadsts.New(aadsts.MissingParameter, "resource")
		}
	} else if scope == "" {
		return store.DeviceCode{}, "", aadsts.New(aadsts.MissingParameter, "scope")
	}
	// Bad scopes fail now, not after the user has signed in. On common and
	// organizations the user's tenant is not known yet: the app's own
	// tenant stands in (the consent page resolves them again in the user's).
	in := tenant.ID
	if in == "" {
		in = app.TenantID
	}
	res, err := scopes.Resolve(ctx, h.opts.Store, in, app, scope, resource)
	if err != nil {
		return store.DeviceCode{}, "", err
	}
	if err := res.CheckSelf(); err != nil {
		return store.DeviceCode{}, "", err
	}
	claimsReq := form.Get("claims")
	if claimsReq != "" && !json.Valid([]byte(claimsReq)) {
		return store.DeviceCode{}, "", aadsts.New(aadsts.InvalidRequestParameter, "claims")
	}

	now := h.opts.Now().UTC()
	value := ids.RandomToken(32) // 256 bits
	dc := store.DeviceCode{
		ID: store.HashToken(value), TenantID: tenant.ID, PathTenant: seg, ClientID: app.AppID,
		Scope: scope, Resource: resource, EndpointVersion: version, ClaimsRequest: claimsReq,
		CorrelationID: aadsts.CorrelationID(r), IssuedAt: now, ExpiresAt: now.Add(devicecode.Lifetime),
	}
	for range newUserCodeAttempts {
		dc.UserCode = devicecode.NewUserCode()
		if err = h.opts.Store.CreateDeviceCode(ctx, dc); !errors.Is(err, store.ErrAlreadyExists) {
			break
		}
	}
	if err != nil {
		return store.DeviceCode{}, "", err
	}
	return dc, value, nil
}
