// Package server wires Entrance together — config → store → secrets → keys →
// handlers → http.Server — and runs it: HTTPS (or plain HTTP behind a proxy,
// when asked), key rotation, cache invalidation, health, metrics, logs and
// graceful shutdown.
package server

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/audit"
	"github.com/entranceidp/entrance/internal/config"
	"github.com/entranceidp/entrance/internal/devca"
	"github.com/entranceidp/entrance/internal/dirfile"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/protocol"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/serversecrets"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storeopen"
	"github.com/entranceidp/entrance/internal/tracing"
)

// Timeouts of the HTTP server and of the background work.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 15 * time.Second
	traceFlushTimeout = 5 * time.Second
	readyTimeout      = 2 * time.Second
	changePoll        = time.Second
	rotationCheck     = time.Minute
	applyAttempts     = 3
)

// Server is a configured Entrance server.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	st      store.Store
	secrets *serversecrets.Secrets
	keys    *keys.Manager
	proto   *protocol.Handlers
	errors  *aadsts.Writer
	limits  rateLimits
	metrics *metrics
	handler http.Handler
	tls     *tls.Config // nil with --insecure-http
	devCA   *devca.Files
	// tracer is nil when tracing is off; serverAddress is the public host
	// name, the server.address of every span (never the client's Host).
	tracer        *tracing.Tracer
	serverAddress string
}

// New opens the store, loads the server secrets, prepares signing keys,
// applies cfg.DirectoryFile if set, and builds the handler. It fails, with
// everything it opened closed, when any of that fails. cfg must be complete
// (config.Load does it); a missing master key is an error here, so `entrance
// dev` sets a generated one first.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (_ *Server, err error) {
	cfg.Complete()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MasterKey == "" {
		return nil, errors.New("no master key: set ENTRANCE_MASTER_KEY (or --master-key) to 32 random bytes in base64; `entrance master-key generate` makes one")
	}
	masterKeys, err := sealbox.ParseMasterKeys(cfg.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("ENTRANCE_MASTER_KEY: %w", err)
	}
	box, err := sealbox.New(masterKeys...)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:     cfg,
		log:     logger,
		errors:  &aadsts.Writer{PublicURL: cfg.PublicURL},
		metrics: newMetrics(),
		limits:  newRateLimits(cfg.RateLimitPerIP, cfg.RateLimitPerClient),
	}
	if s.tls, s.devCA, err = tlsConfig(cfg, logger); err != nil {
		return nil, err
	}

	s.st, err = storeopen.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if err != nil {
			s.st.Close()
		}
	}()
	if s.secrets, err = serversecrets.Load(ctx, s.st, box); err != nil {
		return nil, fmt.Errorf("load server secrets: %w", err)
	}
	if cfg.DirectoryFile != "" {
		if err := s.applyDirectory(ctx); err != nil {
			return nil, err
		}
	}

	newSigner, signer, err := keys.SelectSigner(cfg.Signer)
	if err != nil {
		return nil, fmt.Errorf("--signer: %w", err)
	}
	logger.Info("token signer", "signer", signer)
	s.tracer = newTracer(cfg, logger)
	s.serverAddress = cfg.PublicHostname()

	// The keys manager writes through a store that drops the cached
	// documents after each key-set write, so this replica serves a rotation
	// at once; other replicas see it through ChangeVersion.
	s.keys = keys.NewManager(invalidatingStore{Store: s.st, after: func() {
		if s.proto != nil {
			s.proto.Invalidate()
		}
	}}, box, keys.Options{
		RotationPeriod: cfg.KeyRotation,
		Logger:         logger,
		NewSigner:      newSigner,
		Observe:        func(event string) { s.metrics.keyEvents.WithLabelValues(event).Inc() },
	})
	s.proto = protocol.New(protocol.Options{
		Store:       s.st,
		Keys:        s.keys,
		URLs:        protocol.URLs{Public: cfg.PublicURL, V1IssuerBase: cfg.V1IssuerBase},
		HostAliases: cfg.HostAliases,
		Errors:      s.errors,
		Logger:      logger,
	})
	if err := s.ensureKeys(ctx); err != nil {
		return nil, err
	}
	mux, err := s.routes()
	if err != nil {
		return nil, err
	}
	s.handler = s.withMiddleware(mux)
	return s, nil
}

func (s *Server) routes() (http.Handler, error) {
	mux := http.NewServeMux()
	s.proto.Register(mux)
	// The sign-in endpoints (authorize, pages, logout) and the token
	// endpoints (token, userinfo, Graph) are wired in files of their own.
	// Both issue tokens (authorize: implicit and hybrid flows) with one
	// issuer.
	issuer := s.newIssuer()
	if err := s.registerSignIn(mux, issuer); err != nil {
		return nil, err
	}
	if err := s.registerTokens(mux, issuer); err != nil {
		return nil, err
	}
	b2cHandler, err := s.registerB2C(mux, issuer)
	if err != nil {
		return nil, err
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	// Azure AD B2C's query form (/{tenant}/oauth2/v2.0/authorize?p=) shares
	// its paths with Entra's endpoints: it is picked out before the mux.
	return b2cHandler.QueryForm(mux), nil
}

// readyz reports whether the database answers within readyTimeout.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.st.Ping(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "database unreachable\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// applyDirectory applies the directory file in one transaction; its changes
// are recorded in the audit log as made by "directory-file".
func (s *Server) applyDirectory(ctx context.Context) error {
	doc, err := dirfile.Load(s.cfg.DirectoryFile)
	if err != nil {
		return err
	}
	// Replicas started together (a Deployment with the file in a ConfigMap)
	// apply the same file at once: the loser of a race to create an object
	// fails with ErrAlreadyExists. Applying is idempotent, so it applies
	// again and finds that object there; a real conflict in the file fails
	// the same way every time and is reported after the last attempt.
	var sum dirfile.Summary
	audited := audit.Wrap(s.st, audit.DirectoryFile, "entrance serve --directory "+s.cfg.DirectoryFile)
	for attempt := 1; ; attempt++ {
		sum, err = dirfile.Apply(ctx, audited, doc, dirfile.ApplyOptions{
			SecretHasher: s.secrets.ClientSecretHasher(),
			Now:          time.Now,
		})
		if attempt == applyAttempts || !(errors.Is(err, store.ErrAlreadyExists) || errors.Is(err, store.ErrConflict)) {
			break
		}
		s.log.Info("directory file: another replica applied it at the same time; applying again", "attempt", attempt)
	}
	if err != nil {
		return fmt.Errorf("directory file not applied, nothing was changed:\n%w", err)
	}
	s.log.Info("applied directory file", "file", s.cfg.DirectoryFile, "result", sum.String())
	return nil
}

// ensureKeys gives every tenant, and every app that asks for its own key, a
// key set before the first request, so JWKS never creates one on the hot path.
func (s *Server) ensureKeys(ctx context.Context) error {
	tenants, err := s.st.ListTenants(ctx)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	for _, t := range tenants {
		if err := s.keys.Ensure(ctx, t.ID, ""); err != nil {
			return err
		}
		apps, err := s.st.ListApplications(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("list applications of %s: %w", t.ID, err)
		}
		for _, a := range apps {
			if a.UseOwnSigningKey {
				if err := s.keys.Ensure(ctx, t.ID, a.AppID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Run listens on cfg.Listen and serves until ctx ends; see Serve.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.st.Close()
		return err
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln — HTTPS (TLS 1.2+, HTTP/2) unless plain HTTP was asked
// for — and runs key rotation and the change watcher, until ctx ends. Then it
// stops accepting, lets requests in flight finish (up to shutdownTimeout),
// and closes the store. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.st.Close()
	srv := &http.Server{
		Handler:           s.handler,
		TLSConfig:         s.tls,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go s.keys.Run(bg, rotationCheck)
	go s.proto.Watch(bg, changePoll)
	go s.cleaner().run(bg, cmp.Or(s.cfg.CleanupInterval, defaultCleanupInterval))
	if s.tracer != nil {
		// Exports outlive ctx: the spans of the requests that finish during
		// the shutdown grace period are flushed after it (flushTraces).
		go s.tracer.Run(context.WithoutCancel(ctx))
		defer s.flushTraces()
	}

	errc := make(chan error, 1)
	go func() {
		if s.tls != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	scheme := "https"
	if s.tls == nil {
		scheme = "http"
	}
	s.log.Info("serving", "listen", ln.Addr().String(), "scheme", scheme, "public_url", s.cfg.PublicURL)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running after the grace period are cut off: a
		// stopping replica must not hang on a stuck client or a locked
		// database, and what they had not committed was never acknowledged.
		s.log.Warn("requests still running at the end of the shutdown grace period were closed", "grace", shutdownTimeout, "err", err)
		_ = srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newTracer is the tracer of cfg, or nil when tracing is off.
func newTracer(cfg config.Config, log *slog.Logger) *tracing.Tracer {
	endpoint := cfg.TracesURL()
	if endpoint == "" {
		log.Info("tracing off (set --otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT to export OpenTelemetry traces)")
		return nil
	}
	shown := endpoint
	if u, err := url.Parse(endpoint); err == nil {
		shown = u.Redacted()
	}
	log.Info("tracing on: exporting OTLP/HTTP JSON", "endpoint", shown,
		"service_name", cfg.ServiceName, "sample_ratio", cfg.TraceSampleRatio)
	return tracing.New(tracing.Options{
		URL:         endpoint,
		ServiceName: cfg.ServiceName,
		SampleRatio: cfg.TraceSampleRatio,
		Logger:      log,
	})
}

// flushTraces exports the spans still queued, for up to traceFlushTimeout.
func (s *Server) flushTraces() {
	ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
	defer cancel()
	if err := s.tracer.Shutdown(ctx); err != nil {
		s.log.Warn("tracing: the last spans were not exported", "err", err)
	}
}

// cleaner deletes expired flow records and old sign-in log entries.
func (s *Server) cleaner() *cleaner {
	return &cleaner{
		st: s.st, log: s.log, now: time.Now,
		retention: cmp.Or(s.cfg.SignInLogRetention, defaultSignInLogRetention),
		batch:     cleanupBatch, maxBatches: cleanupMaxBatches,
		deleted: s.metrics.cleanupDeleted, runs: s.metrics.cleanupRuns,
	}
}

// Handler is the server's complete HTTP handler (middleware included).
func (s *Server) Handler() http.Handler { return s.handler }

// Keys is the signing key manager.
func (s *Server) Keys() *keys.Manager { return s.keys }

// Store is the open store.
func (s *Server) Store() store.Store { return s.st }

// Secrets are the server-wide secrets (client-secret pepper, pairwise key).
func (s *Server) Secrets() *serversecrets.Secrets { return s.secrets }

// URLs builds issuers and endpoint URLs from the public base URL.
func (s *Server) URLs() protocol.URLs {
	return protocol.URLs{Public: s.cfg.PublicURL, V1IssuerBase: s.cfg.V1IssuerBase}
}

// Config is the configuration the server runs with.
func (s *Server) Config() config.Config { return s.cfg }

// TLSConfig is the server's TLS configuration (nil with --insecure-http).
func (s *Server) TLSConfig() *tls.Config { return s.tls }

// DevCA returns the files of the development CA when the server made its own
// certificate (no --tls-cert), for `entrance dev` to tell the user how to
// trust it.
func (s *Server) DevCA() (devca.Files, bool) {
	if s.devCA == nil {
		return devca.Files{}, false
	}
	return *s.devCA, true
}

// Invalidate drops the cached discovery and JWKS documents; call it after
// writing to the store through Store().
func (s *Server) Invalidate() { s.proto.Invalidate() }

// Close closes the store of a server that will not be served (Serve closes it
// itself when it returns).
func (s *Server) Close() error { return s.st.Close() }

// tlsConfig loads the configured certificate, or makes a development one
// under the data dir when none is configured.
func tlsConfig(cfg config.Config, log *slog.Logger) (*tls.Config, *devca.Files, error) {
	if cfg.InsecureHTTP {
		log.Warn("serving plain HTTP: only run this behind a TLS-terminating proxy", "public_url", cfg.PublicURL)
		return nil, nil, nil
	}
	certFile, keyFile := cfg.TLSCertFile, cfg.TLSKeyFile
	var dev *devca.Files
	if certFile == "" {
		hosts := []string{}
		if h := cfg.PublicHostname(); h != "" {
			hosts = append(hosts, h)
		}
		for _, a := range cfg.HostAliases {
			if h, _, err := net.SplitHostPort(a); err == nil {
				a = h
			}
			hosts = append(hosts, a)
		}
		files, err := devca.Ensure(filepath.Join(cfg.DataDir, "tls"), hosts)
		if err != nil {
			return nil, nil, err
		}
		dev, certFile, keyFile = &files, files.ServerCert, files.ServerKey
		log.Warn("no --tls-cert given: serving a development certificate", "ca", files.CACert)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}, dev, nil
}

// invalidatingStore calls after once a key-set write returns.
type invalidatingStore struct {
	store.Store
	after func()
}

func (s invalidatingStore) UpsertKeySet(ctx context.Context, tenantID, appID string, fn func(store.KeySet) (store.KeySet, error)) (store.KeySet, error) {
	ks, err := s.Store.UpsertKeySet(ctx, tenantID, appID, fn)
	s.after()
	return ks, err
}
