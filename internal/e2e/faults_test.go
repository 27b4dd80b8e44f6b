package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// internals are words that must never reach a client in an error answer:
// they would mean a database error leaked through.
var internals = []string{"dial", "tcp", "postgres", "pgx", "pgconn", "sqlstate", "sqlite", "connection", "context deadline", "5432", "panic", "goroutine"}

// guids are trace and correlation ids, whose hex digits could spell a port.
var guids = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

func leaksInternals(body string, also ...string) string {
	l := strings.ToLower(guids.ReplaceAllString(body, ""))
	for _, w := range append(also, internals...) {
		if strings.Contains(l, w) {
			return w
		}
	}
	return ""
}

// A replica whose database becomes unreachable — connections reset and
// refused (cut), or silence (a partition: stall) — says so at /readyz
// (503), answers requests that need the database with 503
// temporarily_unavailable in Entra's JSON shape within its request
// deadline, never a 500 or a database message, and serves again by itself
// once the database is back.
func TestDatabaseOutage(t *testing.T) {
	dsn := storetest.NewPostgresDSN(t) // skips without ENTRANCE_TEST_POSTGRES
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := newTCPProxy(t, u.Host)
	u.Host = db.Addr()
	const requestTimeout = 3 * time.Second
	c := newCluster(t, 1, u.String(), "--request-timeout", requestTimeout.String())
	a := c.replicas[0]
	c.lb.Route(a.addr)
	ctx := context.Background()
	app := c.app(ConsentedAppID)
	alice := loadgen.Credentials{Username: AliceUPN, Password: Password}
	client := c.to(a)
	tr, err := app.SignIn(ctx, loadgen.NewBrowserWithTransport(c.via(func(*http.Request) *replica { return a })), alice)
	if err != nil {
		t.Fatal(err)
	}
	rt := tr.RefreshToken

	// bounded runs fn and fails the test if it took longer than d.
	bounded := func(t *testing.T, what string, d time.Duration, fn func()) {
		t.Helper()
		start := time.Now()
		fn()
		if took := time.Since(start); took > d {
			t.Errorf("%s took %v, want at most %v", what, took.Round(time.Millisecond), d)
		}
	}

	for _, fault := range []struct {
		name  string
		start func()
	}{
		{"cut", db.Cut},
		{"stall", db.Stall},
	} {
		t.Run(fault.name, func(t *testing.T) {
			fault.start()
			restored := false
			defer func() {
				if !restored {
					db.Restore()
				}
			}()

			bounded(t, "/readyz", 5*time.Second, func() {
				if err := a.ready(); err == nil || !strings.Contains(err.Error(), "503") {
					t.Errorf("/readyz with the database down: %v, want 503", err)
				}
			})
			bounded(t, "a refresh", requestTimeout+2*time.Second, func() {
				_, err := app.Refresh(ctx, client, rt)
				wantUnavailable(t, "refresh", err, db.Addr())
			})
			bounded(t, "a sign-in", 2*requestTimeout+2*time.Second, func() {
				b := loadgen.NewBrowserWithTransport(c.via(func(*http.Request) *replica { return a }))
				_, err := app.SignIn(ctx, b, alice)
				var pe *loadgen.PageError
				var te *loadgen.TokenError
				switch {
				case errors.As(err, &pe):
					if pe.Status != http.StatusServiceUnavailable {
						t.Errorf("sign-in page with the database down: %v, want HTTP 503", pe)
					}
					if w := leaksInternals(pe.Message, db.Addr()); w != "" {
						t.Errorf("sign-in page shows %q: %s", w, pe.Message)
					}
				case errors.As(err, &te):
					wantUnavailable(t, "sign-in", err, db.Addr())
				default:
					t.Errorf("sign-in with the database down: %v, want a 503", err)
				}
			})

			db.Restore()
			restored = true
			waitFor(t, 30*time.Second, "the replica to serve again", func() error {
				if err := a.ready(); err != nil {
					return err
				}
				_, err := app.Refresh(ctx, client, rt)
				return err
			})
		})
	}
	// Nothing was logged as a panic or answered 500.
	if n := a.requests(t, "POST /{tenant}/oauth2/v2.0/token"); n == 0 {
		t.Error("no token requests counted")
	}
	if logs := a.logs.String(); strings.Contains(logs, "panic") || strings.Contains(logs, "status=500") {
		t.Errorf("a request failed with 500 or a panic:\n%s", logs)
	}
}

// wantUnavailable checks a token endpoint answer is Entra's 503
// temporarily_unavailable, without internals.
func wantUnavailable(t *testing.T, what string, err error, also ...string) {
	t.Helper()
	var te *loadgen.TokenError
	if !errors.As(err, &te) {
		t.Errorf("%s with the database down: %v, want 503 temporarily_unavailable", what, err)
		return
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
		TraceID     string `json:"trace_id"`
		Correlation string `json:"correlation_id"`
		Timestamp   string `json:"timestamp"`
	}
	if err := json.Unmarshal([]byte(te.Body), &body); err != nil {
		t.Errorf("%s: not JSON: %s", what, te.Body)
		return
	}
	if te.Status != http.StatusServiceUnavailable || body.Error != "temporarily_unavailable" || len(body.Codes) != 1 ||
		!strings.HasPrefix(body.Description, fmt.Sprintf("AADSTS%d:", body.Codes[0])) || body.TraceID == "" || body.Correlation == "" || body.Timestamp == "" {
		t.Errorf("%s with the database down: HTTP %d %s, want 503 temporarily_unavailable in Entra's shape", what, te.Status, te.Body)
	}
	if w := leaksInternals(te.Body, also...); w != "" {
		t.Errorf("%s: the answer shows %q: %s", what, w, te.Body)
	}
}

// acked collects what Entrance acknowledged during a load run: only what a
// command or request reported as done counts.
type acked struct {
	mu       sync.Mutex
	apps     map[string]string // appId → client secret
	users    map[string]string // user id → UPN
	consents []string          // ids of users who consented to the web app
	refresh  []string          // refresh tokens handed out
	kid      string            // the signing kid of the last rotation
}

// TestKillReplicaMidLoad runs a bounded load — admin commands creating
// apps, secrets and users and rotating keys on the database; users
// consenting to an app and refresh tokens redeemed at a replica — and kills
// the replica (SIGKILL) in the middle. After it restarts, everything that
// was acknowledged is there. On PostgreSQL a second replica serves
// throughout without an error; on SQLite (WAL) the restarted process is
// the other replica.
func TestKillReplicaMidLoad(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testKillMidLoad(t, "", 1) })
	t.Run("postgres", func(t *testing.T) { testKillMidLoad(t, storetest.NewPostgresDSN(t), 2) })
}

func testKillMidLoad(t *testing.T, dsn string, n int) {
	c := newCluster(t, n, dsn)
	victim := c.replicas[0]
	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { stopLoad(); wg.Wait() }()
	web, consented := c.app(WebAppID), c.app(ConsentedAppID)
	toVictim := c.to(victim)
	alice := loadgen.Credentials{Username: AliceUPN, Password: Password}
	signIn := func(app loadgen.App, r *replica, user loadgen.Credentials) (loadgen.TokenResponse, error) {
		return app.SignIn(ctx, loadgen.NewBrowserWithTransport(c.via(func(*http.Request) *replica { return r })), user)
	}

	ack := &acked{apps: map[string]string{}, users: map[string]string{}}
	// Admin commands, one after another, as an operator's script runs them.
	newUsers := make(chan [2]string, 100) // id, UPN
	wg.Go(func() {
		defer close(newUsers)
		for i := 0; ctx.Err() == nil; i++ {
			var app struct {
				AppID string `json:"appId"`
			}
			if err := adminJSON(c, &app, "app", "create", "--tenant", TenantID, "--name", fmt.Sprintf("load app %d", i)); err != nil {
				t.Errorf("app create: %v", err)
				return
			}
			var secret struct {
				SecretText string `json:"secretText"`
			}
			if err := adminJSON(c, &secret, "app", "secret", "add", app.AppID); err != nil {
				t.Errorf("app secret add: %v", err)
				return
			}
			upn := fmt.Sprintf("load%d@%s", i, Domain)
			var user struct {
				ID string `json:"id"`
			}
			if err := adminJSON(c, &user, "user", "create", "--tenant", TenantID, "--upn", upn, "--password", Password); err != nil {
				t.Errorf("user create: %v", err)
				return
			}
			var rotated struct {
				SigningKID string `json:"signingKid"`
			}
			if err := adminJSON(c, &rotated, "keys", "rotate", "--tenant", TenantID); err != nil {
				t.Errorf("keys rotate: %v", err)
				return
			}
			ack.mu.Lock()
			ack.apps[app.AppID] = secret.SecretText
			ack.users[user.ID] = upn
			ack.kid = rotated.SigningKID
			ack.mu.Unlock()
			select {
			case newUsers <- [2]string{user.ID, upn}:
			default:
			}
		}
	})
	// New users sign in to the web app at the victim and consent.
	wg.Go(func() {
		for u := range newUsers {
			if _, err := signIn(web, victim, loadgen.Credentials{Username: u[1], Password: Password}); err == nil {
				ack.mu.Lock()
				ack.consents = append(ack.consents, u[0])
				ack.mu.Unlock()
			}
		}
	})
	// Refresh tokens redeemed at the victim, each worker its own family.
	for range 3 {
		tr, err := signIn(consented, victim, alice)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			rt := tr.RefreshToken
			for ctx.Err() == nil {
				next, err := consented.Refresh(ctx, toVictim, rt)
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the victim is down
					continue
				}
				rt = next.RefreshToken
				ack.mu.Lock()
				ack.refresh = append(ack.refresh, rt)
				ack.mu.Unlock()
			}
		})
	}
	// The other replica serves throughout.
	var otherFailures []string
	otherServed := 0
	if n > 1 {
		other := c.replicas[1]
		tr, err := signIn(consented, other, alice)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			rt, client := tr.RefreshToken, c.to(other)
			for ctx.Err() == nil {
				next, err := consented.Refresh(ctx, client, rt)
				if err != nil {
					if ctx.Err() == nil {
						otherFailures = append(otherFailures, err.Error())
					}
					continue
				}
				rt = next.RefreshToken
				otherServed++
			}
		})
	}

	time.Sleep(3 * time.Second)
	victim.kill()
	killedAt := time.Now()
	ack.mu.Lock()
	t.Logf("killed %s after %d apps, %d consents, %d refresh tokens acknowledged", victim.name, len(ack.apps), len(ack.consents), len(ack.refresh))
	ack.mu.Unlock()
	time.Sleep(time.Second)
	victim.start(t)
	victim.waitReady(t)
	t.Logf("%s back after %v", victim.name, time.Since(killedAt).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	stopLoad()
	wg.Wait()
	if n > 1 && otherServed == 0 {
		t.Error("the other replica served nothing")
	}
	if len(otherFailures) > 0 {
		t.Errorf("the other replica failed %d requests while %s was down, first: %s", len(otherFailures), victim.name, otherFailures[0])
	}

	// Every acknowledged write is there, seen through the restarted replica.
	check := context.Background()
	t.Logf("acknowledged: %d apps with secrets, %d users, %d consents, %d refresh tokens, last rotation to %s",
		len(ack.apps), len(ack.users), len(ack.consents), len(ack.refresh), ack.kid)
	if len(ack.apps) == 0 || len(ack.refresh) == 0 || len(ack.consents) == 0 {
		t.Fatal("the load acknowledged too little to test anything")
	}
	for appID, secret := range ack.apps {
		_, err := loadgen.PostToken(check, toVictim, consented.TokenURL(), url.Values{
			"grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"},
		}, loadgen.SecretPost, appID, secret)
		if err != nil {
			t.Errorf("app %s with its acknowledged secret: %v", appID, err)
		}
	}
	var users []struct {
		ID string `json:"id"`
	}
	if err := adminJSON(c, &users, "user", "list", "--tenant", TenantID); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, u := range users {
		have[u.ID] = true
	}
	for id, upn := range ack.users {
		if !have[id] {
			t.Errorf("acknowledged user %s is missing", upn)
		}
	}
	for _, rt := range ack.refresh {
		if _, err := consented.Refresh(check, toVictim, rt); err != nil {
			t.Errorf("an acknowledged refresh token: %v", err)
		}
	}
	for _, id := range ack.consents {
		// With the consent stored, the sign-in shows no consent page.
		p := loadgen.NewPKCE()
		ar, err := loadgen.NewBrowserWithTransport(c.via(func(*http.Request) *replica { return victim })).
			Authorize(check, web.AuthorizeURL(p, "s", "n", nil), web.RedirectURI, loadgen.Credentials{Username: ack.users[id], Password: Password})
		if err != nil || ar.Code() == "" || slices.Contains(ar.Pages, "consent") {
			t.Errorf("user %s consented, but signing in again: pages %v, %v", ack.users[id], ar.Pages, err)
		}
	}
	// And so is each one's entry in the audit log (written in its transaction).
	var entries []struct {
		Action, Kind, ObjectID string
	}
	if err := adminJSON(c, &entries, "audit", "list", "--limit", "100000"); err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	for _, e := range entries {
		logged[e.Action+" "+e.Kind+" "+e.ObjectID] = true
	}
	for appID := range ack.apps {
		if !logged["create application "+appID] || !logged["update application "+appID] {
			t.Errorf("the audit log lacks the creation or the secret of app %s", appID)
		}
	}
	for id := range ack.users {
		if !logged["create user "+id] {
			t.Errorf("the audit log lacks the creation of user %s", id)
		}
	}
	if kids := jwksKIDs(t, toVictim, c.public+"/"+TenantID+"/discovery/v2.0/keys"); kids[0] != ack.kid {
		t.Errorf("JWKS leads with %s, want the last rotation's %s", kids[0], ack.kid)
	}
}

// adminJSON runs an admin command with -o json against the cluster's
// database and decodes its output into v.
func adminJSON(c *cluster, v any, args ...string) error {
	out, err := runCLIErr(c.env, append(append(args, "-o", "json"), c.dbArgs...)...)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), v)
}
