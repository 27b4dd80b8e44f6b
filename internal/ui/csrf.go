package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/entranceidp/entrance/internal/ids"
)

// CSRFCookie is the browser's random anti-forgery value. SameSite=Lax: the
// forms post to our own origin, and Lax still sends it when an app sends
// the user here by a top-level navigation.
const CSRFCookie = "entrance-csrf"

// CSRFField is the form field carrying the token.
const CSRFField = "csrf"

// CSRF issues and checks signed double-submit tokens: a form's token is an
// HMAC of the browser's CSRF cookie, so a page on another site can neither
// read it nor make one that matches the victim's cookie.
type CSRF struct{ key []byte }

// NewCSRF returns a CSRF keyed with key (shared by every replica).
func NewCSRF(key []byte) *CSRF { return &CSRF{key: append([]byte(nil), key...)} }

// Browser returns the browser's CSRF cookie value, setting a new cookie
// through w when it has none. Call it before writing the response.
func (c *CSRF) Browser(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(CSRFCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	v := ids.RandomToken(32)
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: v, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	return v
}

// Token is the form token for a browser value.
func (c *CSRF) Token(browser string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(browser))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether the posted form's token matches the browser's
// cookie, and returns the cookie value.
func (c *CSRF) Verify(r *http.Request) (browser string, ok bool) {
	ck, err := r.Cookie(CSRFCookie)
	if err != nil || ck.Value == "" {
		return "", false
	}
	got := r.PostFormValue(CSRFField)
	return ck.Value, hmac.Equal([]byte(got), []byte(c.Token(ck.Value)))
}
