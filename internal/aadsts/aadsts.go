// Package aadsts is Entrance's one catalogue of errors — AADSTS code → OAuth
// error, message, HTTP status and a fix hint — and the writer that puts them
// on the wire in Entra's JSON shape, so every endpoint fails the same way.
package aadsts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/reqinfo"
)

// Error is an AADSTS error to answer with. Handlers return or write it; the
// Cause, if any, is for the server log only and never reaches the client.
type Error struct {
	Code int
	Args []any
	// OAuthError overrides the catalogue's "error" string where Entra uses a
	// different one for the same code at another endpoint.
	OAuthError string
	Cause      error
}

// New returns the error code with the arguments of its message template.
func New(code int, args ...any) *Error {
	return &Error{Code: code, Args: args}
}

// Wrap returns the error with an internal cause attached.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// WithOAuthError returns the error with another OAuth "error" string.
func (e *Error) WithOAuthError(s string) *Error {
	c := *e
	c.OAuthError = s
	return &c
}

func (e *Error) entry() Entry {
	if en, ok := entries[e.Code]; ok {
		return en
	}
	return Entry{Code: e.Code, Error: "server_error", Message: "Unknown error code.", Status: http.StatusInternalServerError}
}

// Message is the text Entra puts after "AADSTS<code>: ".
func (e *Error) Message() string {
	en := e.entry()
	if len(e.Args) == 0 {
		return en.Message
	}
	return fmt.Sprintf(en.Message, e.Args...)
}

// WellFormed reports whether the message template and the arguments agree
// (no "%!" from fmt). Text inside string arguments does not count: a
// message may quote what the client sent, "%!" included.
func (e *Error) WellFormed() bool {
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		if s, ok := a.(string); ok {
			a = strings.ReplaceAll(s, "%!", "")
		}
		args[i] = a
	}
	return !strings.Contains((&Error{Code: e.Code, Args: args}).Message(), "%!")
}

// Description is "AADSTS<code>: <message>", the first line of error_description.
func (e *Error) Description() string {
	return "AADSTS" + strconv.Itoa(e.Code) + ": " + e.Message()
}

// OAuth is the OAuth 2.0 error string.
func (e *Error) OAuth() string {
	if e.OAuthError != "" {
		return e.OAuthError
	}
	return e.entry().Error
}

// Status is the HTTP status of the JSON error response.
func (e *Error) Status() int { return e.entry().Status }

// Hint is the catalogue's one-line fix.
func (e *Error) Hint() string { return e.entry().Hint }

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Description() + " (" + e.Cause.Error() + ")"
	}
	return e.Description()
}

func (e *Error) Unwrap() error { return e.Cause }

// From returns err as an *Error: itself if it is (or wraps) one, otherwise a
// server error carrying err as its cause.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return New(ServerError).Wrap(err)
}

// TimestampFormat is Entra's timestamp layout in error bodies (always UTC).
const TimestampFormat = "2006-01-02 15:04:05Z"

// body is the JSON error, fields in Entra's order.
type body struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// Writer writes errors as Entra's JSON error responses.
type Writer struct {
	// PublicURL is the server's base URL; error_uri is {PublicURL}/error?code=N.
	PublicURL string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// WriteJSON writes e as Entra's JSON error: status from the catalogue,
// Cache-Control: no-store, no-cache, Pragma: no-cache and x-ms-request-id =
// the trace id. Headers set on w before the call (CORS, for example) stay.
func (wr *Writer) WriteJSON(w http.ResponseWriter, r *http.Request, e *Error) {
	d := wr.Details(r, e, CorrelationID(r))
	traceID, corrID := d.TraceID, d.CorrelationID
	b := body{
		Error:            d.Error,
		ErrorDescription: d.Description,
		ErrorCodes:       []int{e.Code},
		Timestamp:        d.Timestamp,
		TraceID:          traceID,
		CorrelationID:    corrID,
		ErrorURI:         d.ErrorURI,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // URIs and quotes as Entra writes them
	_ = enc.Encode(b)        // cannot fail: strings and ints only
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("X-Ms-Request-Id", traceID)
	h.Set("Client-Request-Id", corrID)
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(e.Status())
	_, _ = w.Write(out)
}

// Details are the parts of an error response, for the shapes other than
// JSON: an error redirected to an app (error, error_description, state) and
// the error page.
type Details struct {
	Error string
	// Description is Entra's error_description: "AADSTS<code>: <message>"
	// then the trace id, correlation id and timestamp lines.
	Description   string
	Message       string
	Hint          string
	TraceID       string
	CorrelationID string
	Timestamp     string
	ErrorURI      string
}

// Details builds the parts of e's response to r. corrID is the correlation
// id to report (CorrelationID(r), or one a sign-in flow carries).
func (wr *Writer) Details(r *http.Request, e *Error, corrID string) Details {
	now := time.Now
	if wr.Now != nil {
		now = wr.Now
	}
	traceID := TraceID(r)
	ts := now().UTC().Format(TimestampFormat)
	return Details{
		Error: e.OAuth(),
		Description: e.Description() +
			"\r\nTrace ID: " + traceID +
			"\r\nCorrelation ID: " + corrID +
			"\r\nTimestamp: " + ts,
		Message:       e.Message(),
		Hint:          e.Hint(),
		TraceID:       traceID,
		CorrelationID: corrID,
		Timestamp:     ts,
		ErrorURI:      wr.PublicURL + "/error?code=" + strconv.Itoa(e.Code),
	}
}

// TraceID is the request's trace id from the server middleware, or a new one.
func TraceID(r *http.Request) string {
	if info := reqinfo.From(r.Context()); info != nil && info.TraceID != "" {
		return info.TraceID
	}
	return ids.NewGUID()
}

// CorrelationID echoes the client-request-id header MSAL and the Azure SDKs
// send when it is a GUID (anything else could smuggle text into logs and
// bodies); otherwise it is a new GUID.
func CorrelationID(r *http.Request) string {
	if c := r.Header.Get("Client-Request-Id"); ids.IsGUID(c) {
		return c
	}
	return ids.NewGUID()
}
