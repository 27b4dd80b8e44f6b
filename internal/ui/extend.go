package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
)

// Pages are another package's page templates (the B2C user flow pages) on
// the sign-in pages' layout, stylesheet and headers, so they look and behave
// like them: each file defines "content" (and may use "hidden" and
// "formerror" from the layout).
type Pages map[string]*template.Template

// ParsePages parses each named page from fsys (name → file) onto the layout.
// It panics on a broken template, like the built-in pages: they are parsed
// once at start.
func ParsePages(fsys fs.FS, files map[string]string) Pages {
	out := Pages{}
	for name, file := range files {
		base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
			"stylesheet": func() string { return StylesheetPath },
		}).ParseFS(templateFS, "templates/layout.html"))
		out[name] = template.Must(base.ParseFS(fsys, file))
	}
	return out
}

// Render writes page name as Render does the built-in pages.
func (p Pages) Render(w http.ResponseWriter, status int, name string, data any, csp CSP) error {
	t, ok := p[name]
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
