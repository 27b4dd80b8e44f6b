package server

import (
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/reqinfo"
	"github.com/entranceidp/entrance/internal/ui"
)

// Rate limits on the endpoints that check credentials or hand out codes:
// token, device code and the sign-in pages, per source address and per
// client_id. Each replica keeps its own token buckets in memory: a shared
// counter would put a database write on every token request, the path the
// benchmarks measure. So N replicas behind a load balancer allow up to N
// times the configured rate; the password lockout (authn), which is what
// stops guessing, is counted in the database and holds across replicas.

// limitedEndpoint classifies a request (path already lower-cased): whether
// it is rate-limited, and whether its answers are pages (else JSON). The
// suffixes cover every tenant form, B2C's policy paths included.
func limitedEndpoint(r *http.Request) (limited, page bool) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodOptions:
		return false, false
	case strings.HasSuffix(p, "/oauth2/v2.0/token"), strings.HasSuffix(p, "/oauth2/token"),
		strings.HasSuffix(p, "/oauth2/v2.0/devicecode"), strings.HasSuffix(p, "/oauth2/devicecode"):
		return r.Method == http.MethodPost, false
	case strings.HasSuffix(p, "/oauth2/v2.0/authorize"), strings.HasSuffix(p, "/oauth2/authorize"),
		strings.HasSuffix(p, "/login"), p == "/devicelogin", strings.HasSuffix(p, "/api/selfasserted"):
		return true, true
	}
	return false, false
}

// throttled answers 429 and returns true when the request is over a
// limit. The client_id is read from the query (authorize), the form
// (token, device code: the handler reuses the parsed form) or HTTP Basic
// authentication; it is not authenticated yet, which is why the address
// has a limit of its own.
func (s *Server) throttled(w http.ResponseWriter, r *http.Request) bool {
	if s.limits.perIP == nil && s.limits.perClient == nil {
		return false
	}
	limited, page := limitedEndpoint(r)
	if !limited {
		return false
	}
	now := time.Now()
	var wait time.Duration
	by := ""
	if info := reqinfo.From(r.Context()); info != nil && s.limits.perIP != nil {
		if d := s.limits.perIP.take(info.ClientIP, now); d > 0 {
			wait, by = d, "ip"
		}
	}
	if by == "" && s.limits.perClient != nil {
		if id := clientID(r); id != "" {
			if d := s.limits.perClient.take(strings.ToLower(id), now); d > 0 {
				wait, by = d, "client"
			}
		}
	}
	if by == "" {
		return false
	}
	s.metrics.rateLimited.WithLabelValues(by).Inc()
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	e := aadsts.New(aadsts.TooManyRequests)
	if !page {
		s.errors.WriteJSON(w, r, e)
		return true
	}
	d := s.errors.Details(r, e, aadsts.CorrelationID(r))
	if err := ui.Render(w, e.Status(), ui.PageError, ui.Error{
		Title: "Sign in", Code: e.Code, Message: d.Message,
		TraceID: d.TraceID, CorrelationID: d.CorrelationID, Timestamp: d.Timestamp, ErrorURI: d.ErrorURI,
	}, ui.CSP{NoSelfForm: true}); err != nil {
		s.log.ErrorContext(r.Context(), "render", "page", ui.PageError, "err", err)
	}
	return true
}

// clientID is the client_id a request names, "" if none.
func clientID(r *http.Request) string {
	if id := r.URL.Query().Get("client_id"); id != "" {
		return id
	}
	if r.Method == http.MethodPost {
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err == nil {
				if id := r.PostForm.Get("client_id"); id != "" {
					return id
				}
			}
		}
	}
	if id, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(id); err == nil {
			return u
		}
	}
	return ""
}

// rateLimits are the server's limiters; nil means no limit.
type rateLimits struct {
	perIP, perClient *limiter
}

func newRateLimits(perIP, perClient int) rateLimits {
	var l rateLimits
	if perIP > 0 {
		l.perIP = newLimiter(float64(perIP), float64(2*perIP))
	}
	if perClient > 0 {
		l.perClient = newLimiter(float64(perClient), float64(2*perClient))
	}
	return l
}

// limiter is a token bucket per key: rate tokens a second, up to burst.
type limiter struct {
	rate, burst float64
	mu          sync.Mutex
	buckets     map[string]*bucket
	swept       time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// sweepEvery is how often buckets that have filled up again are dropped
// (a full bucket is the same as none), which bounds memory to the keys seen
// in the last burst/rate seconds.
const sweepEvery = 10 * time.Second

func newLimiter(rate, burst float64) *limiter {
	return &limiter{rate: rate, burst: burst, buckets: map[string]*bucket{}}
}

// take spends one token of key's bucket. It returns 0 if there was one,
// otherwise how long until there is.
func (l *limiter) take(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > sweepEvery {
		for k, b := range l.buckets {
			if l.refill(b, now) >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens, b.at = l.refill(b, now), now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *limiter) refill(b *bucket, now time.Time) float64 {
	return min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
}
