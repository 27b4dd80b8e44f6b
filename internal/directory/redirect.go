package directory

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/entranceidp/entrance/internal/store"
)

// Platform is how a redirect URI is registered, which decides the rules it
// must follow and how the token endpoint treats the client.
type Platform string

// The platforms of an application, named as the Graph properties.
const (
	PlatformWeb          Platform = "web"
	PlatformSPA          Platform = "spa"
	PlatformPublicClient Platform = "publicClient"
)

// Limits from Microsoft's "Redirect URI (reply URL) restrictions".
const (
	MaxRedirectURILength = 256
	// MaxRedirectURIsOrg applies to AzureADMyOrg and AzureADMultipleOrgs apps,
	// MaxRedirectURIsPersonal to apps that sign in personal accounts.
	MaxRedirectURIsOrg      = 256
	MaxRedirectURIsPersonal = 100
)

// SignsInPersonalAccounts reports whether a sign-in audience includes personal
// Microsoft accounts (which tightens several rules).
func SignsInPersonalAccounts(audience string) bool {
	return audience == store.AudienceMultipleOrgsAndPersonal || audience == store.AudiencePersonalMicrosoftAccount
}

// IsLoopbackHost reports whether host (without port) is one Entra treats as
// loopback for redirect URIs: localhost or 127.0.0.1.
func IsLoopbackHost(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1"
}

// ValidateRedirectURI checks one redirect URI registered for platform p, as
// Entra does: at most 256 characters, absolute, no fragment, no wildcard, none
// of ! $ ' ( ) , ; and https, except http for localhost and 127.0.0.1 (any
// port). Only publicClient (native) apps may use a custom scheme such as
// msal<appId>://auth. Apps that sign in personal accounts may not use query
// strings. The IPv6 loopback [::1] is not supported. The error message names
// the URI but not the property; the caller adds where it came from.
func ValidateRedirectURI(p Platform, uri, signInAudience string) error {
	if uri == "" {
		return fmt.Errorf("must not be empty")
	}
	if n := len(uri); n > MaxRedirectURILength {
		return fmt.Errorf("%q is %d characters long; at most %d are allowed", uri, n, MaxRedirectURILength)
	}
	if strings.ContainsAny(uri, " \t\r\n") {
		return fmt.Errorf("%q must not contain spaces", uri)
	}
	if strings.Contains(uri, "#") {
		return fmt.Errorf("%q must not contain a fragment (#...)", uri)
	}
	if strings.Contains(uri, "*") {
		return fmt.Errorf("%q must not contain a wildcard (*)", uri)
	}
	if i := strings.IndexAny(uri, "!$'(),;"); i >= 0 {
		return fmt.Errorf("%q must not contain the character %q (! $ ' ( ) , ; are not supported)", uri, uri[i])
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", uri)
	}
	if u.RawQuery != "" && SignsInPersonalAccounts(signInAudience) {
		return fmt.Errorf("%q must not contain a query string: apps with signInAudience %s sign in personal accounts", uri, signInAudience)
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "https", "http":
		if u.Opaque != "" || u.Host == "" {
			return fmt.Errorf("%q has no host", uri)
		}
		host := u.Hostname()
		if host == "::1" {
			return fmt.Errorf("%q: the IPv6 loopback address [::1] is not supported; use 127.0.0.1 or localhost", uri)
		}
		if scheme == "http" && !IsLoopbackHost(host) {
			return fmt.Errorf("%q must use https (http is allowed only for localhost)", uri)
		}
	default:
		if p != PlatformPublicClient {
			return fmt.Errorf("%q must use https (custom schemes such as %s: are allowed only for publicClient redirect URIs)", uri, u.Scheme)
		}
	}
	return nil
}

// validateRedirectURIs checks every redirect URI of an application: each one
// by its platform's rules, each registered once across all platforms (Entra
// picks the platform by the URI), and the total within the audience's limit.
func validateRedirectURIs(a store.Application, es *Errors) {
	lists := []struct {
		prop string
		p    Platform
		uris []string
	}{
		{"web.redirectUris", PlatformWeb, a.Web.RedirectURIs},
		{"spa.redirectUris", PlatformSPA, a.SPA.RedirectURIs},
		{"publicClient.redirectUris", PlatformPublicClient, a.PublicClient.RedirectURIs},
	}
	first := map[string]string{}
	total := 0
	for _, l := range lists {
		for i, uri := range l.uris {
			prop := index(l.prop, i)
			total++
			if err := ValidateRedirectURI(l.p, uri, a.SignInAudience); err != nil {
				es.add(prop, "%s", err)
				continue
			}
			if at, dup := first[uri]; dup {
				es.add(prop, "%q is already registered at %s (a URI belongs to one platform, once)", uri, at)
				continue
			}
			first[uri] = prop
		}
	}
	limit := MaxRedirectURIsOrg
	if SignsInPersonalAccounts(a.SignInAudience) {
		limit = MaxRedirectURIsPersonal
	}
	if total > limit {
		es.add("", "has %d redirect URIs; at most %d are allowed with signInAudience %s", total, limit, a.SignInAudience)
	}
}
