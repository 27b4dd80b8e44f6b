package protocol

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
)

// Instance discovery, as MSAL and the Azure SDKs call it before anything else:
//
//	GET /common/discovery/instance?api-version=1.1&authorization_endpoint=https://{host}/{tenant}/oauth2/v2.0/authorize
//
// Entrance answers for its own public host and the configured host aliases;
// any other host gets 400 invalid_instance (AADSTS50049), as Entra answers for
// a host it does not know. (Clients that skip instance discovery —
// DisableInstanceDiscovery, knownAuthorities — never call this.)

type instanceDoc struct {
	TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
	APIVersion              string             `json:"api-version"`
	Metadata                []instanceMetadata `json:"metadata"`
}

type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

func (h *Handlers) instance(w http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Query().Get("authorization_endpoint")
	if endpoint == "" {
		h.fail(w, r, aadsts.New(aadsts.MissingParameter, "authorization_endpoint"))
		return
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || !h.knownHost(u.Scheme, u.Host) {
		h.fail(w, r, aadsts.New(aadsts.InvalidInstance))
		return
	}
	tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if tenant == "" {
		tenant = "common"
	}
	body, err := marshal(instanceDoc{
		TenantDiscoveryEndpoint: h.opts.URLs.Public + "/" + url.PathEscape(strings.ToLower(tenant)) + "/v2.0/.well-known/openid-configuration",
		APIVersion:              "1.1",
		Metadata: []instanceMetadata{{
			PreferredNetwork: h.publicHost,
			PreferredCache:   h.publicHost,
			Aliases:          h.hostAliases(),
		}},
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	newDoc(body).serve(w, aadsts.TraceID(r))
}

// hostAliases lists the public host first, then the configured aliases.
func (h *Handlers) hostAliases() []string {
	out := []string{h.publicHost}
	for _, a := range h.opts.HostAliases {
		if a = strings.ToLower(a); !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// knownHost reports whether host (from a URL with scheme) is the public host
// or an alias. An alias without a port matches the host on any port.
func (h *Handlers) knownHost(scheme, host string) bool {
	host = normalHost(scheme, host)
	if host == h.publicHost {
		return true
	}
	name := host
	if n, _, err := net.SplitHostPort(host); err == nil {
		name = n
	}
	for _, a := range h.opts.HostAliases {
		a = strings.ToLower(a)
		if a == host || a == name || normalHost(scheme, a) == host {
			return true
		}
	}
	return false
}

// normalHost lower-cases host and drops the scheme's default port.
func normalHost(scheme, host string) string {
	host = strings.ToLower(host)
	if name, port, err := net.SplitHostPort(host); err == nil {
		if p, _ := strconv.Atoi(port); (scheme == "https" && p == 443) || (scheme == "http" && p == 80) {
			if strings.Contains(name, ":") {
				return "[" + name + "]"
			}
			return name
		}
	}
	return host
}
