package server

import (
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/ids"
)

func TestRequestInfoTrustsOnlyConfiguredProxies(t *testing.T) {
	s := &Server{cfg: config.Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	}}}
	for _, tc := range []struct {
		name, remote, xff, proto, host string
		wantIP, wantScheme, wantHost   string
	}{
		{"direct client, headers ignored", "203.0.113.9:5555", "198.51.100.1", "https", "evil.test",
			"203.0.113.9", "http", "login.test"},
		{"trusted proxy", "10.1.2.3:443", "198.51.100.1", "https", "login.example.com",
			"198.51.100.1", "https", "login.example.com"},
		{"chain of proxies: right-most untrusted wins", "10.1.2.3:443", "6.6.6.6, 198.51.100.1, 10.9.9.9", "HTTPS", "",
			"198.51.100.1", "https", "login.test"},
		{"IPv6 loopback proxy", "[::1]:1234", "2001:db8::7", "", "",
			"2001:db8::7", "http", "login.test"},
		{"garbage forwarded-for stops the walk", "10.1.2.3:443", "not-an-ip", "gopher", "",
			"10.1.2.3", "http", "login.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://login.test/x", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.host != "" {
				r.Header.Set("X-Forwarded-Host", tc.host)
			}
			info := s.requestInfo(r)
			if info.ClientIP != tc.wantIP || info.Scheme != tc.wantScheme || info.Host != tc.wantHost || !ids.IsGUID(info.TraceID) {
				t.Fatalf("got %+v", info)
			}
		})
	}
}

func TestLowerPath(t *testing.T) {
	r := httptest.NewRequest("GET", "/Contoso.OnMicrosoft.com/V2.0/.well-known/OpenID-Configuration?appid=ABC", nil)
	lowerPath(r)
	if r.URL.Path != "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration" || r.URL.RawQuery != "appid=ABC" {
		t.Fatalf("%q %q", r.URL.Path, r.URL.RawQuery)
	}
}

func TestTracerOnlyWithAnEndpoint(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	if newTracer(cfg, log) != nil {
		t.Error("a tracer without an endpoint")
	}
	cfg.OTLPEndpoint = "http://collector:4318"
	if newTracer(cfg, log) == nil {
		t.Error("no tracer with an endpoint")
	}
}

func TestSpanMethod(t *testing.T) {
	for in, want := range map[string]string{"GET": "GET", "POST": "POST", "OPTIONS": "OPTIONS", "get": "_OTHER", "PROPFIND": "_OTHER", "": "_OTHER"} {
		if got := spanMethod(in); got != want {
			t.Errorf("spanMethod(%q) = %q, want %q", in, got, want)
		}
	}
}
