package b2c

import (
	"context"
	"embed"
	"net/http"
	"strconv"
	"strings"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/directory"
	"github.com/entranceidp/entrance/internal/reqinfo"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/ui"
)

// The user flow pages: one template (selfasserted.html) draws every step —
// sign-in, email, code, sign-up details, new password, profile — from the
// fields and buttons the step gives it, on the sign-in pages' layout.

//go:embed templates/*.html
var templateFS embed.FS

var pages = ui.ParsePages(templateFS, map[string]string{
	"selfasserted": "templates/selfasserted.html",
	"error":        "templates/error.html",
})

// Steps of a flow (the page the user is on).
const (
	stepSignIn      = "signin"
	stepEmail       = "email"
	stepVerify      = "verify"
	stepDetails     = "details"
	stepNewPassword = "newpassword"
	stepProfile     = "profile"
)

type pageData struct {
	ui.Form
	Heading  string
	Identity string
	Intro    []string
	DevCode  string
	Fields   []field
	Links    []button
	Primary  button
	Cancel   bool
	Footer   *footer
}

type field struct {
	Name, Label, Type, Value, Autocomplete string
	Required, Autofocus                    bool
}

type button struct{ Action, Label string }

type footer struct{ Text, Action, Label string }

type errorData struct {
	Title, Heading, Code, Message, CorrelationID, Timestamp string
}

// The browser's CSRF cookie value travels in the request context from where
// it is read or set to where forms are built.
type browserKey struct{}

func withBrowser(r *http.Request, v string) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), browserKey{}, v))
}

func browserFrom(r *http.Request) string {
	v, _ := r.Context().Value(browserKey{}).(string)
	return v
}

// show seals f at step and renders the page.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, step string, p pageData) {
	f.Step = step
	sealed, err := h.sealer.seal(f)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	p.Form.Title, p.Form.AppName = p.Heading, app.DisplayName
	p.Form.Action = "/" + f.Req.TenantID + "/" + strings.ToLower(f.Req.Policy) + "/api/selfasserted"
	p.Form.Flow, p.Form.CSRF = sealed, h.opts.CSRF.Token(browserFrom(r))
	c := ui.CSP{}
	if o := ui.Origin(f.Req.RedirectURI); o != "" {
		c.FormAction = []string{o} // the last post is answered by a redirect to the app
	}
	if err := pages.Render(w, http.StatusOK, "selfasserted", p, c); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "render", "page", step, "err", err)
	}
}

func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, email, msg string) {
	p := pageData{
		Heading: "Sign in", Intro: []string{"Sign in with your email address"},
		Fields: []field{
			{Name: "email", Label: "Email Address", Type: "email", Value: email, Autocomplete: "username", Required: true, Autofocus: email == ""},
			{Name: "password", Label: "Password", Type: "password", Autocomplete: "current-password", Required: true, Autofocus: email != ""},
		},
		Links:   []button{{"forgot", "Forgot your password?"}},
		Primary: button{"signin", "Sign in"},
	}
	p.Error = msg
	if t.flow.Type == store.UserFlowSignUpOrSignIn {
		p.Footer = &footer{"Don't have an account?", "signup", "Sign up now"}
	} else {
		p.Cancel = true
	}
	h.show(w, r, f, app, stepSignIn, p)
}

// showEmail asks for the address to verify: the first step of sign-up and
// of password reset.
func (h *Handler) showEmail(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, email, msg string) {
	p := pageData{Heading: "Create account", Primary: button{"send_code", "Send verification code"}, Cancel: true,
		Intro:  []string{"Verification is necessary. Please click Send button."},
		Fields: []field{{Name: "email", Label: "Email Address", Type: "email", Value: email, Autocomplete: "email", Required: true, Autofocus: true}}}
	if f.Reset {
		p.Heading = "Reset your password"
	}
	p.Error = msg
	h.show(w, r, f, app, stepEmail, p)
}

func (h *Handler) showVerify(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, devCode, msg string) {
	p := pageData{Heading: "Verify your email", Identity: f.Email, Primary: button{"verify_code", "Verify code"}, Cancel: true,
		Intro:  []string{"Verification code has been sent to your inbox. Please copy it to the input box below."},
		Fields: []field{{Name: "code", Label: "Verification code", Type: "text", Autocomplete: "one-time-code", Required: true, Autofocus: true}},
		Links:  []button{{"send_code", "Send new code"}, {"change_email", "Change e-mail"}},
	}
	if h.opts.ShowCodes {
		p.DevCode = devCode
	}
	p.Error = msg
	h.show(w, r, f, app, stepVerify, p)
}

func (h *Handler) showDetails(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, form map[string]string, msg string) {
	p := pageData{Heading: "Create account", Identity: f.Email, Primary: button{"create", "Create"}, Cancel: true,
		Intro: []string{"E-mail address verified. You can now continue."},
		Fields: []field{
			{Name: "password", Label: "New Password", Type: "password", Autocomplete: "new-password", Required: true, Autofocus: true},
			{Name: "password2", Label: "Confirm New Password", Type: "password", Autocomplete: "new-password", Required: true},
		},
	}
	p.Fields = append(p.Fields, attributeFields(t.flow.Attributes, form)...)
	p.Error = msg
	h.show(w, r, f, app, stepDetails, p)
}

func (h *Handler) showNewPassword(w http.ResponseWriter, r *http.Request, f *flow, app store.Application, msg string) {
	p := pageData{Heading: "Reset your password", Identity: f.Email, Primary: button{"reset_password", "Continue"}, Cancel: true,
		Fields: []field{
			{Name: "password", Label: "New Password", Type: "password", Autocomplete: "new-password", Required: true, Autofocus: true},
			{Name: "password2", Label: "Confirm New Password", Type: "password", Autocomplete: "new-password", Required: true},
		},
	}
	p.Error = msg
	h.show(w, r, f, app, stepNewPassword, p)
}

// showProfile shows the signed-in user's attributes to edit.
func (h *Handler) showProfile(w http.ResponseWriter, r *http.Request, f *flow, t target, app store.Application, msg string) {
	u, err := h.opts.Store.GetUser(r.Context(), f.Req.TenantID, f.UserID)
	if err != nil {
		h.fail(w, r, f, err)
		return
	}
	p := pageData{Heading: "Update your profile", Identity: u.Mail, Primary: button{"save", "Continue"}, Cancel: true,
		Fields: attributeFields(t.flow.Attributes, userAttributes(u))}
	if len(p.Fields) > 0 {
		p.Fields[0].Autofocus = true
	}
	p.Error = msg
	h.show(w, r, f, app, stepProfile, p)
}

// attributeFields are the inputs of a flow's attributes, filled from values.
func attributeFields(attrs []string, values map[string]string) []field {
	var out []field
	for _, a := range attrs {
		out = append(out, field{Name: a, Label: attributeLabel(a), Type: "text", Value: values[a], Autocomplete: attributeAutocomplete[a]})
	}
	return out
}

var attributeAutocomplete = map[string]string{"givenName": "given-name", "surname": "family-name", "displayName": "name"}

// attributeLabel is how B2C's pages name an attribute.
func attributeLabel(a string) string {
	switch a {
	case "givenName":
		return "Given Name"
	case "surname":
		return "Surname"
	case "displayName":
		return "Display Name"
	}
	return strings.TrimPrefix(a, "extension_")
}

// userAttributes are u's values of the attributes flows collect.
func userAttributes(u store.User) map[string]string {
	m := map[string]string{"givenName": u.GivenName, "surname": u.Surname, "displayName": u.DisplayName}
	for k, v := range u.ExtensionAttributes {
		m[k] = v
	}
	return m
}

// setAttributes copies a flow's attributes from the form onto u.
func setAttributes(u *store.User, attrs []string, values map[string]string) {
	for _, a := range attrs {
		v := strings.TrimSpace(values[a])
		switch a {
		case "givenName":
			u.GivenName = v
		case "surname":
			u.Surname = v
		case "displayName":
			u.DisplayName = v
		default:
			if u.ExtensionAttributes == nil {
				u.ExtensionAttributes = map[string]string{}
			}
			if v == "" {
				delete(u.ExtensionAttributes, a)
			} else {
				u.ExtensionAttributes[a] = v
			}
		}
	}
	if len(u.ExtensionAttributes) == 0 {
		u.ExtensionAttributes = nil
	}
}

// errorPage shows an error that cannot go to the app.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, corrID string, err error) {
	e := h.internal(r, err)
	d := errorData{Title: "Error", Heading: "Sorry, we can't sign you in", Code: e.Prefix(), Message: e.Message(),
		CorrelationID: corrID, Timestamp: h.opts.Now().UTC().Format("2006-01-02 15:04:05Z")}
	w.Header().Set("X-Ms-Request-Id", aadsts.TraceID(r))
	if err := pages.Render(w, e.Status(), "error", d, ui.CSP{NoSelfForm: true}); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "render", "page", "error", "err", err)
	}
}

// clientIP is the caller's address as the server middleware worked it out.
func clientIP(r *http.Request) string {
	if info := reqinfo.From(r.Context()); info != nil {
		return info.ClientIP
	}
	return r.RemoteAddr
}

func itoa(n int) string { return strconv.Itoa(n) }

// flowClaims are the application claims of the target's flow.
func flowClaims(t target) []string { return directory.UserFlowClaimsOf(t.flow) }
