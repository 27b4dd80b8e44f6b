package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

// cloudAudienceURN is the audience Entra names for WS-Trust federation; MSAL
// requires the field, and clients compare it with nothing.
const cloudAudienceURN = "urn:federation:MicrosoftOnline"

// userRealmV1 is the api-version=1.0 answer, in Entra's field order. MSAL Go
// reads it before a password grant and requires account_type, domain_name,
// cloud_instance_name and cloud_audience_urn.
type userRealmV1 struct {
	Ver               string `json:"ver"`
	AccountType       string `json:"account_type"`
	DomainName        string `json:"domain_name,omitempty"`
	CloudInstanceName string `json:"cloud_instance_name"`
	CloudAudienceURN  string `json:"cloud_audience_urn"`
}

// userRealmV2 is the api-version=2.0 answer (what MSAL.NET and ADAL read).
type userRealmV2 struct {
	NameSpaceType       string  `json:"NameSpaceType"`
	Login               string  `json:"Login"`
	DomainName          string  `json:"DomainName,omitempty"`
	FederationBrandName string  `json:"FederationBrandName,omitempty"`
	TenantBrandingInfo  *string `json:"TenantBrandingInfo"`
	CloudInstanceName   string  `json:"cloud_instance_name"`
}

// userRealm answers GET /{tenant}/UserRealm/{username}?api-version=1.0
// (home realm discovery): "Managed" when the username's domain belongs to
// one of Entrance's tenants — Entrance checks passwords itself, it never
// federates — and "Unknown" otherwise. Like Entra it answers by domain,
// whether the user exists or not, so it reveals no usernames.
func (h *Handler) userRealm(w http.ResponseWriter, r *http.Request) {
	username := r.PathValue("upn") // unescaped by the mux
	accountType, domain, brand := "Unknown", "", ""
	if _, d, ok := directory.SplitUPN(username); ok && directory.IsDomainName(strings.ToLower(d)) {
		t, err := h.opts.Store.GetTenantByDomain(r.Context(), strings.ToLower(d))
		switch {
		case err == nil:
			accountType, domain, brand = "Managed", strings.ToLower(d), t.DisplayName
		case !errors.Is(err, store.ErrNotFound):
			h.fail(w, r, err)
			return
		}
	}
	instance := h.opts.PublicURL
	if u, err := url.Parse(h.opts.PublicURL); err == nil && u.Hostname() != "" {
		instance = u.Hostname()
	}
	var body any = userRealmV1{Ver: "1.0", AccountType: accountType, DomainName: domain,
		CloudInstanceName: instance, CloudAudienceURN: cloudAudienceURN}
	if r.URL.Query().Get("api-version") == "2.0" {
		body = userRealmV2{NameSpaceType: accountType, Login: username, DomainName: domain,
			FederationBrandName: brand, CloudInstanceName: instance}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body) // strings only: cannot fail
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store, no-cache")
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
