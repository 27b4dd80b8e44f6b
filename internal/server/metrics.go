package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus metrics, in a registry the Server owns
// (not the global default), so tests and several servers in one process never
// collide.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	tokens    *prometheus.CounterVec
	signIns   *prometheus.CounterVec
	keyEvents *prometheus.CounterVec

	cleanupDeleted prometheus.Counter
	cleanupRuns    *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "entrance_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "entrance_http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "status"}),
	}
	m.cleanupDeleted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "entrance_cleanup_deleted_total",
		Help: "Expired codes, sessions, device codes, refresh tokens, counters, replay-cache and old sign-in log entries deleted.",
	})
	m.cleanupRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entrance_cleanup_runs_total",
		Help: "Background cleanup runs, by result (ok, error).",
	}, []string{"result"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entrance_rate_limited_total",
		Help: "Requests answered 429, by the limit they went over (ip, client).",
	}, []string{"by"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entrance_token_requests_total",
		Help: "Token endpoint requests by grant type and result (issued, or the AADSTS code; unavailable for store outages).",
	}, []string{"grant", "result"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entrance_sign_ins_total",
		Help: "Sign-in attempts written to the sign-in log, by result (success, or the AADSTS code).",
	}, []string{"result"})
	m.keyEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "entrance_signing_key_events_total",
		Help: "Signing key rotations and retirements this replica wrote.",
	}, []string{"event"})
	m.registry.MustRegister(
		m.requests, m.latency, m.cleanupDeleted, m.cleanupRuns, m.rateLimited,
		m.tokens, m.signIns, m.keyEvents,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	s := statusText(status)
	m.requests.WithLabelValues(route, s).Inc()
	m.latency.WithLabelValues(route, s).Observe(d.Seconds())
}

// knownGrants bound the grant label: grant_type comes from the request.
var knownGrants = map[string]bool{
	"authorization_code": true, "refresh_token": true, "client_credentials": true, "password": true,
	"urn:ietf:params:oauth:grant-type:jwt-bearer": true, "urn:ietf:params:oauth:grant-type:device_code": true,
	"device_code": true,
}

// token counts a token request; errorCode 0 is success, -1 a store outage.
func (m *metrics) token(grant string, errorCode int) {
	if !knownGrants[grant] {
		grant = "other"
	}
	m.tokens.WithLabelValues(grant, result(errorCode, "issued")).Inc()
}

// signIn counts a sign-in attempt; errorCode 0 is success.
func (m *metrics) signIn(errorCode int) {
	m.signIns.WithLabelValues(result(errorCode, "success")).Inc()
}

func result(errorCode int, ok string) string {
	switch {
	case errorCode == 0:
		return ok
	case errorCode < 0:
		return "unavailable"
	default:
		return "AADSTS" + strconv.Itoa(errorCode) // codes come from our catalogue: a bounded set
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}
