// Package ui renders Entrance's sign-in pages: server-side html/template
// pages with one embedded stylesheet. They work without JavaScript (the only
// script, allowed by its hash, submits the form_post response, which also has
// a button), make no third-party requests, and are served with a strict
// Content-Security-Policy, no caching and no framing.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/entrance.css
var stylesheet []byte

// StylesheetPath is where Static is mounted. The query changes with the
// content, so browsers may cache it for a long time.
var StylesheetPath = "/static/entrance.css?v=" + shortHash(stylesheet)

// autoSubmit is the one inline script, in formpost.html; CSP allows it by hash.
const autoSubmit = "document.forms[0].submit();"

var autoSubmitHash = func() string {
	sum := sha256.Sum256([]byte(autoSubmit))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// Page names.
const (
	PageUsername  = "username"
	PagePassword  = "password"
	PagePicker    = "picker"
	PageConsent   = "consent"
	PageError     = "error"
	PageFormPost  = "formpost"
	PageSignedOut = "signedout"
)

// pages are parsed once at start and only executed afterwards.
var pages = parsePages()

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"stylesheet": func() string { return StylesheetPath },
	}).ParseFS(templateFS, "templates/layout.html"))
	out := map[string]*template.Template{}
	names := []string{PageUsername, PagePassword, PagePicker, PageConsent, PageError, PageFormPost, PageSignedOut}
	for _, name := range append(names, devicePages...) {
		file := "templates/" + name + ".html"
		src, err := templateFS.ReadFile(file)
		if err != nil {
			panic(err)
		}
		if name == PageFormPost && !bytes.Contains(src, []byte("<script>"+autoSubmit+"</script>")) {
			panic("ui: formpost.html's script differs from autoSubmit, whose hash the CSP allows")
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, file))
	}
	return out
}

// CSP is what a page may do beyond its own origin's stylesheet.
type CSP struct {
	// FormAction lists where the page's forms may go besides 'self' — the
	// app's redirect URI origin: Chrome applies form-action to the redirect
	// that answers a form post too.
	FormAction []string
	// FrameSrc lists the origins of front-channel sign-out iframes.
	FrameSrc []string
	// Script allows the form_post auto-submit script.
	Script bool
	// NoSelfForm leaves 'self' out of form-action (pages whose only form goes
	// to the app).
	NoSelfForm bool
	// FrameAncestors lets these origins frame the page. Only the form_post
	// answer to a prompt=none request sets it (the app's hidden iframe of
	// silent renewal); every other page may not be framed (clickjacking).
	FrameAncestors []string
}

func (c CSP) String() string {
	var b strings.Builder
	b.WriteString("default-src 'none'; style-src 'self'; img-src 'self' data:")
	if c.Script {
		b.WriteString("; script-src " + autoSubmitHash)
	}
	if len(c.FrameSrc) > 0 {
		b.WriteString("; frame-src " + strings.Join(c.FrameSrc, " "))
	}
	actions := c.FormAction
	if !c.NoSelfForm {
		actions = append([]string{"'self'"}, actions...)
	}
	if len(actions) == 0 {
		actions = []string{"'none'"}
	}
	b.WriteString("; form-action " + strings.Join(actions, " "))
	ancestors := "'none'"
	if len(c.FrameAncestors) > 0 {
		ancestors = strings.Join(c.FrameAncestors, " ")
	}
	b.WriteString("; frame-ancestors " + ancestors + "; base-uri 'none'")
	return b.String()
}

// SetHeaders sets the headers every sign-in page carries.
func SetHeaders(h http.Header, csp CSP) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp.String())
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if len(csp.FrameAncestors) == 0 {
		// For browsers without CSP frame-ancestors; those with it ignore
		// X-Frame-Options when frame-ancestors is present.
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Referrer-Policy", "no-referrer")
}

// Render writes page name with data, status and the page headers. It renders
// into a buffer first, so a template failure never sends half a page.
func Render(w http.ResponseWriter, status int, name string, data any, csp CSP) error {
	t, ok := pages[name]
	if !ok {
		return fmt.Errorf("ui: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("ui: render %s: %w", name, err)
	}
	SetHeaders(w.Header(), csp)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// Static serves the stylesheet.
func Static(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Length", strconv.Itoa(len(stylesheet)))
	_, _ = w.Write(stylesheet)
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

// Origin is the CSP source for a URL: scheme://host[:port] for http(s), or
// the scheme alone ("msal...:") for custom schemes. It returns "" for
// anything it cannot express safely.
func Origin(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || scheme == "" {
		return ""
	}
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return scheme + ":"
	}
	host, ok := strings.CutPrefix(rest, "//")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if host == "" || strings.ContainsAny(host, " ;,'\"@\\") {
		return ""
	}
	return scheme + "://" + strings.ToLower(host)
}
