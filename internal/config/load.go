package config

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/pflag"
)

// setting is one configuration value: its flag, its environment variable and
// how a string sets it. Every value passes through the same string form, so
// env and flags are parsed (and reported) identically.
type setting struct {
	flag, env, usage string
	boolean          bool
	set              func(c *Config, v string) error
}

func (s setting) names() string { return "--" + s.flag + " / " + s.env }

func str(f func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

// dur and num make setters for duration and positive-integer settings.
func dur(f func(c *Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(v)
		*f(c) = d
		return err
	}
}

// count is num that also takes 0 (off).
func count(f func(c *Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%q: want a whole number, 0 for none", v)
		}
		*f(c) = n
		return nil
	}
}

func num(f func(c *Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q: want a positive whole number", v)
		}
		*f(c) = n
		return nil
	}
}

var (
	sDataDir = setting{flag: "data-dir", env: "ENTRANCE_DATA",
		usage: "directory for the embedded database and local files (default " + DefaultDataDir + ")",
		set:   str(func(c *Config) *string { return &c.DataDir })}
	sDatabaseURL = setting{flag: "database-url", env: "ENTRANCE_DATABASE_URL",
		usage: "postgres://... or sqlite:PATH; empty: embedded SQLite under the data dir",
		set:   str(func(c *Config) *string { return &c.DatabaseURL })}
	sMasterKey = setting{flag: "master-key", env: "ENTRANCE_MASTER_KEY",
		usage: "master key that encrypts signing keys at rest (prefer the environment variable)",
		set:   str(func(c *Config) *string { return &c.MasterKey })}
	sListen = setting{flag: "listen", env: "ENTRANCE_LISTEN",
		usage: "listen address host:port (default " + DefaultListen + ")",
		set:   str(func(c *Config) *string { return &c.Listen })}
	sTLSCert = setting{flag: "tls-cert", env: "ENTRANCE_TLS_CERT",
		usage: "TLS certificate (PEM, with chain)",
		set:   str(func(c *Config) *string { return &c.TLSCertFile })}
	sTLSKey = setting{flag: "tls-key", env: "ENTRANCE_TLS_KEY",
		usage: "TLS private key (PEM)",
		set:   str(func(c *Config) *string { return &c.TLSKeyFile })}
	sInsecureHTTP = setting{flag: "insecure-http", env: "ENTRANCE_INSECURE_HTTP", boolean: true,
		usage: "serve plain HTTP, only behind a TLS-terminating proxy (needs --public-url)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q: want true or false", v)
			}
			c.InsecureHTTP = b
			return nil
		}}
	sPublicURL = setting{flag: "public-url", env: "ENTRANCE_PUBLIC_URL",
		usage: "public base URL of every issuer and endpoint (default https://localhost:<port>)",
		set:   str(func(c *Config) *string { return &c.PublicURL })}
	sV1IssuerBase = setting{flag: "v1-issuer-base", env: "ENTRANCE_V1_ISSUER_BASE",
		usage: "base of v1 issuers {base}/{tenant}/ (default: the public URL)",
		set:   str(func(c *Config) *string { return &c.V1IssuerBase })}
	sTrustedProxies = setting{flag: "trusted-proxies", env: "ENTRANCE_TRUSTED_PROXIES",
		usage: "comma-separated CIDRs whose X-Forwarded-* headers are trusted",
		set: func(c *Config, v string) error {
			p, err := parseProxies(v)
			c.TrustedProxies = p
			return err
		}}
	sHostAliases = setting{flag: "host-aliases", env: "ENTRANCE_HOST_ALIASES",
		usage: "comma-separated other host names of this server, for instance discovery",
		set:   func(c *Config, v string) error { c.HostAliases = splitList(v); return nil }}
	sDirectory = setting{flag: "directory", env: "ENTRANCE_DIRECTORY",
		usage: "directory file (YAML) to apply at start",
		set:   str(func(c *Config) *string { return &c.DirectoryFile })}
	sSMTPURL = setting{flag: "smtp-url", env: "ENTRANCE_SMTP_URL",
		usage: "SMTP server for B2C email verification codes: smtp://[user:password@]host[:port] or smtps://... (default: codes are logged)",
		set:   str(func(c *Config) *string { return &c.SMTPURL })}
	sSMTPFrom = setting{flag: "smtp-from", env: "ENTRANCE_SMTP_FROM",
		usage: "sender address of B2C verification mails",
		set:   str(func(c *Config) *string { return &c.SMTPFrom })}
	sLogFormat = setting{flag: "log-format", env: "ENTRANCE_LOG_FORMAT",
		usage: "log format: text or json (default text)",
		set:   str(func(c *Config) *string { return &c.LogFormat })}
	sLogLevel = setting{flag: "log-level", env: "ENTRANCE_LOG_LEVEL",
		usage: "log level: debug, info, warn or error (default info)",
		set: func(c *Config, v string) error {
			l, err := parseLevel(v)
			c.LogLevel = l
			return err
		}}
	sKeyRotation = setting{flag: "key-rotation", env: "ENTRANCE_KEY_ROTATION",
		usage: "signing key rotation period, e.g. 720h or 30d (default 30d)",
		set:   dur(func(c *Config) *time.Duration { return &c.KeyRotation })}
	sSigner = setting{flag: "signer", env: "ENTRANCE_SIGNER",
		usage: "RS256 signer: go (crypto/rsa), openssl (libcrypto; binaries built with -tags openssl) or auto (default: openssl when built in)",
		set:   str(func(c *Config) *string { return &c.Signer })}
	sSessionLifetime = setting{flag: "session-lifetime", env: "ENTRANCE_SESSION_LIFETIME",
		usage: "longest an SSO session lasts, however active (default 90d, Entra's sign-in frequency)",
		set:   dur(func(c *Config) *time.Duration { return &c.SessionLifetime })}
	sSessionIdle = setting{flag: "session-idle-timeout", env: "ENTRANCE_SESSION_IDLE_TIMEOUT",
		usage: "an SSO session unused this long ends (default 24h)",
		set:   dur(func(c *Config) *time.Duration { return &c.SessionIdleTimeout })}
	sLockoutThreshold = setting{flag: "lockout-threshold", env: "ENTRANCE_LOCKOUT_THRESHOLD",
		usage: "failed password attempts on one account, within the lockout window, that lock it (default 10, Entra's smart lockout)",
		set:   num(func(c *Config) *int { return &c.LockoutThreshold })}
	sLockoutIPThreshold = setting{flag: "lockout-ip-threshold", env: "ENTRANCE_LOCKOUT_IP_THRESHOLD",
		usage: "failed password attempts from one source address, within the lockout window, that block it (default 100)",
		set:   num(func(c *Config) *int { return &c.LockoutIPThreshold })}
	sLockoutWindow = setting{flag: "lockout-window", env: "ENTRANCE_LOCKOUT_WINDOW",
		usage: "how long failed password attempts are counted (default 10m)",
		set:   dur(func(c *Config) *time.Duration { return &c.LockoutWindow })}
	sAccessTokenMin = setting{flag: "access-token-lifetime-min", env: "ENTRANCE_ACCESS_TOKEN_LIFETIME_MIN",
		usage: "shortest access token lifetime; each token gets a random lifetime between min and max (default 60m, Entra's)",
		set:   dur(func(c *Config) *time.Duration { return &c.AccessTokenLifetimeMin })}
	sAccessTokenMax = setting{flag: "access-token-lifetime-max", env: "ENTRANCE_ACCESS_TOKEN_LIFETIME_MAX",
		usage: "longest access token lifetime (default 90m, Entra's)",
		set:   dur(func(c *Config) *time.Duration { return &c.AccessTokenLifetimeMax })}
	sRefreshInactive = setting{flag: "refresh-token-max-inactive", env: "ENTRANCE_REFRESH_TOKEN_MAX_INACTIVE",
		usage: "a refresh token unused this long expires (default 90d, Entra's MaxInactiveTime)",
		set:   dur(func(c *Config) *time.Duration { return &c.RefreshTokenMaxInactive })}
	sSingleUseRefresh = setting{flag: "single-use-refresh-tokens", env: "ENTRANCE_SINGLE_USE_REFRESH_TOKENS", boolean: true,
		usage: "refuse a refresh token once redeemed (Entra keeps it valid until it expires)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%q: want true or false", v)
			}
			c.SingleUseRefreshTokens = b
			return nil
		}}
	sRequestTimeout = setting{flag: "request-timeout", env: "ENTRANCE_REQUEST_TIMEOUT",
		usage: "deadline of every request, database calls included; past it the answer is 503 temporarily_unavailable (default 10s)",
		set:   dur(func(c *Config) *time.Duration { return &c.RequestTimeout })}
	sCleanupInterval = setting{flag: "cleanup-interval", env: "ENTRANCE_CLEANUP_INTERVAL",
		usage: "how often expired codes, sessions, device codes, refresh tokens and counters are deleted, in bounded batches (default 1m)",
		set:   dur(func(c *Config) *time.Duration { return &c.CleanupInterval })}
	sSignInLogRetention = setting{flag: "sign-in-log-retention", env: "ENTRANCE_SIGN_IN_LOG_RETENTION",
		usage: "how long sign-in log entries are kept (default 30d, Entra's for P1/P2 tenants)",
		set:   dur(func(c *Config) *time.Duration { return &c.SignInLogRetention })}
	sRateLimitPerIP = setting{flag: "rate-limit-per-ip", env: "ENTRANCE_RATE_LIMIT_PER_IP",
		usage: fmt.Sprintf("token, device-code and sign-in requests per second from one source address, bursts of twice that, counted per replica; 0 turns it off (default %d)", DefaultRateLimitPerIP),
		set:   count(func(c *Config) *int { return &c.RateLimitPerIP })}
	sRateLimitPerClient = setting{flag: "rate-limit-per-client", env: "ENTRANCE_RATE_LIMIT_PER_CLIENT",
		usage: fmt.Sprintf("token, device-code and sign-in requests per second naming one client_id, bursts of twice that, counted per replica; 0 turns it off (default %d)", DefaultRateLimitPerClient),
		set:   count(func(c *Config) *int { return &c.RateLimitPerClient })}
	sOTLPEndpoint = setting{flag: "otlp-endpoint", env: "OTEL_EXPORTER_OTLP_ENDPOINT",
		usage: "OpenTelemetry collector base URL, e.g. http://otel-collector:4318: traces go to /v1/traces as OTLP/HTTP JSON (default: tracing off)",
		set:   str(func(c *Config) *string { return &c.OTLPEndpoint })}
	sOTLPTracesEndpoint = setting{flag: "otlp-traces-endpoint", env: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		usage: "full OTLP/HTTP traces URL; wins over --otlp-endpoint",
		set:   str(func(c *Config) *string { return &c.OTLPTracesEndpoint })}
	sServiceName = setting{flag: "service-name", env: "OTEL_SERVICE_NAME",
		usage: "service.name of exported traces (default " + DefaultServiceName + ")",
		set:   str(func(c *Config) *string { return &c.ServiceName })}
	sTraceSampleRatio = setting{flag: "trace-sample-ratio", env: "OTEL_TRACES_SAMPLER_ARG",
		usage: "share of new traces recorded, 0 to 1; a request with a traceparent follows its caller's decision (default 1)",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f <= 1) {
				return fmt.Errorf("%q: want a number from 0 to 1", v)
			}
			c.TraceSampleRatio = f
			return nil
		}}
	sLockoutDuration = setting{flag: "lockout-duration", env: "ENTRANCE_LOCKOUT_DURATION",
		usage: "how long a locked account or address stays locked (default 1m, Entra's)",
		set:   dur(func(c *Config) *time.Duration { return &c.LockoutDuration })}
)

var settings = []setting{
	sDataDir, sDatabaseURL, sMasterKey, sListen, sTLSCert, sTLSKey, sInsecureHTTP,
	sPublicURL, sV1IssuerBase, sTrustedProxies, sHostAliases, sDirectory, sSMTPURL, sSMTPFrom,
	sLogFormat, sLogLevel, sKeyRotation, sSigner,
	sSessionLifetime, sSessionIdle, sLockoutThreshold, sLockoutIPThreshold, sLockoutWindow, sLockoutDuration,
	sAccessTokenMin, sAccessTokenMax, sRefreshInactive, sSingleUseRefresh,
	sRequestTimeout, sCleanupInterval, sSignInLogRetention, sRateLimitPerIP, sRateLimitPerClient,
	sOTLPEndpoint, sOTLPTracesEndpoint, sServiceName, sTraceSampleRatio,
}

// Flags is the set of server flags registered on a command.
type Flags struct {
	fs *pflag.FlagSet
}

// Bind registers every setting as a flag on fs. Defaults are not shown as flag
// defaults (they are in the usage text), so that an unset flag is told apart
// from one set to the default value, and --help never prints a secret taken
// from the environment.
func Bind(fs *pflag.FlagSet) *Flags {
	for _, s := range settings {
		usage := s.usage + " [$" + s.env + "]"
		if s.boolean {
			fs.Bool(s.flag, false, usage)
		} else {
			fs.String(s.flag, "", usage)
		}
	}
	return &Flags{fs: fs}
}

// Load builds the configuration after the flags were parsed: defaults, then
// the environment (getenv is os.LookupEnv in production), then every flag
// given on the command line. The result is completed and validated.
func (f *Flags) Load(getenv func(string) (string, bool)) (Config, error) {
	return load(getenv, func(s setting) (string, bool) {
		fl := f.fs.Lookup(s.flag)
		if fl == nil || !fl.Changed {
			return "", false
		}
		return fl.Value.String(), true
	})
}

// FromEnv builds the configuration from defaults and the environment only.
func FromEnv(getenv func(string) (string, bool)) (Config, error) {
	return load(getenv, func(setting) (string, bool) { return "", false })
}

func load(getenv func(string) (string, bool), flag func(setting) (string, bool)) (Config, error) {
	c := Default()
	// A server started from the command line is rate-limited unless told
	// otherwise; configurations built in code (tests, embedders) are not.
	c.RateLimitPerIP, c.RateLimitPerClient = DefaultRateLimitPerIP, DefaultRateLimitPerClient
	var errs []error
	for _, s := range settings {
		v, ok := flag(s)
		if !ok {
			v, ok = getenv(s.env)
		}
		if !ok || v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.names(), err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	c.Complete()
	return c, c.Validate()
}
