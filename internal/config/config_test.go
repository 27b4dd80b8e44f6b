package config

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./.entrance" || c.Listen != ":8443" || c.PublicURL != "https://localhost:8443" ||
		c.V1IssuerBase != "https://localhost:8443" || c.LogFormat != "text" || c.LogLevel != slog.LevelInfo ||
		c.KeyRotation != 30*24*time.Hour || c.InsecureHTTP {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	f := Bind(fs)
	if err := fs.Parse([]string{"--listen", "127.0.0.1:9443", "--log-level", "debug", "--key-rotation", "7d"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.Load(env(map[string]string{
		"ENTRANCE_LISTEN":          ":1111",
		"ENTRANCE_DATA":            "/var/lib/entrance",
		"ENTRANCE_LOG_FORMAT":      "json",
		"ENTRANCE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7",
		"ENTRANCE_HOST_ALIASES":    "login.local,sts.local:8443",
		"ENTRANCE_MASTER_KEY":      "k",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir: "/var/lib/entrance", MasterKey: "k", Listen: "127.0.0.1:9443",
		PublicURL: "https://localhost:9443", V1IssuerBase: "https://localhost:9443",
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")},
		HostAliases:    []string{"login.local", "sts.local:8443"},
		LogFormat:      "json", LogLevel: slog.LevelDebug, KeyRotation: 7 * 24 * time.Hour,
	}
	if c.DataDir != want.DataDir || c.MasterKey != want.MasterKey || c.Listen != want.Listen ||
		c.PublicURL != want.PublicURL || c.V1IssuerBase != want.V1IssuerBase || c.LogFormat != want.LogFormat ||
		c.LogLevel != want.LogLevel || c.KeyRotation != want.KeyRotation ||
		len(c.TrustedProxies) != 2 || c.TrustedProxies[0] != want.TrustedProxies[0] || c.TrustedProxies[1] != want.TrustedProxies[1] ||
		strings.Join(c.HostAliases, " ") != strings.Join(want.HostAliases, " ") {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestHelpDoesNotLeakEnv(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	Bind(fs)
	if u := fs.FlagUsages(); strings.Contains(u, "secret-value") || !strings.Contains(u, "$ENTRANCE_MASTER_KEY") {
		t.Fatalf("usage:\n%s", u)
	}
}

func TestInsecureHTTP(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"ENTRANCE_INSECURE_HTTP": "true",
		"ENTRANCE_PUBLIC_URL":    "https://login.example.com/",
		"ENTRANCE_LISTEN":        ":8080",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.InsecureHTTP || c.PublicURL != "https://login.example.com" || c.PublicHostname() != "login.example.com" {
		t.Fatalf("%+v", c)
	}
}

func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"insecure without public url", map[string]string{"ENTRANCE_INSECURE_HTTP": "1"},
			[]string{"--public-url / ENTRANCE_PUBLIC_URL: required with --insecure-http"}},
		{"insecure with cert", map[string]string{"ENTRANCE_INSECURE_HTTP": "true", "ENTRANCE_PUBLIC_URL": "https://x",
			"ENTRANCE_TLS_CERT": "c.pem", "ENTRANCE_TLS_KEY": "k.pem"}, []string{"--insecure-http", "choose one"}},
		{"cert without key", map[string]string{"ENTRANCE_TLS_CERT": "c.pem"}, []string{"--tls-cert and --tls-key go together"}},
		{"public url with path", map[string]string{"ENTRANCE_PUBLIC_URL": "https://x/login"}, []string{"no path"}},
		{"public url not url", map[string]string{"ENTRANCE_PUBLIC_URL": "ftp://x"}, []string{"want an https:// URL"}},
		{"listen", map[string]string{"ENTRANCE_LISTEN": "8443"}, []string{"--listen / ENTRANCE_LISTEN", "not host:port"}},
		{"database", map[string]string{"ENTRANCE_DATABASE_URL": "mysql://x"}, []string{"--database-url", "want postgres://"}},
		{"log format", map[string]string{"ENTRANCE_LOG_FORMAT": "xml"}, []string{"want text or json"}},
		{"log level", map[string]string{"ENTRANCE_LOG_LEVEL": "loud"}, []string{"--log-level / ENTRANCE_LOG_LEVEL", "want debug"}},
		{"proxies", map[string]string{"ENTRANCE_TRUSTED_PROXIES": "10.0.0.0/8,nope"}, []string{"\"nope\" is neither a CIDR"}},
		{"rotation", map[string]string{"ENTRANCE_KEY_ROTATION": "5m"}, []string{"too short"}},
		{"rotation syntax", map[string]string{"ENTRANCE_KEY_ROTATION": "soon"}, []string{"not a duration"}},
		{"signer", map[string]string{"ENTRANCE_SIGNER": "boring"}, []string{"--signer / ENTRANCE_SIGNER", "want go, openssl or auto"}},
		{"bool", map[string]string{"ENTRANCE_INSECURE_HTTP": "maybe"}, []string{"want true or false"}},
		{"alias", map[string]string{"ENTRANCE_HOST_ALIASES": "https://x/"}, []string{"not a host name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromEnv(env(tc.env))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPublicURLForPort443(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"ENTRANCE_LISTEN": "0.0.0.0:443"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.PublicURL != "https://localhost" {
		t.Fatal(c.PublicURL)
	}
}

func TestSignInSettings(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"ENTRANCE_SESSION_LIFETIME":     "7d",
		"ENTRANCE_SESSION_IDLE_TIMEOUT": "2h",
		"ENTRANCE_LOCKOUT_THRESHOLD":    "5",
		"ENTRANCE_LOCKOUT_IP_THRESHOLD": "50",
		"ENTRANCE_LOCKOUT_WINDOW":       "15m",
		"ENTRANCE_LOCKOUT_DURATION":     "90s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionLifetime != 7*24*time.Hour || c.SessionIdleTimeout != 2*time.Hour || c.LockoutThreshold != 5 ||
		c.LockoutIPThreshold != 50 || c.LockoutWindow != 15*time.Minute || c.LockoutDuration != 90*time.Second {
		t.Errorf("config = %+v", c)
	}
	for name, value := range map[string]string{
		"ENTRANCE_LOCKOUT_THRESHOLD":    "0",
		"ENTRANCE_LOCKOUT_IP_THRESHOLD": "many",
		"ENTRANCE_SESSION_LIFETIME":     "forever",
	} {
		if _, err := FromEnv(env(map[string]string{name: value})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err = %v, want an error naming the variable", name, value, err)
		}
	}
}

func TestTokenLifetimeSettings(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"ENTRANCE_ACCESS_TOKEN_LIFETIME_MIN":  "10m",
		"ENTRANCE_ACCESS_TOKEN_LIFETIME_MAX":  "20m",
		"ENTRANCE_REFRESH_TOKEN_MAX_INACTIVE": "14d",
		"ENTRANCE_SINGLE_USE_REFRESH_TOKENS":  "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTokenLifetimeMin != 10*time.Minute || c.AccessTokenLifetimeMax != 20*time.Minute ||
		c.RefreshTokenMaxInactive != 14*24*time.Hour || !c.SingleUseRefreshTokens {
		t.Errorf("config = %+v", c)
	}
	_, err = FromEnv(env(map[string]string{"ENTRANCE_ACCESS_TOKEN_LIFETIME_MIN": "2h", "ENTRANCE_ACCESS_TOKEN_LIFETIME_MAX": "1h"}))
	if err == nil || !strings.Contains(err.Error(), "access-token-lifetime-min") {
		t.Errorf("min > max: err = %v", err)
	}
}

func TestTracingSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		flags   []string
		wantURL string
		service string
		ratio   float64
		wantErr string
	}{
		{name: "off by default", service: "entrance", ratio: 1},
		{name: "base URL from the environment", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"},
			wantURL: "http://collector:4318/v1/traces", service: "entrance", ratio: 1},
		{name: "base URL with a path prefix", flags: []string{"--otlp-endpoint", "https://otel.example.com/otlp"},
			wantURL: "https://otel.example.com/otlp/v1/traces", service: "entrance", ratio: 1},
		{name: "traces URL wins", env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector:4318",
			"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://traces:4318/custom/traces",
			"OTEL_SERVICE_NAME":                  "login-eu",
			"OTEL_TRACES_SAMPLER_ARG":            "0.25",
		}, wantURL: "http://traces:4318/custom/traces", service: "login-eu", ratio: 0.25},
		{name: "flag wins over env", env: map[string]string{"OTEL_TRACES_SAMPLER_ARG": "0.25"},
			flags:   []string{"--otlp-endpoint", "http://c:4318", "--trace-sample-ratio", "0"},
			wantURL: "http://c:4318/v1/traces", service: "entrance", ratio: 0},
		{name: "ratio above 1", env: map[string]string{"OTEL_TRACES_SAMPLER_ARG": "1.5"},
			wantErr: "--trace-sample-ratio / OTEL_TRACES_SAMPLER_ARG: \"1.5\": want a number from 0 to 1"},
		{name: "ratio not a number", flags: []string{"--trace-sample-ratio", "NaN"},
			wantErr: "--trace-sample-ratio / OTEL_TRACES_SAMPLER_ARG"},
		{name: "endpoint not a URL", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
			wantErr: "--otlp-endpoint / OTEL_EXPORTER_OTLP_ENDPOINT: want an http:// or https:// URL"},
		{name: "traces endpoint with a query, not echoed", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c/v1/traces?token=SECRET"},
			wantErr: "--otlp-traces-endpoint / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: want"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			f := Bind(fs)
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			c, err := f.Load(env(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "SECRET") {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.TracesURL(); got != tc.wantURL || c.ServiceName != tc.service || c.TraceSampleRatio != tc.ratio {
				t.Errorf("TracesURL %q, service %q, ratio %v; want %q %q %v", got, c.ServiceName, c.TraceSampleRatio, tc.wantURL, tc.service, tc.ratio)
			}
		})
	}
}
