// Package config holds the server's configuration: one struct, filled from
// defaults, then ENTRANCE_* environment variables, then command-line flags
// (flags win), and validated with errors that name the flag and variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is everything `entrance serve` needs to start.
type Config struct {
	// DataDir holds the embedded database, the development CA and other local
	// state. ENTRANCE_DATA, --data-dir; default ./.entrance.
	DataDir string
	// DatabaseURL selects PostgreSQL (postgres://...) or an SQLite file
	// (sqlite:PATH); empty means the embedded SQLite database under DataDir.
	DatabaseURL string
	// MasterKey encrypts signing keys and server secrets at rest.
	MasterKey string

	// Listen is the address the server binds, host:port; default :8443.
	Listen string
	// TLSCertFile and TLSKeyFile are a PEM certificate (chain) and key. When
	// both are empty and InsecureHTTP is off, the server uses a local
	// development CA under DataDir.
	TLSCertFile string
	TLSKeyFile  string
	// InsecureHTTP serves plain HTTP, for running behind a TLS-terminating
	// proxy. It requires PublicURL.
	InsecureHTTP bool

	// PublicURL is the base of every issuer and endpoint URL, e.g.
	// https://login.example.com (no trailing slash, no path). Default
	// https://localhost:<listen port>.
	PublicURL string
	// V1IssuerBase is the base of v1 issuers ({base}/{tid}/); default PublicURL.
	V1IssuerBase string
	// TrustedProxies are the networks whose X-Forwarded-* headers are honoured.
	TrustedProxies []netip.Prefix
	// HostAliases are other host names (host or host:port) that reach this
	// server; instance discovery answers for them as well as PublicURL's host.
	HostAliases []string

	// DirectoryFile, when set, is applied at start (see docs/directory-file.md).
	DirectoryFile string

	// SMTPURL is where Azure AD B2C email verification codes are mailed:
	// smtp://[user:password@]host[:port] (STARTTLS) or smtps://... (TLS),
	// from SMTPFrom. Empty: codes are written to the log. ShowEmailCodes
	// also shows them on the page (`entrance dev` and tests only).
	SMTPURL        string
	SMTPFrom       string
	ShowEmailCodes bool

	// LogFormat is "text" or "json"; LogLevel debug|info|warn|error.
	LogFormat string
	LogLevel  slog.Level

	// KeyRotation is how often signing keys rotate.
	KeyRotation time.Duration
	// Signer is the RS256 implementation: go, openssl or auto (openssl when
	// the binary was built with it).
	Signer string

	// SSO sessions and password lockout. Zero means the sign-in packages'
	// defaults, which are Entra's (see `entrance serve --help`).
	SessionLifetime    time.Duration
	SessionIdleTimeout time.Duration
	LockoutThreshold   int
	LockoutIPThreshold int
	LockoutWindow      time.Duration
	LockoutDuration    time.Duration

	// Token lifetimes; zero means Entra's defaults.
	AccessTokenLifetimeMin  time.Duration
	AccessTokenLifetimeMax  time.Duration
	RefreshTokenMaxInactive time.Duration
	SingleUseRefreshTokens  bool

	// Operations; zero means the server's defaults. RequestTimeout is every
	// request's deadline (each store call it makes runs under it, so no
	// request hangs on an unreachable database). CleanupInterval is how
	// often expired codes, sessions, device codes and refresh tokens are
	// deleted; SignInLogRetention how long sign-in log entries are kept.
	RequestTimeout     time.Duration
	CleanupInterval    time.Duration
	SignInLogRetention time.Duration

	// Rate limits, in requests per second (bursts of twice that), counted by
	// each replica on its own; 0 turns a limit off. RateLimitPerIP applies
	// to the token, device-code and sign-in endpoints per source address,
	// RateLimitPerClient to the same endpoints per client_id. A Config built
	// in code has none; `entrance serve` starts with DefaultRateLimitPerIP
	// and DefaultRateLimitPerClient (see load).
	RateLimitPerIP     int
	RateLimitPerClient int

	// Tracing (OpenTelemetry, OTLP/HTTP JSON). OTLPEndpoint is the
	// collector's base URL (http://collector:4318; /v1/traces is appended),
	// OTLPTracesEndpoint the full traces URL, which wins when set. Neither
	// set: tracing is off. ServiceName is service.name (default "entrance");
	// TraceSampleRatio the share of new traces recorded, 0 to 1 (Default
	// sets 1; a request continuing a caller's trace follows its decision).
	OTLPEndpoint       string
	OTLPTracesEndpoint string
	ServiceName        string
	TraceSampleRatio   float64
}

// Defaults.
const (
	DefaultDataDir     = "./.entrance"
	DefaultListen      = ":8443"
	DefaultKeyRotation = 30 * 24 * time.Hour

	DefaultRateLimitPerIP     = 100
	DefaultRateLimitPerClient = 200

	DefaultServiceName = "entrance"
)

// Default returns the configuration with every default filled in except the
// ones derived from other fields (PublicURL, V1IssuerBase), which Complete sets.
func Default() Config {
	return Config{
		DataDir:     DefaultDataDir,
		Listen:      DefaultListen,
		LogFormat:   "text",
		LogLevel:    slog.LevelInfo,
		KeyRotation: DefaultKeyRotation,
		Signer:      "auto",

		ServiceName:      DefaultServiceName,
		TraceSampleRatio: 1,
	}
}

// TracesURL is where spans are exported: OTLPTracesEndpoint, else
// OTLPEndpoint with /v1/traces appended; "" when tracing is off.
func (c *Config) TracesURL() string {
	if c.OTLPTracesEndpoint != "" {
		return c.OTLPTracesEndpoint
	}
	if c.OTLPEndpoint != "" {
		return strings.TrimRight(c.OTLPEndpoint, "/") + "/v1/traces"
	}
	return ""
}

// Complete fills the fields derived from others: PublicURL from the listen
// port (only when serving TLS; plain HTTP must be told its public URL) and
// V1IssuerBase from PublicURL. URLs lose a trailing slash. Call it before
// Validate; Load does both.
func (c *Config) Complete() {
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.V1IssuerBase = strings.TrimRight(c.V1IssuerBase, "/")
	if c.PublicURL == "" && !c.InsecureHTTP {
		if _, port, err := net.SplitHostPort(c.Listen); err == nil && port != "" {
			c.PublicURL = "https://localhost"
			if port != "443" {
				c.PublicURL += ":" + port
			}
		}
	}
	if c.V1IssuerBase == "" {
		c.V1IssuerBase = c.PublicURL
	}
	if c.Signer == "" {
		c.Signer = "auto"
	}
}

// Validate reports every problem in the configuration at once. The master key
// is not checked here: `entrance dev` supplies one after loading, and the
// server refuses to start without it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(s setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", s.names(), fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad(sDataDir, "must not be empty")
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		// Never echo the URL: it may hold a password.
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad(sDatabaseURL, "want postgres://user@host:5432/db?sslmode=..., sqlite:/path/to/entrance.db, or nothing for SQLite in the data dir")
		}
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil {
		bad(sListen, "%q is not host:port (e.g. :8443 or 127.0.0.1:8443)", c.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad(sListen, "%q has no valid port", c.Listen)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad(sTLSCert, "--tls-cert and --tls-key go together; give both or neither")
	}
	if c.InsecureHTTP && c.TLSCertFile != "" {
		bad(sInsecureHTTP, "plain HTTP was asked for, but so was a TLS certificate; choose one")
	}
	if c.PublicURL == "" {
		if c.InsecureHTTP {
			bad(sPublicURL, "required with --insecure-http: the https URL clients use to reach the TLS-terminating proxy")
		} else {
			bad(sPublicURL, "required (could not derive one from --listen %q)", c.Listen)
		}
	} else if err := checkBaseURL(c.PublicURL); err != nil {
		bad(sPublicURL, "%v", err)
	}
	if c.V1IssuerBase != "" {
		if err := checkBaseURL(c.V1IssuerBase); err != nil {
			bad(sV1IssuerBase, "%v", err)
		}
	}
	for _, h := range c.HostAliases {
		if err := checkHost(h); err != nil {
			bad(sHostAliases, "%v", err)
		}
	}
	if c.AccessTokenLifetimeMin > 0 && c.AccessTokenLifetimeMax > 0 && c.AccessTokenLifetimeMin > c.AccessTokenLifetimeMax {
		bad(sAccessTokenMin, "%v is longer than --access-token-lifetime-max %v", c.AccessTokenLifetimeMin, c.AccessTokenLifetimeMax)
	}
	if c.RequestTimeout != 0 && c.RequestTimeout < time.Second {
		bad(sRequestTimeout, "%v is too short: a sign-in hashes a password; use at least 1s", c.RequestTimeout)
	}
	if c.CleanupInterval != 0 && c.CleanupInterval < time.Second {
		bad(sCleanupInterval, "%v is too short; use at least 1s", c.CleanupInterval)
	}
	if c.SignInLogRetention < 0 {
		bad(sSignInLogRetention, "%v must not be negative", c.SignInLogRetention)
	}
	if c.SMTPURL != "" {
		// Never echo the URL: it may hold a password.
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			bad(sSMTPURL, "want smtp://[user:password@]host[:port] or smtps://...")
		}
		if !strings.Contains(c.SMTPFrom, "@") || strings.ContainsAny(c.SMTPFrom, "\r\n<>") {
			bad(sSMTPFrom, "a sender address such as no-reply@example.com is required with --smtp-url")
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad(sLogFormat, "%q: want text or json", c.LogFormat)
	}
	if c.KeyRotation < time.Hour {
		bad(sKeyRotation, "%v is too short: clients cache keys for a day; use at least 1h (e.g. 720h or 30d)", c.KeyRotation)
	}
	for _, e := range []struct {
		s   setting
		url string
	}{{sOTLPEndpoint, c.OTLPEndpoint}, {sOTLPTracesEndpoint, c.OTLPTracesEndpoint}} {
		if e.url == "" {
			continue
		}
		// Never echo the URL: it may hold credentials.
		if u, err := url.Parse(e.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad(e.s, "want an http:// or https:// URL without query, e.g. http://otel-collector:4318")
		}
	}
	if !(c.TraceSampleRatio >= 0 && c.TraceSampleRatio <= 1) {
		bad(sTraceSampleRatio, "%v: want a number from 0 to 1", c.TraceSampleRatio)
	}
	if c.Signer != "go" && c.Signer != "openssl" && c.Signer != "auto" {
		bad(sSigner, "%q: want go, openssl or auto", c.Signer)
	}
	return errors.Join(errs...)
}

// PublicHostname is the host name of PublicURL, without a port.
func (c *Config) PublicHostname() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// checkBaseURL accepts an absolute http(s) URL with a host and nothing after it.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %v", s, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("%q: want an https:// URL", s)
	case u.Host == "":
		return fmt.Errorf("%q has no host", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%q: want only scheme and host (no path, query or user), e.g. https://login.example.com", s)
	}
	return nil
}

func checkHost(h string) error {
	if h == "" || strings.ContainsAny(h, "/?#@ ") {
		return fmt.Errorf("%q is not a host name (want host or host:port)", h)
	}
	return nil
}

// parseProxies reads a comma-separated list of CIDRs or single addresses.
func parseProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR (10.0.0.0/8) nor an IP address", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// parseDuration is time.ParseDuration plus a whole-days form ("30d").
func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a duration (e.g. 720h or 30d)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (e.g. 720h or 30d)", s)
	}
	return v, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
	}
	return l, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
