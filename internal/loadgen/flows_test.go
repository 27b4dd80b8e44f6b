package loadgen

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/entranceidp/entrance/internal/ui"
)

// The sign-in client reads Entrance's own pages, rendered here from the real
// templates, so a template change that would break the client (and the
// benchmarks and end-to-end tests built on it) fails here first.
func TestParsePage(t *testing.T) {
	form := ui.Form{Title: "t", AppName: "App", Action: "/contoso/login", Flow: "FLOW-x_1", CSRF: "CSRF-y_2"}
	withError := form
	withError.Error = "Your account or password is incorrect. (AADSTS50126)"
	tests := []struct {
		name   string
		page   string
		status int
		data   any
		want   page
	}{
		{"username", ui.PageUsername, 200, ui.Username{Form: form}, page{name: "username", action: "/contoso/login"}},
		{"password", ui.PagePassword, 200, ui.Password{Form: form, Username: "a@b.c"}, page{name: "password", action: "/contoso/login"}},
		{"password with an error", ui.PagePassword, 200, ui.Password{Form: withError, Username: "a@b.c"},
			page{name: "password", action: "/contoso/login", code: 50126, message: withError.Error}},
		{"consent", ui.PageConsent, 200, ui.Consent{Form: form, Permissions: []ui.Permission{{Name: "Read your profile"}}},
			page{name: "consent", action: "/contoso/login"}},
		{"picker", ui.PagePicker, 200, ui.Picker{Form: form, Accounts: []ui.PickerAccount{{Value: "t.u", Name: "A"}}},
			page{name: "picker", action: "/contoso/login"}},
		{"error", ui.PageError, 400, ui.Error{Title: "Sign in", Code: 50011, Message: "The redirect URI 'http://x/cb' does not match."},
			page{name: "error", code: 50011, message: "The redirect URI 'http://x/cb' does not match."}},
		{"form_post", ui.PageFormPost, 200, ui.FormPost{Title: "t", Action: "http://localhost:3000/cb?a=1&b=2",
			Fields: []ui.Field{{Name: "code", Value: "c&<>"}, {Name: "state", Value: "s"}}},
			page{name: "formpost", action: "http://localhost:3000/cb?a=1&b=2", formPost: "http://localhost:3000/cb?a=1&b=2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := ui.Render(rec, tc.status, tc.page, tc.data, ui.CSP{}); err != nil {
				t.Fatal(err)
			}
			got := parsePage(rec.Body.String())
			if got.name != tc.want.name || got.action != tc.want.action || got.formPost != tc.want.formPost ||
				got.code != tc.want.code || got.message != tc.want.message {
				t.Errorf("parsePage = %+v\nwant %+v", got, tc.want)
			}
			switch tc.want.name {
			case "formpost":
				if got.fields.Get("code") != "c&<>" || got.fields.Get("state") != "s" {
					t.Errorf("form_post fields %v", got.fields)
				}
			case "error":
			default:
				if got.fields.Get("flow") != form.Flow || got.fields.Get("csrf") != form.CSRF {
					t.Errorf("hidden fields %v, want the flow and CSRF token", got.fields)
				}
			}
		})
	}
}

func TestAuthorizeURLAndPKCE(t *testing.T) {
	p := NewPKCE()
	if len(p.Verifier) != 43 || len(p.Challenge) != 43 || p.Verifier == p.Challenge {
		t.Fatalf("PKCE %+v", p)
	}
	a := App{BaseURL: "https://127.0.0.1:8443/", Tenant: "contoso.onmicrosoft.com", ClientID: "id", RedirectURI: "http://localhost/cb"}
	u, err := url.Parse(a.AuthorizeURL(p, "st", "no", url.Values{"prompt": {"none"}, "nonce": nil}))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Path != "/contoso.onmicrosoft.com/oauth2/v2.0/authorize" || q.Get("code_challenge") != p.Challenge ||
		q.Get("code_challenge_method") != "S256" || q.Get("scope") != DefaultScope || q.Get("prompt") != "none" ||
		q.Has("nonce") || q.Get("state") != "st" || q.Get("response_type") != "code" {
		t.Errorf("authorize URL %s", u)
	}
	if a.TokenURL() != "https://127.0.0.1:8443/contoso.onmicrosoft.com/oauth2/v2.0/token" {
		t.Errorf("token URL %s", a.TokenURL())
	}
}
