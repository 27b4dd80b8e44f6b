package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/store"
)

// OpenID Connect discovery documents:
//
//	GET /{tenant}/v2.0/.well-known/openid-configuration[?appid=]
//	GET /{tenant}/.well-known/openid-configuration[?appid=]
//
// A tenant's document (by GUID or verified domain) names the tenant by GUID in
// every URL and in its issuer, which equals the discovery base for the GUID
// form. The alias documents (common, organizations, consumers) keep the alias
// in their URLs and carry Entra's template issuer {base}/{tenantid}/v2.0.

// Fields and their order follow Entra's documents (MSAL and Azure SDK test
// recordings of login.microsoftonline.com). Entra's kerberos_endpoint and the
// v1 check_session_iframe are left out: Entrance serves neither.
type discoveryV2Doc struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	cloudFields
}

type discoveryV1Doc struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Issuer                            string   `json:"issuer"`
	MicrosoftMultiRefreshToken        bool     `json:"microsoft_multi_refresh_token"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	HTTPLogoutSupported               bool     `json:"http_logout_supported"`
	FrontchannelLogoutSupported       bool     `json:"frontchannel_logout_supported"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	ClaimsSupported                   []string `json:"claims_supported"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	cloudFields
}

// cloudFields close both documents. cloud_instance_name is our host; the Graph
// and RBAC hosts stay Microsoft's, since Entrance does not serve Graph.
type cloudFields struct {
	TenantRegionScope  *string `json:"tenant_region_scope"` // null on alias documents
	CloudInstanceName  string  `json:"cloud_instance_name"`
	CloudGraphHostName string  `json:"cloud_graph_host_name"`
	MsgraphHost        string  `json:"msgraph_host"`
	RbacURL            string  `json:"rbac_url"`
}

var (
	authMethods     = []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}
	responseModes   = []string{"query", "fragment", "form_post"}
	subjectTypes    = []string{"pairwise"}
	signingAlgs     = []string{"RS256"}
	responseTypesV2 = []string{"code", "id_token", "code id_token", "id_token token"}
	responseTypesV1 = []string{"code", "id_token", "code id_token", "token id_token", "token"}
	scopesV2        = []string{"openid", "profile", "email", "offline_access"}
	scopesV1        = []string{"openid"}
	claimsV2        = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"}
	claimsV1        = []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email", "given_name", "family_name", "nickname"}
)

const (
	regionWorldwide  = "WW"
	graphHostName    = "graph.windows.net"
	msgraphHostName  = "graph.microsoft.com"
	rbacURL          = "https://pas.windows.net"
	userinfoEndpoint = "/oidc/userinfo"
)

// docTarget is what a discovery or keys request is about.
type docTarget struct {
	segment string       // the {tenant} path value, lower-cased
	alias   bool         // common, organizations or consumers
	tenant  store.Tenant // when !alias
	app     *store.Application
}

// pathTenant is the tenant as it appears in the document's URLs: the GUID for
// a tenant, the alias itself for an alias.
func (t docTarget) pathTenant() string {
	if t.alias {
		return t.segment
	}
	return t.tenant.ID
}

// resolve reads the tenant segment and the optional ?appid=.
func (h *Handlers) resolve(ctx context.Context, segment, appID string) (docTarget, error) {
	t := docTarget{segment: segment, alias: directory.IsAlias(segment)}
	if !t.alias {
		tenant, err := directory.ResolveTenant(ctx, h.opts.Store, segment)
		if err != nil {
			return t, tenantError(segment, err)
		}
		t.tenant = tenant
	}
	if appID != "" {
		app, err := h.opts.Store.GetApplicationByAppID(ctx, appID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !ids.IsGUID(appID)) {
			return t, aadsts.New(aadsts.AppNotFound, appID, segment)
		}
		if err != nil {
			return t, err
		}
		t.app = &app
	}
	return t, nil
}

// appIDParam returns the ?appid= value, lower-cased (appIds are GUIDs).
func appIDParam(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return strings.ToLower(r.URL.Query().Get("appid"))
}

func (h *Handlers) discoveryV2(w http.ResponseWriter, r *http.Request) {
	h.serveDoc(w, r, kindDiscoveryV2, h.buildDiscoveryV2)
}

func (h *Handlers) discoveryV1(w http.ResponseWriter, r *http.Request) {
	h.serveDoc(w, r, kindDiscoveryV1, h.buildDiscoveryV1)
}

// serveDoc serves a cached document, building it on a miss.
func (h *Handlers) serveDoc(w http.ResponseWriter, r *http.Request, kind docKind, build func(context.Context, docTarget) ([]byte, error)) {
	k := docKey{kind: kind, tenant: tenantSegment(r), appID: appIDParam(r)}
	d, err := h.docs.get(k, func() ([]byte, error) {
		t, err := h.resolve(r.Context(), k.tenant, k.appID)
		if err != nil {
			return nil, err
		}
		return build(r.Context(), t)
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.serve(w, aadsts.TraceID(r))
}

func (h *Handlers) buildDiscoveryV2(_ context.Context, t docTarget) ([]byte, error) {
	base := h.opts.URLs.Public + "/" + t.pathTenant()
	issuer := h.opts.URLs.IssuerV2(templateTenant)
	if !t.alias {
		issuer = h.opts.URLs.IssuerV2(t.tenant.ID)
	}
	return marshal(discoveryV2Doc{
		TokenEndpoint:                     base + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: authMethods,
		JWKSURI:                           base + "/discovery/v2.0/keys" + appQuery(t),
		ResponseModesSupported:            responseModes,
		SubjectTypesSupported:             subjectTypes,
		IDTokenSigningAlgValuesSupported:  signingAlgs,
		ResponseTypesSupported:            responseTypesV2,
		ScopesSupported:                   scopesV2,
		Issuer:                            issuer,
		RequestURIParameterSupported:      false,
		UserinfoEndpoint:                  h.opts.URLs.Public + userinfoEndpoint,
		AuthorizationEndpoint:             base + "/oauth2/v2.0/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/v2.0/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/v2.0/logout",
		ClaimsSupported:                   claimsV2,
		cloudFields:                       h.cloud(t),
	})
}

// The v1 document's jwks_uri is the tenant's own /discovery/keys, where Entra
// points every tenant at /common/discovery/keys: Entra shares keys across
// tenants, Entrance gives each tenant its own.
func (h *Handlers) buildDiscoveryV1(_ context.Context, t docTarget) ([]byte, error) {
	base := h.opts.URLs.Public + "/" + t.pathTenant()
	issuer := h.opts.URLs.IssuerV1(templateTenant)
	if !t.alias {
		issuer = h.opts.URLs.IssuerV1(t.tenant.ID)
	}
	return marshal(discoveryV1Doc{
		TokenEndpoint:                     base + "/oauth2/token",
		TokenEndpointAuthMethodsSupported: authMethods,
		JWKSURI:                           base + "/discovery/keys" + appQuery(t),
		ResponseModesSupported:            responseModes,
		SubjectTypesSupported:             subjectTypes,
		IDTokenSigningAlgValuesSupported:  signingAlgs,
		ResponseTypesSupported:            responseTypesV1,
		ScopesSupported:                   scopesV1,
		Issuer:                            issuer,
		MicrosoftMultiRefreshToken:        true,
		AuthorizationEndpoint:             base + "/oauth2/authorize",
		DeviceAuthorizationEndpoint:       base + "/oauth2/devicecode",
		HTTPLogoutSupported:               true,
		FrontchannelLogoutSupported:       true,
		EndSessionEndpoint:                base + "/oauth2/logout",
		ClaimsSupported:                   claimsV1,
		UserinfoEndpoint:                  h.opts.URLs.Public + userinfoEndpoint,
		cloudFields:                       h.cloud(t),
	})
}

func (h *Handlers) cloud(t docTarget) cloudFields {
	c := cloudFields{
		CloudInstanceName:  h.publicHostname,
		CloudGraphHostName: graphHostName,
		MsgraphHost:        msgraphHostName,
		RbacURL:            rbacURL,
	}
	if !t.alias {
		region := regionWorldwide
		c.TenantRegionScope = &region
	}
	return c
}

// appQuery carries ?appid= from a document to the jwks_uri it names, so an
// app with its own signing key is pointed at that key.
func appQuery(t docTarget) string {
	if t.app == nil {
		return ""
	}
	return "?appid=" + url.QueryEscape(t.app.AppID)
}

// marshal is json.Marshal without HTML escaping (URLs stay verbatim) and
// without the encoder's trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
