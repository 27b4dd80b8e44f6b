package directory

// Fuzz target: go test -run '^$' -fuzz '^FuzzValidateRedirectURI$' -fuzztime 15s ./internal/directory

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/entranceidp/entrance/internal/store"
)

// FuzzValidateRedirectURI checks that every URI the rules accept has the
// properties the rules promise, independently of how they are checked, and
// that every refusal says which URI it refused.
func FuzzValidateRedirectURI(f *testing.F) {
	for _, uri := range []string{
		"https://app.example/cb", "https://app.example/cb?x=1", "http://localhost:3000/cb", "http://127.0.0.1/",
		"http://[::1]:80/", "http://app.example/", "msal00000000-0000-0000-0000-000000000001://auth",
		"https://app.example/#x", "https://*.example/", "https://app.example/a;b", "https:///nohost",
		"https:opaque", "HTTP://LOCALHOST/", "https://user@app.example/", "urn:ietf:wg:oauth:2.0:oob", "",
		"https://app.example/" + strings.Repeat("a", 240),
	} {
		f.Add(uint8(0), uri, store.AudienceMyOrg)
		f.Add(uint8(2), uri, store.AudienceMultipleOrgsAndPersonal)
	}
	platforms := []Platform{PlatformWeb, PlatformSPA, PlatformPublicClient}
	f.Fuzz(func(t *testing.T, pi uint8, uri, audience string) {
		p := platforms[int(pi)%len(platforms)]
		err := ValidateRedirectURI(p, uri, audience)
		if err != nil {
			if uri != "" && !strings.Contains(err.Error(), strconv.Quote(uri)) {
				t.Fatalf("the error %q does not name the URI %q", err, uri)
			}
			return
		}
		switch {
		case uri == "" || len(uri) > MaxRedirectURILength:
			t.Fatalf("accepted %d characters", len(uri))
		case strings.ContainsAny(uri, " \t\r\n#*!$'(),;"):
			t.Fatalf("accepted %q with a forbidden character", uri)
		}
		u, perr := url.Parse(uri)
		if perr != nil || u.Scheme == "" {
			t.Fatalf("accepted %q, which is not an absolute URI (%v)", uri, perr)
		}
		if u.RawQuery != "" && SignsInPersonalAccounts(audience) {
			t.Fatalf("accepted a query string for %s", audience)
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
			if u.Host == "" || u.Hostname() == "::1" {
				t.Fatalf("accepted %q: host %q", uri, u.Host)
			}
		case "http":
			if !IsLoopbackHost(u.Hostname()) {
				t.Fatalf("accepted http for host %q", u.Hostname())
			}
		default:
			if p != PlatformPublicClient {
				t.Fatalf("accepted the custom scheme of %q for %s", uri, p)
			}
		}
	})
}
