package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/entranceidp/entrance/internal/loadgen"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// cluster is Entrance deployed as it is in production: replicas of
// `entrance serve` on one database, behind a load balancer (a TCP proxy
// passing TLS through) at the one public URL.
type cluster struct {
	rp       *RP // where the apps' redirect URIs point
	replicas []*replica
	lb       *tcpProxy
	public   string // https://127.0.0.1:<lb port>
	env      []string
	dbArgs   []string // the admin CLI's flags naming the database
	tls      *tls.Config
}

// newCluster starts n replicas on the database at dsn ("" for SQLite in a
// data directory they share), all applying the test directory file as
// they start, at once. extra are more serve flags.
func newCluster(t *testing.T, n int, dsn string, extra ...string) *cluster {
	t.Helper()
	c := &cluster{lb: newTCPProxy(t, ""), rp: newRP(t)}
	c.public = "https://" + c.lb.Addr()
	dir := t.TempDir()
	dirFile := filepath.Join(dir, "directory.yaml")
	if err := os.WriteFile(dirFile, []byte(directoryYAML(c.rp.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.env = append(os.Environ(), "ENTRANCE_MASTER_KEY="+sealbox.GenerateMasterKey())
	// The load these tests make comes from one address; rate limits have
	// tests of their own (TestRateLimits).
	args := []string{"--public-url", c.public, "--directory", dirFile, "--rate-limit-per-ip", "0", "--rate-limit-per-client", "0"}
	if dsn != "" {
		args = append(args, "--database-url", dsn)
		c.dbArgs = []string{"--db", dsn}
	} else {
		sqlite := filepath.Join(dir, "entrance.db")
		args = append(args, "--database-url", "sqlite:"+sqlite)
		c.dbArgs = []string{"--db", "sqlite:" + sqlite}
	}
	args = append(args, extra...)
	for i := range n {
		c.replicas = append(c.replicas, newReplica(t, string(rune('A'+i)), c.env, args...))
	}
	for _, r := range c.replicas {
		r.start(t)
	}
	pool := x509.NewCertPool()
	for _, r := range c.replicas {
		r.waitReady(t)
		ca, err := r.caPEM()
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(ca)
	}
	c.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return c
}

// app is one of the directory's apps as a client reaches it through the
// load balancer.
func (c *cluster) app(appID string) loadgen.App {
	return (&Env{Base: c.public, RP: c.rp}).App(appID, TenantID)
}

// admin runs an admin command against the cluster's database.
func (c *cluster) admin(t testing.TB, args ...string) string {
	t.Helper()
	return runCLI(t, c.env, append(args, c.dbArgs...)...)
}

// via is an HTTP transport that sends each request to the replica pick
// chooses, on a new connection each time, as a load balancer would: the
// URLs name the public address, the connection goes to the replica.
type via struct {
	base http.RoundTripper
	pick func(*http.Request) *replica
	mu   sync.Mutex
	log  []string // "METHOD path → replica"
}

type replicaKey struct{}

func (c *cluster) via(pick func(*http.Request) *replica) *via {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &via{pick: pick, base: &http.Transport{
		TLSClientConfig:   c.tls,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, ctx.Value(replicaKey{}).(*replica).addr)
		},
	}}
}

func (v *via) RoundTrip(req *http.Request) (*http.Response, error) {
	r := v.pick(req)
	v.mu.Lock()
	v.log = append(v.log, req.Method+" "+req.URL.Path+" → "+r.name)
	v.mu.Unlock()
	return v.base.RoundTrip(req.WithContext(context.WithValue(req.Context(), replicaKey{}, r)))
}

// to is a client whose every request goes to r.
func (c *cluster) to(r *replica) *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     c.via(func(*http.Request) *replica { return r }),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// requests reads a replica's entrance_http_requests_total for a route
// pattern, summed over status codes (straight from the replica).
func (r *replica) requests(t testing.TB, route string) int {
	t.Helper()
	client, err := r.client()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get("https://" + r.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	total := 0
	prefix := `entrance_http_requests_total{route="` + route + `",`
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f := strings.Fields(rest)
			n, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += int(n)
		}
	}
	return total
}

// jwksKIDs lists the kids a JWKS document publishes, in order (the
// current key first).
func jwksKIDs(t testing.TB, client *http.Client, url string) []string {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range doc.Keys {
		kids = append(kids, k.KID)
	}
	return kids
}

// headerKID is the kid in a JWT's header.
func headerKID(t testing.TB, jwt string) string {
	t.Helper()
	h, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("JWT header: %v", err)
	}
	var hdr struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(b, &hdr); err != nil {
		t.Fatal(err)
	}
	return hdr.KID
}

// Two `entrance serve` processes on one PostgreSQL schema, behind a load
// balancer: a password sign-in is started at A (authorize), its forms are
// posted to B, the code is redeemed at A and the refresh token at B — by a
// Go client with a cookie jar, then by Chromium. Then a forced key
// rotation through the admin CLI (on the database B uses) shows in A's
// JWKS, and in what A signs, within the caches' intervals.
func TestTwoReplicas(t *testing.T) {
	dsn := storetest.NewPostgresDSN(t) // skips without ENTRANCE_TEST_POSTGRES
	c := newCluster(t, 2, dsn)
	a, b := c.replicas[0], c.replicas[1]
	ctx := context.Background()
	app := c.app(ConsentedAppID)
	alice := loadgen.Credentials{Username: AliceUPN, Password: Password}

	// redeemAndRefresh redeems code at A and the refresh token at B.
	redeemAndRefresh := func(t *testing.T, code, verifier string) loadgen.TokenResponse {
		t.Helper()
		tr, err := app.RedeemCode(ctx, c.to(a), code, verifier)
		if err != nil {
			t.Fatalf("code redeemed at A: %v", err)
		}
		refreshed, err := app.Refresh(ctx, c.to(b), tr.RefreshToken)
		if err != nil {
			t.Fatalf("refresh at B: %v", err)
		}
		if refreshed.AccessToken == "" || refreshed.IDToken == "" || refreshed.RefreshToken == "" {
			t.Fatalf("refresh at B: %+v", refreshed)
		}
		return refreshed
	}
	// served checks that each replica did its part of n sign-ins, and A
	// none of B's.
	served := func(t *testing.T, n int) {
		t.Helper()
		for _, want := range []struct {
			r     *replica
			route string
			min   int
		}{
			{a, "GET /{tenant}/oauth2/v2.0/authorize", n},
			{b, "POST /{tenant}/login", 2 * n}, // user name, then password
			{a, "POST /{tenant}/oauth2/v2.0/token", n},
			{b, "POST /{tenant}/oauth2/v2.0/token", n},
			{a, "POST /{tenant}/login", 0},
			{b, "GET /{tenant}/oauth2/v2.0/authorize", 0},
		} {
			got := want.r.requests(t, want.route)
			if got < want.min || (want.min == 0 && got != 0) {
				t.Errorf("replica %s served %q %d times, want %d", want.r.name, want.route, got, want.min)
			}
		}
	}

	var refreshed loadgen.TokenResponse
	t.Run("Go client", func(t *testing.T) {
		// Authorize (a GET) at A; every form of the sign-in pages (a POST) at B.
		route := c.via(func(r *http.Request) *replica {
			if r.Method == http.MethodPost {
				return b
			}
			return a
		})
		p := loadgen.NewPKCE()
		ar, err := loadgen.NewBrowserWithTransport(route).Authorize(ctx, app.AuthorizeURL(p, "st", "n", nil), app.RedirectURI, alice)
		if err != nil || ar.Code() == "" {
			t.Fatalf("sign-in across replicas: %v %v\n%s", err, ar.Params, strings.Join(route.log, "\n"))
		}
		t.Logf("sign-in:\n  %s", strings.Join(route.log, "\n  "))
		refreshed = redeemAndRefresh(t, ar.Code(), p.Verifier)
		served(t, 1)
	})
	if t.Failed() {
		return
	}

	t.Run("Chromium", func(t *testing.T) {
		var pins []string
		for _, r := range c.replicas {
			h, err := spkiHash(r.addr, c.tls)
			if err != nil {
				t.Fatal(err)
			}
			pins = append(pins, h)
		}
		browser := NewChrome(t, &Env{SPKIHash: strings.Join(pins, ",")})
		p := loadgen.NewPKCE()
		// Route drops the browser's open connections, so each step reaches
		// the replica named, whatever Chromium keeps alive.
		c.lb.Route(a.addr)
		browse(t, browser, "authorize at A",
			chromedp.Navigate(app.AuthorizeURL(p, "chromium", "n", nil)),
			chromedp.WaitVisible(chromedp.ID("username")),
		)
		c.lb.Route(b.addr)
		browse(t, browser, "user name and password at B",
			chromedp.SendKeys(chromedp.ID("username"), AliceUPN),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), Password+"\r"),
			chromedp.WaitVisible(chromedp.ID("result")),
		)
		res, ok := c.rp.Last(strings.TrimPrefix(consentedPath, "/"))
		if !ok || res.Code == "" || res.State != "chromium" {
			t.Fatalf("the app received %+v", res)
		}
		redeemAndRefresh(t, res.Code, p.Verifier)
		served(t, 2)
	})

	// A secret added by the admin CLI works at A at once; deleted, it stops
	// working there within the directory cache's interval.
	t.Run("admin change seen by both", func(t *testing.T) {
		var secret struct {
			KeyID      string `json:"keyId"`
			SecretText string `json:"secretText"`
		}
		if err := adminJSON(c, &secret, "app", "secret", "add", ConsentedAppID); err != nil {
			t.Fatal(err)
		}
		cc := func(r *replica) error {
			_, err := loadgen.PostToken(ctx, c.to(r), app.TokenURL(), url.Values{"grant_type": {"client_credentials"},
				"scope": {"https://graph.microsoft.com/.default"}}, loadgen.SecretPost, ConsentedAppID, secret.SecretText)
			return err
		}
		for _, r := range c.replicas {
			waitFor(t, 5*time.Second, "the new secret to work at "+r.name, func() error { return cc(r) })
		}
		if err := adminJSON(c, &struct{}{}, "app", "secret", "delete", ConsentedAppID, secret.KeyID); err != nil {
			t.Fatal(err)
		}
		for _, r := range c.replicas {
			waitFor(t, 5*time.Second, "the deleted secret to be refused at "+r.name, func() error {
				if cc(r) == nil {
					return errors.New("still accepted")
				}
				return nil
			})
		}
	})

	t.Run("key rotation", func(t *testing.T) {
		jwks := c.public + "/" + TenantID + "/discovery/v2.0/keys"
		before := jwksKIDs(t, c.to(a), jwks)
		if len(before) < 2 || headerKID(t, refreshed.AccessToken) != before[0] {
			t.Fatalf("before rotation: JWKS %v, token signed with %s", before, headerKID(t, refreshed.AccessToken))
		}
		var rotated struct {
			SigningKID string `json:"signingKid"`
		}
		out := c.admin(t, "keys", "rotate", "--tenant", TenantID, "-o", "json")
		if err := json.Unmarshal([]byte(out), &rotated); err != nil || rotated.SigningKID == "" || rotated.SigningKID == before[0] {
			t.Fatalf("keys rotate: %q %v", out, err)
		}
		// A's JWKS is rebuilt when the change counter moves (polled every
		// second); A's signer re-reads the key set within its cache TTL (5s).
		waitFor(t, 15*time.Second, "A's JWKS to lead with the new key", func() error {
			if kids := jwksKIDs(t, c.to(a), jwks); kids[0] != rotated.SigningKID {
				return fmt.Errorf("JWKS %v", kids)
			}
			return nil
		})
		waitFor(t, 15*time.Second, "A to sign with the new key", func() error {
			tr, err := app.Refresh(ctx, c.to(a), refreshed.RefreshToken)
			if err != nil {
				return err
			}
			if kid := headerKID(t, tr.AccessToken); kid != rotated.SigningKID {
				return fmt.Errorf("signed with %s", kid)
			}
			return nil
		})
		// The key that signed before is still published: tokens from
		// before the rotation keep verifying.
		if kids := jwksKIDs(t, c.to(b), jwks); !contains(kids, before[0]) || kids[0] != rotated.SigningKID {
			t.Errorf("B's JWKS after rotation: %v, want %s first and %s still published", kids, rotated.SigningKID, before[0])
		}
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// waitFor polls check until it returns nil, failing the test after d.
func waitFor(t testing.TB, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting %v for %s: %v", d, what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
