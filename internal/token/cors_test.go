package token_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/entranceidp/entrance/internal/store"
)

// CORS answers only the origins of spa redirect URIs: the preflight, the
// token request and its errors. Any other origin gets no CORS header (its
// browser then keeps the answer from the page), and a preflight from it is
// refused.
func TestCORS(t *testing.T) {
	ts := start(t)
	const spaOrigin, evil = "https://spa.contoso.com", "https://evil.example"
	preflight := func(origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, ts.base+tokenPath(tenantID), nil)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "client-request-id, content-type")
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, o := range []string{spaOrigin, "HTTPS://SPA.contoso.com"} {
		r := preflight(o)
		if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != o ||
			r.Header.Get("Access-Control-Allow-Methods") == "" || r.Header.Get("Access-Control-Allow-Headers") == "" {
			t.Errorf("preflight from %s: %d %v", o, r.StatusCode, r.Header)
		}
	}
	// A web redirect URI's origin is not a SPA's.
	for _, o := range []string{evil, "https://app.contoso.com", "null", ""} {
		r := preflight(o)
		if r.StatusCode != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" || r.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight from %q: %d %v, want 403 without CORS headers", o, r.StatusCode, r.Header)
		}
	}

	spaCode := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {spaRedirect}, "client_id": {webAppID},
			"code": {ts.newCode(t, codeOpts{redirect: spaRedirect, platform: store.PlatformSPA})}}
	}
	// Errors carry the header too, so MSAL.js can read them.
	bad := spaCode()
	bad.Set("code", "nope")
	if r := ts.post(t, tokenPath(tenantID), bad, "Origin", spaOrigin); r.header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Errorf("error for a SPA origin lacks CORS: %v", r.header)
	}
	// A web code from another origin: refused (9002326), and unreadable.
	r := ts.post(t, tokenPath(tenantID), codeForm(ts.newCode(t, codeOpts{})), "Origin", evil)
	wantError(t, r, 9002326, 400, "invalid_request")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS for %s: %v", evil, r.header)
	}
	if r := ts.post(t, tokenPath(tenantID), spaCode(), "Origin", spaOrigin); r.header.Get("Access-Control-Allow-Origin") != spaOrigin || r.header.Get("Vary") != "Origin" {
		t.Errorf("SPA redemption headers %v", r.header)
	}
}
