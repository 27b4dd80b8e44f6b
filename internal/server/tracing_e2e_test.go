package server_test

// OpenTelemetry tracing end to end: a real server over HTTPS exporting to a
// fake OTLP/HTTP collector that decodes the JSON it receives.

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/tracing/tracingtest"
)

const (
	tracedPublicApp = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	tracedUser      = "alice@" + domain
	// queryMarker travels in query strings and form values; it must never
	// reach the collector.
	queryMarker = "q7marker"
)

const tracedDirectoryYAML = directoryYAML + `      - appId: ` + tracedPublicApp + `
        displayName: Desktop tool
        isFallbackPublicClient: true
        publicClient: {redirectUris: ["http://localhost"]}
    users:
      - {userPrincipalName: ` + tracedUser + `, displayName: Alice, password: "Correct-Horse-9"}
`

// startTraced runs a server exporting traces to endpoint (the collector's
// base URL), with the traced directory (a user and a public client).
func startTraced(t *testing.T, endpoint string) *testServer {
	t.Helper()
	return startWith(t, "", func(cfg *config.Config) {
		dirFile := filepath.Join(t.TempDir(), "directory.yaml")
		if err := os.WriteFile(dirFile, []byte(tracedDirectoryYAML), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg.DirectoryFile = dirFile
		cfg.OTLPEndpoint = endpoint
		cfg.ServiceName = "entrance-e2e"
	})
}

func (ts *testServer) postForm(t *testing.T, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", ts.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return ts.do(t, req)
}

// guidOf is the 32-hex trace id in GUID text form.
func guidOf(hex string) string {
	if len(hex) != 32 {
		return "not a trace id: " + hex
	}
	return hex[0:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:32]
}

func errorTraceID(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.TraceID == "" {
		t.Fatalf("no error body: %s", body)
	}
	return e.TraceID
}

func TestTracingExportsOneServerSpanPerRequest(t *testing.T) {
	col := tracingtest.New(t, nil)
	ts := startTraced(t, col.URL)
	const (
		discovery   = "GET /{tenant}/v2.0/.well-known/openid-configuration"
		token       = "POST /{tenant}/oauth2/v2.0/token"
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)

	// 1. Discovery with a query string, starting a new trace.
	resp, body := ts.get(t, "/"+domain+"/v2.0/.well-known/openid-configuration?x-client-ver="+queryMarker)
	if resp.StatusCode != 200 {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	newTraceReqID := resp.Header.Get("X-Ms-Request-Id")

	// 2. Discovery continuing the caller's sampled trace.
	resp, body = ts.get(t, "/"+tenantID+"/v2.0/.well-known/openid-configuration",
		"traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	if resp.StatusCode != 200 {
		t.Fatalf("discovery with traceparent: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Ms-Request-Id"); got != guidOf(callerTrace) {
		t.Errorf("x-ms-request-id %q, want the caller's trace id %q", got, guidOf(callerTrace))
	}

	// 3. A malformed traceparent (upper-case hex) starts a fresh trace.
	resp, _ = ts.get(t, "/"+tenantID+"/v2.0/.well-known/openid-configuration",
		"traceparent", "00-"+strings.ToUpper(callerTrace)+"-"+callerSpan+"-01")
	malformedReqID := resp.Header.Get("X-Ms-Request-Id")
	if strings.EqualFold(malformedReqID, guidOf(callerTrace)) {
		t.Error("a malformed traceparent was continued")
	}

	// 4. A failing token request: a wrong password (argon2id runs, in a
	// child span), 400 with Entra's error body.
	resp, body = ts.postForm(t, "/"+tenantID+"/oauth2/v2.0/token?slice="+queryMarker, url.Values{
		"grant_type": {"password"}, "client_id": {tracedPublicApp}, "scope": {"openid " + queryMarker},
		"username": {tracedUser}, "password": {"Wrong-" + queryMarker},
	})
	if resp.StatusCode != 400 || !strings.Contains(string(body), "AADSTS50126") {
		t.Fatalf("token with a wrong password: %d %s", resp.StatusCode, body)
	}
	tokenReqID := resp.Header.Get("X-Ms-Request-Id")
	if errorTraceID(t, body) != tokenReqID {
		t.Errorf("error body trace_id %q, x-ms-request-id %q", errorTraceID(t, body), tokenReqID)
	}

	// 5. An unknown tenant: an error body from discovery.
	resp, body = ts.get(t, "/nope.onmicrosoft.com/v2.0/.well-known/openid-configuration")
	if resp.StatusCode != 400 {
		t.Fatalf("unknown tenant: %d", resp.StatusCode)
	}
	unknownReqID := errorTraceID(t, body)

	// The last spans are flushed at shutdown.
	if err := ts.shutdown(); err != nil {
		t.Fatal(err)
	}
	spans, raw := col.Spans(), col.Bodies()

	servers := map[string]tracingtest.Span{} // by request id
	var children []tracingtest.Span
	for _, s := range spans {
		switch s.Kind {
		case 2:
			if _, dup := servers[guidOf(s.TraceID)]; dup {
				t.Errorf("two server spans in trace %s", s.TraceID)
			}
			servers[guidOf(s.TraceID)] = s
		case 1:
			children = append(children, s)
		default:
			t.Errorf("span %q of kind %d", s.Name, s.Kind)
		}
	}
	if len(servers) != 5 {
		t.Fatalf("%d server spans, want one for each of the 5 requests:\n%s", len(servers), raw)
	}
	for _, tc := range []struct {
		name, reqID, route, path, method, status, parent string
	}{
		{"new trace", newTraceReqID, discovery, "/{tenant}/v2.0/.well-known/openid-configuration", "GET", "200", ""},
		{"continued trace", guidOf(callerTrace), discovery, "/{tenant}/v2.0/.well-known/openid-configuration", "GET", "200", callerSpan},
		{"malformed traceparent", malformedReqID, discovery, "/{tenant}/v2.0/.well-known/openid-configuration", "GET", "200", ""},
		{"failing token request", tokenReqID, token, "/{tenant}/oauth2/v2.0/token", "POST", "400", ""},
		{"unknown tenant", unknownReqID, discovery, "/{tenant}/v2.0/.well-known/openid-configuration", "GET", "400", ""},
	} {
		s, ok := servers[tc.reqID]
		if !ok {
			t.Errorf("%s: no server span whose trace id is the request id %s", tc.name, tc.reqID)
			continue
		}
		if s.Name != tc.route || s.Attr("http.route") != tc.path || s.Attr("http.request.method") != tc.method ||
			s.Attr("http.response.status_code") != tc.status || s.Attr("server.address") != "127.0.0.1" ||
			s.ParentSpanID != tc.parent || s.Status.Code != 0 || len(s.SpanID) != 16 || s.Start == "" || s.End < s.Start {
			t.Errorf("%s: span %+v", tc.name, s)
		}
	}
	// The password check is a child of the token request's span.
	tok := servers[tokenReqID]
	found := false
	for _, c := range children {
		if c.Name == "verify password argon2id" && c.TraceID == tok.TraceID && c.ParentSpanID == tok.SpanID {
			found = true
		}
	}
	if !found {
		t.Errorf("no password check span under the token request: %+v", children)
	}

	for _, e := range col.Exports() {
		if len(e.Services) != 1 || e.Services[0] != "entrance-e2e" {
			t.Errorf("service.name %v", e.Services)
		}
	}
	// Nothing the client chose besides the route reaches the collector.
	for _, secret := range []string{queryMarker, "?", domain, "nope.onmicrosoft", tenantID, tracedUser, "Wrong-"} {
		if strings.Contains(raw, secret) {
			t.Errorf("exported JSON contains %q:\n%s", secret, raw)
		}
	}
}

func TestTracingCollectorDownOrSlow(t *testing.T) {
	path := "/" + tenantID + "/v2.0/.well-known/openid-configuration"
	requests := func(t *testing.T, ts *testServer, n int) {
		t.Helper()
		for range n {
			start := time.Now()
			resp, body := ts.get(t, path)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("a request took %v", d)
			}
		}
	}

	t.Run("down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String()
		ln.Close() // nothing listens there now
		ts := startTraced(t, down)
		requests(t, ts, 10)
		start := time.Now()
		if err := ts.shutdown(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("shutdown took %v with the collector down", d)
		}
	})

	t.Run("slow", func(t *testing.T) {
		hold := make(chan struct{})
		col := tracingtest.New(t, hold)
		ts := startTraced(t, col.URL)
		requests(t, ts, 1)
		select {
		case <-col.Arrived: // the first export now hangs in the collector
		case <-time.After(15 * time.Second):
			close(hold)
			t.Fatal("no export reached the collector")
		}
		requests(t, ts, 20)
		close(hold)
		if err := ts.shutdown(); err != nil {
			t.Fatal(err)
		}
		if spans := col.Spans(); len(spans) != 21 {
			t.Errorf("%d spans exported once the collector recovered, want 21", len(spans))
		}
	})
}

func TestTracingOffExportsNothing(t *testing.T) {
	col := tracingtest.New(t, nil)
	ts := startWith(t, "", func(cfg *config.Config) {
		cfg.ServiceName = "entrance-e2e" // service name and ratio alone do not turn tracing on
		cfg.TraceSampleRatio = 1
	})
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	resp, _ := ts.get(t, "/"+tenantID+"/v2.0/.well-known/openid-configuration",
		"traceparent", "00-"+callerTrace+"-00f067aa0ba902b7-01")
	reqID := resp.Header.Get("X-Ms-Request-Id")
	if resp.StatusCode != 200 || len(reqID) != 36 || reqID == guidOf(callerTrace) {
		t.Errorf("tracing off: %d, request id %q (a traceparent must not set it)", resp.StatusCode, reqID)
	}
	if err := ts.shutdown(); err != nil {
		t.Fatal(err)
	}
	if spans, raw := col.Spans(), col.Bodies(); len(spans) != 0 || raw != "" {
		t.Errorf("tracing off exported %s", raw)
	}
}
