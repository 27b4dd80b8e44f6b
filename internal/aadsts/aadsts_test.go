package aadsts

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/ids"
	"github.com/entranceidp/entrance/internal/reqinfo"
)

func TestWriteJSONExactBytes(t *testing.T) {
	wr := &Writer{PublicURL: "https://localhost:8443", Now: func() time.Time {
		return time.Date(2016, 1, 9, 3, 2, 12, 0, time.FixedZone("CET", 3600))
	}}
	r := httptest.NewRequest("GET", "/nope/v2.0/.well-known/openid-configuration", nil)
	r.Header.Set("client-request-id", "aaaa0000-bb11-2222-33cc-444444dddddd")
	r = r.WithContext(reqinfo.With(r.Context(), &reqinfo.Info{TraceID: "0000aaaa-11bb-cccc-dd22-eeeeee333333"}))
	rec := httptest.NewRecorder()
	wr.WriteJSON(rec, r, New(TenantNotFound, "nope"))

	want := `{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'nope' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2016-01-09 02:02:12Z","error_codes":[90002],"timestamp":"2016-01-09 02:02:12Z","trace_id":"0000aaaa-11bb-cccc-dd22-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd","error_uri":"https://localhost:8443/error?code=90002"}`
	if got := rec.Body.String(); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	if rec.Code != http.StatusBadRequest {
		t.Errorf("status %d", rec.Code)
	}
	for k, v := range map[string]string{
		"Content-Type":      "application/json; charset=utf-8",
		"Cache-Control":     "no-store, no-cache",
		"Pragma":            "no-cache",
		"X-Ms-Request-Id":   "0000aaaa-11bb-cccc-dd22-eeeeee333333",
		"Client-Request-Id": "aaaa0000-bb11-2222-33cc-444444dddddd",
		"Content-Length":    fmt.Sprint(len(want)),
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestCorrelationIDMustBeGUID(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("client-request-id", "evil\r\nTrace ID: forged")
	if c := CorrelationID(r); !ids.IsGUID(c) {
		t.Fatalf("correlation id %q", c)
	}
	if tr := TraceID(r); !ids.IsGUID(tr) {
		t.Fatalf("trace id %q", tr)
	}
}

func TestStatusesAndErrors(t *testing.T) {
	for _, tc := range []struct {
		e      *Error
		status int
		oauth  string
		desc   string
	}{
		{New(InvalidInstance), 400, "invalid_instance", "AADSTS50049: Unknown or invalid instance."},
		{New(MissingParameter, "grant_type"), 400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'."},
		{New(InvalidClientSecret, "app"), 401, "invalid_client", "AADSTS7000215: Invalid client secret provided."},
		{New(TemporarilyUnavailable), 503, "temporarily_unavailable", "AADSTS90033: "},
		{New(ServerError), 500, "server_error", "AADSTS50000: "},
		{New(TenantNotFound, "x").WithOAuthError("invalid_request"), 400, "invalid_request", "AADSTS90002: Tenant 'x' not found."},
	} {
		if tc.e.Status() != tc.status || tc.e.OAuth() != tc.oauth || !strings.HasPrefix(tc.e.Description(), tc.desc) {
			t.Errorf("%d: status %d oauth %q desc %q", tc.e.Code, tc.e.Status(), tc.e.OAuth(), tc.e.Description())
		}
	}
}

// Every template must take exactly the arguments it declares, and every entry
// must be complete.
func TestCatalogueComplete(t *testing.T) {
	for _, code := range Codes() {
		en, _ := Lookup(code)
		if en.Code != code || en.Error == "" || en.Message == "" || en.Status < 400 || en.Hint == "" {
			t.Errorf("entry %d incomplete: %+v", code, en)
		}
		n := strings.Count(en.Message, "%s")
		args := make([]any, n)
		for i := range args {
			args[i] = "X"
		}
		if msg := New(code, args...).Message(); strings.Contains(msg, "%!") {
			t.Errorf("%d: template and %d args: %q", code, n, msg)
		}
		if strings.Count(en.Message, "%")-strings.Count(en.Message, "%%") != n {
			t.Errorf("%d: only %%s verbs allowed: %q", code, en.Message)
		}
	}
}

func TestFrom(t *testing.T) {
	cause := errors.New("db down")
	wrapped := fmt.Errorf("resolve: %w", New(TemporarilyUnavailable).Wrap(cause))
	if e := From(wrapped); e.Code != TemporarilyUnavailable || !errors.Is(e, cause) {
		t.Fatalf("From(wrapped) = %v", e)
	}
	if e := From(cause); e.Code != ServerError || !errors.Is(e, cause) {
		t.Fatalf("From(plain) = %v", e)
	}
}

func TestWellFormed(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want bool
	}{
		{"right arguments", New(MissingParameter, "refresh_token"), true},
		{"argument quoting the client's %!", New(MissingParameter, "a%!b"), true},
		{"missing argument", New(MissingParameter), true}, // no args: the template as written
		{"extra argument", New(MissingParameter, "a", "b"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.WellFormed(); got != tt.want {
				t.Errorf("WellFormed() = %v, want %v (%q)", got, tt.want, tt.err.Message())
			}
		})
	}
}
