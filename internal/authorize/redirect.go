package authorize

import (
	"net/url"
	"strings"

	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/store"
)

// matchRedirectURI finds the platform under which app registered uri. The
// match is exact (case and trailing slash included), as Entra's is, with one
// exception from RFC 8252: a publicClient loopback URI (http://localhost or
// http://127.0.0.1) matches on any port, because native apps listen on
// whatever port is free.
func matchRedirectURI(app store.Application, uri string) (string, bool) {
	if uri == "" {
		return "", false
	}
	for _, p := range []struct {
		name string
		uris []string
	}{
		{store.PlatformWeb, app.Web.RedirectURIs},
		{store.PlatformSPA, app.SPA.RedirectURIs},
		{store.PlatformPublicClient, app.PublicClient.RedirectURIs},
	} {
		for _, r := range p.uris {
			if r == uri {
				return p.name, true
			}
		}
	}
	for _, r := range app.PublicClient.RedirectURIs {
		if loopbackEqual(r, uri) {
			return store.PlatformPublicClient, true
		}
	}
	return "", false
}

// loopbackEqual reports whether two http loopback URIs differ at most in
// their ports. It compares the strings themselves, not what a URL parser
// makes of them: a parser decodes %63b into cb and lower-cases HTTP://, so
// the URI sent would no longer be the one registered.
func loopbackEqual(registered, sent string) bool {
	a, ok1 := withoutPort(registered)
	b, ok2 := withoutPort(sent)
	return ok1 && ok2 && a == b
}

// withoutPort returns an http://localhost or http://127.0.0.1 URI without
// its port, an empty path written as "/" (http://localhost:8400 and
// http://localhost:8400/ are the same resource); ok is false for any other
// URI, and for one with userinfo, a non-numeric port or a fragment.
func withoutPort(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "http://")
	if !ok {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host, tail := rest[:end], rest[end:]
	if h, port, found := strings.Cut(host, ":"); found {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "", false
		}
		host = h
	}
	if !directory.IsLoopbackHost(host) || strings.Contains(tail, "#") {
		return "", false
	}
	if !strings.HasPrefix(tail, "/") {
		tail = "/" + tail
	}
	return host + tail, true
}

// registeredURIs lists every redirect URI of the app (for the error page).
func registeredURIs(app store.Application) []string {
	var out []string
	out = append(out, app.Web.RedirectURIs...)
	out = append(out, app.SPA.RedirectURIs...)
	out = append(out, app.PublicClient.RedirectURIs...)
	return out
}

// appendParams adds response parameters to a redirect URI, in the query or
// in the fragment. Parameters keep their order (code, state, session_state
// as Entra sends them).
func appendParams(uri, mode string, params [][2]string) string {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p[1]))
	}
	if mode == ModeFragment {
		return uri + "#" + b.String()
	}
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + b.String()
}
