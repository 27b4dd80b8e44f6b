package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/entranceidp/entrance/internal/loadgen"
)

// benchSettings are what a scenario needs to build its requests.
type benchSettings struct {
	baseURL, tenant string
	tlsCfg          *tls.Config
	raw             *loadgen.RawClient
	concurrency     int
	app             loadgen.App
	user            loadgen.Credentials
}

// benchScenario builds the request a scenario repeats, and names what it
// loads for the report.
type benchScenario func(ctx context.Context, s benchSettings) (loadgen.Request, string, error)

// getScenario repeats a GET of a cached document.
func getScenario(path func(tenant string) string) benchScenario {
	return func(_ context.Context, s benchSettings) (loadgen.Request, string, error) {
		p := path(s.tenant)
		return s.raw.Get(p), strings.TrimRight(s.baseURL, "/") + p, nil
	}
}

// benchScenarios are the loads `entrance bench` knows. The token and sign-in
// scenarios need an app (--client-id, --client-secret) and, for sign-ins and
// refresh, a user and a redirect URI registered under web.
var benchScenarios = map[string]benchScenario{
	"discovery":    getScenario(func(t string) string { return "/" + t + "/v2.0/.well-known/openid-configuration" }),
	"discovery-v1": getScenario(func(t string) string { return "/" + t + "/.well-known/openid-configuration" }),
	"jwks":         getScenario(func(t string) string { return "/" + t + "/discovery/v2.0/keys" }),
	"client-credentials": func(_ context.Context, s benchSettings) (loadgen.Request, string, error) {
		if s.app.Scope == "" {
			return nil, "", usageError{errors.New("client-credentials needs --scope {resource}/.default")}
		}
		req, err := loadgen.ClientCredentials(s.app, s.app.Scope, s.raw)
		return req, s.app.TokenURL(), err
	},
	// A full password sign-in per request: authorize, username, password,
	// code redeemed. Argon2id holds a core per sign-in: use -c 2..4.
	"signin": func(_ context.Context, s benchSettings) (loadgen.Request, string, error) {
		return loadgen.PasswordSignIns(s.app, s.user, s.tlsCfg), s.app.TokenURL(), nil
	},
	// A refresh-token redemption per request; each worker keeps its own
	// token family. Ask for --scope without openid to measure one signature
	// per redemption (with openid an ID token is signed too).
	"refresh": func(ctx context.Context, s benchSettings) (loadgen.Request, string, error) {
		req, err := loadgen.RefreshRedemptions(ctx, s.app, s.user, s.tlsCfg, s.raw, s.concurrency)
		return req, s.app.TokenURL(), err
	},
}

// newBenchCommand: `entrance bench SCENARIO` drives a running server and
// prints requests/s and latency percentiles, next to the crypto ceilings
// measured in the same run.
func newBenchCommand(env *cliEnv) *cobra.Command {
	var (
		s        benchSettings
		caFile   string
		opts     loadgen.Options
		ceilings bool
	)
	names := make([]string, 0, len(benchScenarios))
	for n := range benchScenarios {
		names = append(names, n)
	}
	slices.Sort(names)
	cmd := &cobra.Command{
		Use:       "bench SCENARIO",
		Short:     "Load a running server: " + strings.Join(names, ", "),
		Args:      cobra.ExactArgs(1),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			scenario, ok := benchScenarios[args[0]]
			if !ok {
				return usageError{fmt.Errorf("unknown scenario %q (want one of %s)", args[0], strings.Join(names, ", "))}
			}
			var err error
			if s.tlsCfg, err = benchTLS(caFile); err != nil {
				return err
			}
			if s.raw, err = loadgen.NewRawClient(s.baseURL, s.tlsCfg); err != nil {
				return usageError{fmt.Errorf("--url: %w", err)}
			}
			defer s.raw.Close()
			s.concurrency = opts.Concurrency
			s.app.BaseURL, s.app.Tenant = s.baseURL, s.tenant
			req, url, err := scenario(cmd.Context(), s)
			if err != nil {
				return err
			}
			res, err := loadgen.Run(cmd.Context(), opts, req)
			if err != nil {
				return err
			}
			out := benchReport{Scenario: args[0], URL: url, Concurrency: opts.Concurrency,
				PerSecond: res.PerSecond(), Requests: res.Requests, Errors: res.Errors, FirstError: res.FirstError,
				P50ms: ms(res.P50), P90ms: ms(res.P90), P99ms: ms(res.P99), MaxMs: ms(res.Max)}
			if ceilings {
				c, err := loadgen.MeasureCeilings(3 * time.Second)
				if err != nil {
					return err
				}
				out.Ceilings = &c
			}
			return env.print(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s  c=%d  %s\n", args[0], opts.Concurrency, res)
				if out.Ceilings != nil {
					fmt.Fprintln(w, *out.Ceilings)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.baseURL, "url", "https://localhost:8443", "base URL of the running server")
	f.StringVar(&s.tenant, "tenant", "common", "tenant segment: GUID, domain or alias (sign-in scenarios: GUID or domain)")
	f.StringVar(&caFile, "cacert", "", "PEM CA file to trust (e.g. .entrance/tls/ca.pem); default: system roots")
	f.StringVar(&s.app.ClientID, "client-id", "", "appId of the client (token and sign-in scenarios)")
	f.StringVar(&s.app.ClientSecret, "client-secret", "", "client secret (token and sign-in scenarios)")
	f.StringVar(&s.app.RedirectURI, "redirect-uri", "", "a web redirect URI of the client (signin, refresh); never called")
	f.StringVar(&s.app.Scope, "scope", "", "scope to ask for (client-credentials: {resource}/.default; signin, refresh: default \""+loadgen.DefaultScope+"\")")
	f.StringVar(&s.user.Username, "username", "", "user to sign in (signin, refresh)")
	f.StringVar(&s.user.Password, "password", "", "the user's password (signin, refresh)")
	f.IntVarP(&opts.Concurrency, "concurrency", "c", 32, "concurrent HTTP/1.1 keep-alive connections, one request in flight on each")
	f.DurationVarP(&opts.Duration, "duration", "d", 10*time.Second, "how long to run")
	f.Int64VarP(&opts.MaxRequests, "requests", "n", 0, "stop after this many requests (0: run for --duration)")
	f.Float64Var(&opts.Rate, "rate", 0, "pace to this many requests/s in total (0: as fast as possible)")
	f.IntVar(&opts.Warmup, "warmup", 5, "unmeasured requests per connection before the run")
	f.BoolVar(&ceilings, "ceilings", true, "also measure RS256 signs/s and argon2id hashes/s on this machine")
	return cmd
}

type benchReport struct {
	Scenario    string            `json:"scenario"`
	URL         string            `json:"url"`
	Concurrency int               `json:"concurrency"`
	PerSecond   float64           `json:"requestsPerSecond"`
	Requests    int64             `json:"requests"`
	Errors      int64             `json:"errors"`
	FirstError  string            `json:"firstError,omitempty"`
	P50ms       float64           `json:"p50ms"`
	P90ms       float64           `json:"p90ms"`
	P99ms       float64           `json:"p99ms"`
	MaxMs       float64           `json:"maxMs"`
	Ceilings    *loadgen.Ceilings `json:"ceilings,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchTLS trusts caFile if given, else the system roots.
func benchTLS(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
