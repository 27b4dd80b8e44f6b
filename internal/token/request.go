package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/reqinfo"
	"github.com/entranceidp/entrance/internal/store"
)

// Endpoint versions: which token endpoint was called. The v1 endpoint takes
// resource= and answers numbers as strings.
const (
	v1 = "1.0"
	v2 = "2.0"
)

// assertionTypeJWT is the only client_assertion_type Entra accepts.
const assertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// request is a parsed token request.
type request struct {
	r         *http.Request
	form      url.Values
	version   string
	grantType string
	now       time.Time

	// tenantSeg is the {tenant} path segment, lower-cased. tenant is the
	// tenant it names, zero for common and organizations (which stand for
	// whichever tenant the code or refresh token belongs to).
	tenantSeg string
	tenant    store.Tenant

	// clientID is the client_id parameter, or the id of client_secret_basic,
	// or the issuer of a client assertion sent without client_id.
	clientID string
	cred     credential
	// origin is the Origin header: set when a browser app (SPA) calls.
	origin string
	// dir is the directory as this request reads it (Handler.directory).
	dir store.Directory
}

// Kinds of client credential.
const (
	credNone = iota
	credSecret
	credAssertion
)

// credential is what the client presented to authenticate.
type credential struct {
	kind      int
	secret    string
	assertion string
}

// parse reads and checks what every grant needs: the form, grant_type, the
// tenant and the client's id and credential. Unknown form fields are ignored,
// as Entra does; the query string is not read (secrets do not belong there).
func (h *Handler) parse(r *http.Request, version string) (*request, error) {
	req := &request{r: r, version: version, now: h.opts.Now(), origin: r.Header.Get("Origin")}
	// Entra answers a body that is not a form (JSON, say) as if the
	// parameters were missing.
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return nil, aadsts.New(aadsts.MissingParameter, "grant_type")
	}
	if err := r.ParseForm(); err != nil {
		return nil, aadsts.New(aadsts.MissingParameter, "grant_type").Wrap(err)
	}
	req.form = r.PostForm
	// No parameter can hold NUL or invalid UTF-8, and PostgreSQL refuses
	// them in lookups with an error: refuse them here as the request's
	// fault rather than answer a 500 later.
	for k, vs := range req.form {
		for _, v := range vs {
			if !storable(k) || !storable(v) {
				return nil, aadsts.New(aadsts.InvalidRequestParameter, strings.ToValidUTF8(k, "?"))
			}
		}
	}
	if req.grantType = req.form.Get("grant_type"); req.grantType == "" {
		return nil, aadsts.New(aadsts.MissingParameter, "grant_type")
	}
	// The claims parameter, with the client capabilities (xms_cc) MSAL
	// merges into it, asks for claims Entrance does not vary per request:
	// it must be a JSON object, and is otherwise ignored on every grant.
	if c := req.form.Get("claims"); c != "" {
		var v map[string]any
		if json.Unmarshal([]byte(c), &v) != nil {
			return nil, aadsts.New(aadsts.InvalidRequestParameter, "claims")
		}
	}

	req.tenantSeg = strings.ToLower(r.PathValue("tenant"))
	if needsOneTenant(req.tenantSeg, req.grantType, version) {
		return nil, aadsts.New(aadsts.GrantNotAllowedOnCommon)
	}
	// Tenants change rarely and every request names one: resolve it from the
	// directory cache (see dirCache).
	t, err := cached(r.Context(), h.cache, "tenant\x00"+req.tenantSeg, func() (store.Tenant, error) {
		return directory.ResolveTenant(r.Context(), h.opts.Store, req.tenantSeg)
	})
	switch {
	case errors.Is(err, directory.ErrTenantAlias):
	case errors.Is(err, directory.ErrTenantNotFound):
		return nil, aadsts.New(aadsts.TenantNotFound, req.tenantSeg)
	case err != nil:
		return nil, err
	default:
		req.tenant = t
	}

	if err := req.readClient(); err != nil {
		return nil, err
	}
	return req, nil
}

// needsOneTenant reports whether a grant is refused on the tenant segment
// seg because it cannot tell which tenant is meant (AADSTS9001023, checked
// before anything else, as Entra does): client credentials on /common and
// /consumers (whose service principal?), and the password grant on
// /consumers and on v2's /common. v1's /common finds the tenant from the
// username, as ADAL-era clients expect; /organizations does for both.
func needsOneTenant(seg, grantType, version string) bool {
	switch {
	case seg != directory.AliasCommon && seg != directory.AliasConsumers:
		return false
	case grantType == GrantClientCredentials:
		return true
	case grantType == GrantPassword:
		return seg == directory.AliasConsumers || version == v2
	}
	return false
}

// readClient finds the client's id and credential: client_secret_basic
// (Authorization: Basic, id and secret form-url-encoded before base64, RFC
// 6749 §2.3.1), client_secret_post, or private_key_jwt.
func (req *request) readClient() error {
	req.clientID = req.form.Get("client_id")
	if auth := req.r.Header.Get("Authorization"); len(auth) > 6 && strings.EqualFold(auth[:6], "basic ") {
		id, secret, ok := parseBasic(auth[6:])
		if !ok || (req.clientID != "" && !strings.EqualFold(req.clientID, id)) {
			// A header we cannot read, or one for another client, cannot
			// authenticate this one.
			return aadsts.New(aadsts.InvalidClientSecret, firstNonEmpty(req.clientID, id))
		}
		req.clientID = id
		req.cred = credential{kind: credSecret, secret: secret}
	}
	if s := req.form.Get("client_secret"); s != "" && req.cred.kind == credNone {
		req.cred = credential{kind: credSecret, secret: s}
	}
	if a := req.form.Get("client_assertion"); a != "" {
		switch at := req.form.Get("client_assertion_type"); at {
		case assertionTypeJWT:
		case "":
			return aadsts.New(aadsts.MissingParameter, "client_assertion_type")
		default:
			return aadsts.New(aadsts.InvalidClientAssertion, "client_assertion_type must be '"+assertionTypeJWT+"'.")
		}
		if req.cred.kind == credSecret {
			// Two credentials at once: RFC 6749 §2.3 forbids it; refuse
			// rather than guess which one was meant.
			return aadsts.New(aadsts.InvalidClientAssertion, "Send either client_secret or client_assertion, not both.")
		}
		req.cred = credential{kind: credAssertion, assertion: a}
		if req.clientID == "" {
			// Older MSAL Go sends no client_id with an assertion: the
			// assertion's issuer names the client (checked once verified).
			req.clientID = unverifiedIssuer(a)
		}
	}
	if req.clientID == "" {
		return aadsts.New(aadsts.MissingParameter, "client_id")
	}
	return nil
}

// parseBasic decodes the credentials of an HTTP Basic header. The id and the
// secret were form-url-encoded before base64 (RFC 6749 §2.3.1), so a secret
// with '+', '%' or ':' in it arrives intact.
func parseBasic(b64 string) (id, secret string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", false
	}
	return id, secret, id != "" && storable(id) && storable(secret)
}

// storable reports whether s can be text in the store: UTF-8 without NUL.
func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// unverifiedIssuer is the iss claim of a JWT, read without any check; "" if
// it cannot be read.
func unverifiedIssuer(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.Iss
}

// directory returns the directory as this request reads it: through the
// directory cache, never older than it was when the request came in (see
// dirCache.view).
func (h *Handler) directory(ctx context.Context, req *request) (store.Directory, error) {
	if req.dir == nil {
		d, err := h.cache.view(ctx)
		if err != nil {
			return nil, err
		}
		req.dir = d
	}
	return req.dir, nil
}

// client returns the requesting application (AADSTS700016 if unknown).
func (h *Handler) client(ctx context.Context, req *request) (store.Application, error) {
	dir, err := h.directory(ctx, req)
	if err != nil {
		return store.Application{}, err
	}
	app, err := dir.GetApplicationByAppID(ctx, strings.ToLower(req.clientID))
	if errors.Is(err, store.ErrNotFound) {
		return store.Application{}, aadsts.New(aadsts.AppNotFound, req.clientID, req.tenantSeg)
	}
	return app, err
}

// tenantAllows reports whether a grant of tenantID may be redeemed at the
// endpoint called: its own tenant's, or /common and /organizations, which
// stand for any tenant.
func (req *request) tenantAllows(tenantID string) bool {
	if req.tenant.ID == "" {
		return true
	}
	return strings.EqualFold(req.tenant.ID, tenantID)
}

// ipAddress is the caller's address (for the ipaddr claim).
func (req *request) ipAddress() string {
	if info := reqinfo.From(req.r.Context()); info != nil {
		return info.ClientIP
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
