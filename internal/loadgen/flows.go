package loadgen

// Sign-in flows for load runs and end-to-end tests: a Go client with a
// cookie jar that goes through Entrance's sign-in pages the way a browser
// without JavaScript does (authorize → username → password → consent →
// redirect), and the token requests a web app makes afterwards.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// App is a web app registered in Entrance (a redirect URI under web and a
// client secret), as a relying party configures it.
type App struct {
	BaseURL      string // https://host:port of Entrance
	Tenant       string // path segment: tenant GUID, domain, common or organizations
	ClientID     string
	ClientSecret string
	RedirectURI  string
	// Scope of the authorize request; default DefaultScope.
	Scope string
}

// DefaultScope is what most web apps ask for.
const DefaultScope = "openid profile offline_access User.Read"

// Credentials are what the user types on the sign-in pages.
type Credentials struct{ Username, Password string }

func (a App) scope() string {
	if a.Scope == "" {
		return DefaultScope
	}
	return a.Scope
}

func (a App) endpoint(name string) string {
	return strings.TrimRight(a.BaseURL, "/") + "/" + a.Tenant + "/oauth2/v2.0/" + name
}

// TokenURL is the app's v2 token endpoint.
func (a App) TokenURL() string { return a.endpoint("token") }

// PKCE is a code verifier and its S256 challenge.
type PKCE struct{ Verifier, Challenge string }

// NewPKCE makes a fresh verifier (32 random bytes, 43 characters).
func NewPKCE() PKCE {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return PKCE{Verifier: v, Challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// AuthorizeURL is a v2 code-flow authorize request with PKCE (S256), state
// and nonce; extra parameters are added or replace those.
func (a App) AuthorizeURL(p PKCE, state, nonce string, extra url.Values) string {
	q := url.Values{
		"client_id":             {a.ClientID},
		"response_type":         {"code"},
		"redirect_uri":          {a.RedirectURI},
		"scope":                 {a.scope()},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {p.Challenge},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return a.endpoint("authorize") + "?" + q.Encode()
}

// AuthResponse is what the authorize endpoint sent to the redirect URI:
// code, state and session_state, or error, error_description and state.
type AuthResponse struct {
	Params url.Values
	// Status is the HTTP status of the answer: a redirect (302, 303), or
	// 200 for a form_post page.
	Status int
	// Pages lists the sign-in pages passed through, in order ("username",
	// "password", "consent", "picker"); empty for a silent sign-in.
	Pages []string
}

// Code is the authorization code, "" on an error.
func (r AuthResponse) Code() string { return r.Params.Get("code") }

// PageError is an error Entrance showed on a page instead of redirecting:
// its error page, or a message on a sign-in form (wrong password, locked
// account).
type PageError struct {
	Page    string // "error", "username", "password", ...
	Status  int    // HTTP status of the page
	Code    int    // AADSTS code when the page shows one, else 0
	Message string // the text shown
}

func (e *PageError) Error() string {
	return fmt.Sprintf("sign-in stopped on the %s page (HTTP %d, AADSTS%d): %s", e.Page, e.Status, e.Code, e.Message)
}

// Browser signs in through Entrance's pages with a cookie jar, as a browser
// without JavaScript would. It follows redirects on Entrance's own host and
// stops at the first one elsewhere: that one is the answer to the app.
type Browser struct {
	Client *http.Client
}

// NewBrowser returns a Browser with an empty cookie jar over its own
// transport (keep-alive connections of its own).
func NewBrowser(tlsCfg *tls.Config) *Browser {
	return NewBrowserWithTransport(&http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 4})
}

// NewBrowserWithTransport returns a Browser with an empty cookie jar that
// shares rt with others.
func NewBrowserWithTransport(rt http.RoundTripper) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{Client: &http.Client{
		Transport:     rt,
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// maxSteps bounds the pages of one sign-in (a loop would be a server bug).
const maxSteps = 8

// Authorize opens authorizeURL and answers the pages Entrance shows with
// user's credentials, accepting consent, until Entrance answers the app at
// redirectURI. It returns a *PageError when Entrance stops on a page (its
// error page, or a form showing an error), and an error when it needs
// credentials and user is zero (prompt=none never gets here: it redirects).
func (b *Browser) Authorize(ctx context.Context, authorizeURL, redirectURI string, user Credentials) (AuthResponse, error) {
	var out AuthResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authorizeURL, nil)
	if err != nil {
		return out, err
	}
	origin := originOf(authorizeURL)
	for step := 0; step < maxSteps; step++ {
		resp, err := b.Client.Do(req)
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return out, err
		}
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			target, err := resp.Request.URL.Parse(loc)
			if err != nil {
				return out, err
			}
			if originOf(target.String()) == origin {
				if req, err = http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil); err != nil {
					return out, err
				}
				continue
			}
			if !strings.HasPrefix(target.String(), redirectURI) {
				return out, fmt.Errorf("redirected to %s, not to the redirect URI %s", target, redirectURI)
			}
			out.Params, out.Status = target.Query(), resp.StatusCode
			if target.Fragment != "" {
				out.Params, _ = url.ParseQuery(target.Fragment)
			}
			return out, nil
		}
		p := parsePage(string(body))
		if p.formPost != "" {
			if p.formPost != redirectURI {
				return out, fmt.Errorf("form_post to %s, not to the redirect URI %s", p.formPost, redirectURI)
			}
			out.Params, out.Status = p.fields, resp.StatusCode
			return out, nil
		}
		form := url.Values{"flow": {p.fields.Get("flow")}, "csrf": {p.fields.Get("csrf")}}
		switch {
		case p.name == "error" || resp.StatusCode != http.StatusOK:
			return out, &PageError{Page: "error", Status: resp.StatusCode, Code: p.code, Message: p.message}
		case p.message != "":
			return out, &PageError{Page: p.name, Status: resp.StatusCode, Code: p.code, Message: p.message}
		case (p.name == "username" || p.name == "password") && user == (Credentials{}):
			return out, fmt.Errorf("Entrance asks for credentials (the %s page) and none were given", p.name)
		case p.name == "username":
			form.Set("action", "username")
			form.Set("username", user.Username)
		case p.name == "password":
			form.Set("action", "password")
			form.Set("password", user.Password)
		case p.name == "consent":
			form.Set("action", "consent")
		default:
			return out, fmt.Errorf("unexpected page (HTTP %d): %.300s", resp.StatusCode, body)
		}
		out.Pages = append(out.Pages, p.name)
		action, err := resp.Request.URL.Parse(p.action)
		if err != nil {
			return out, err
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return out, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return out, errors.New("too many sign-in pages")
}

func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

// page is what Authorize needs from a page of Entrance's.
type page struct {
	name     string // username, password, consent, picker, error, formpost
	action   string
	fields   url.Values // hidden inputs
	formPost string     // the action of a form_post response page
	code     int
	message  string
}

var (
	reForm    = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	reHidden  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	reFormErr = regexp.MustCompile(`(?s)<p class="error" id="form-error" role="alert">(.*?)</p>`)
	reCode    = regexp.MustCompile(`AADSTS(\d+)`)
	reErrMsg  = regexp.MustCompile(`(?s)<strong>AADSTS\d+:</strong>(.*?)</p>`)
)

func parsePage(body string) page {
	p := page{fields: url.Values{}}
	if m := reForm.FindStringSubmatch(body); m != nil {
		p.action = html.UnescapeString(m[1])
	}
	for _, m := range reHidden.FindAllStringSubmatch(body, -1) {
		p.fields.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	switch {
	case strings.Contains(body, `document.forms[0].submit()`):
		p.name, p.formPost = "formpost", p.action
	case strings.Contains(body, `id="password"`):
		p.name = "password"
	case strings.Contains(body, `id="username"`):
		p.name = "username"
	case strings.Contains(body, `value="consent"`):
		p.name = "consent"
	case strings.Contains(body, `class="tile"`):
		p.name = "picker"
	default:
		p.name = "error"
		if m := reErrMsg.FindStringSubmatch(body); m != nil {
			p.message = strings.TrimSpace(html.UnescapeString(m[1]))
		}
	}
	if m := reFormErr.FindStringSubmatch(body); m != nil {
		p.message = strings.TrimSpace(html.UnescapeString(m[1]))
	}
	if p.name == "error" || p.message != "" {
		if m := reCode.FindStringSubmatch(body); m != nil {
			p.code, _ = strconv.Atoi(m[1])
		}
	}
	return p
}

// TokenResponse is a successful token response.
type TokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	ExpiresIn    int    `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	ClientInfo   string `json:"client_info"`
}

// TokenError is an error answer of the token endpoint, in Entra's shape.
type TokenError struct {
	Status      int
	Err         string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	TraceID     string `json:"trace_id"`
	Body        string `json:"-"`
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("token endpoint: HTTP %d %s %v", e.Status, e.Err, e.Codes)
}

// Code is the first AADSTS code, 0 if none.
func (e *TokenError) Code() int {
	if len(e.Codes) == 0 {
		return 0
	}
	return e.Codes[0]
}

// ClientAuth is how a token request authenticates the client.
type ClientAuth int

// Client authentication methods.
const (
	SecretBasic ClientAuth = iota // client_secret_basic
	SecretPost                    // client_secret_post
	NoSecret                      // client_id only
)

// PostToken posts form to tokenURL, authenticating as id with secret the
// way auth says. It returns the tokens, or a *TokenError for an error
// answer.
func PostToken(ctx context.Context, client *http.Client, tokenURL string, form url.Values, auth ClientAuth, id, secret string) (TokenResponse, error) {
	var out TokenResponse
	form = cloneValues(form)
	switch auth {
	case SecretPost:
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	case NoSecret:
		form.Set("client_id", id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth == SecretBasic {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := client.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return out, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &TokenError{Status: resp.StatusCode, Body: string(body)}
		_ = json.Unmarshal(body, e)
		return out, e
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return out, fmt.Errorf("token response: %w", err)
	}
	if out.AccessToken == "" {
		return out, fmt.Errorf("token response without access_token: %.300s", body)
	}
	return out, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+2)
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// RedeemCode redeems a code the way a web app does (client_secret_basic).
func (a App) RedeemCode(ctx context.Context, client *http.Client, code, verifier string) (TokenResponse, error) {
	return PostToken(ctx, client, a.TokenURL(), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.RedirectURI},
		"code_verifier": {verifier},
	}, SecretBasic, a.ClientID, a.ClientSecret)
}

// Refresh redeems a refresh token (client_secret_basic).
func (a App) Refresh(ctx context.Context, client *http.Client, refreshToken string) (TokenResponse, error) {
	return PostToken(ctx, client, a.TokenURL(), url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
	}, SecretBasic, a.ClientID, a.ClientSecret)
}

// SignIn runs one whole password sign-in in b — authorize, username,
// password, consent if asked — and redeems the code: what a web app and its
// user do. With an SSO session in b's jar it signs in silently.
func (a App) SignIn(ctx context.Context, b *Browser, user Credentials) (TokenResponse, error) {
	p := NewPKCE()
	state, nonce := randomString(), randomString()
	ar, err := b.Authorize(ctx, a.AuthorizeURL(p, state, nonce, nil), a.RedirectURI, user)
	if err != nil {
		return TokenResponse{}, err
	}
	if got := ar.Params.Get("state"); got != state {
		return TokenResponse{}, fmt.Errorf("state %q came back as %q", state, got)
	}
	code := ar.Code()
	if code == "" {
		return TokenResponse{}, fmt.Errorf("no code: %s: %s", ar.Params.Get("error"), ar.Params.Get("error_description"))
	}
	return a.RedeemCode(ctx, b.Client, code, p.Verifier)
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PasswordSignIns is the sign-in scenario: every call is a full password
// sign-in of user into app in a fresh cookie jar (no SSO session), code
// redeemed. Consent must be in place already (a grant in the directory),
// or every call adds a consent step. Each worker keeps its own keep-alive
// connections.
func PasswordSignIns(app App, user Credentials, tlsCfg *tls.Config) Request {
	var mu sync.Mutex
	transports := map[int]http.RoundTripper{}
	return func(ctx context.Context, worker int) error {
		mu.Lock()
		rt := transports[worker]
		if rt == nil {
			rt = &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 2}
			transports[worker] = rt
		}
		mu.Unlock()
		_, err := app.SignIn(ctx, NewBrowserWithTransport(rt), user)
		return err
	}
}

// RefreshRedemptions is the refresh-token scenario: each worker holds a
// refresh token of its own family and every call redeems it
// (client_secret_basic) and keeps the new one. Setup signs user in once
// (one password check) and takes one code per worker from the SSO session.
// Token requests go through raw (one keep-alive connection per worker),
// so the client costs little next to the server.
func RefreshRedemptions(ctx context.Context, app App, user Credentials, tlsCfg *tls.Config, raw *RawClient, workers int) (Request, error) {
	b := NewBrowser(tlsCfg)
	tokens := make([]string, workers)
	for i := range tokens {
		tr, err := app.SignIn(ctx, b, user)
		if err != nil {
			return nil, fmt.Errorf("setup sign-in %d: %w", i+1, err)
		}
		if tr.RefreshToken == "" {
			return nil, errors.New("no refresh token: ask for offline_access")
		}
		tokens[i] = tr.RefreshToken
	}
	u, err := url.Parse(app.TokenURL())
	if err != nil {
		return nil, err
	}
	header := map[string]string{
		"Content-Type":  "application/x-www-form-urlencoded",
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(app.ClientID)+":"+url.QueryEscape(app.ClientSecret))),
	}
	host := raw.host()
	var mu sync.Mutex
	return func(ctx context.Context, worker int) error {
		mu.Lock()
		rt := tokens[worker]
		mu.Unlock()
		body := "grant_type=refresh_token&refresh_token=" + url.QueryEscape(rt)
		var out strings.Builder
		status, err := raw.Do(ctx, worker, BuildRequest("POST", host, u.RequestURI(), header, []byte(body)), &out)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("refresh: HTTP %d %.300s", status, out.String())
		}
		resp := out.String()
		next, ok := jsonStringField(resp, "refresh_token")
		if !ok || !strings.Contains(resp, `"access_token":"`) {
			return fmt.Errorf("refresh: no tokens in %.300s", resp)
		}
		mu.Lock()
		tokens[worker] = next
		mu.Unlock()
		return nil
	}, nil
}

// jsonStringField returns the value of a top-level string field of a token
// response without decoding the rest: the load generator shares the cores
// with the server it measures, and decoding a whole response (a JWT in it)
// costs more than finding one field. Token values need no unescaping
// (base64url, dots and hyphens); a value with a backslash is refused.
func jsonStringField(body, name string) (string, bool) {
	_, rest, ok := strings.Cut(body, `"`+name+`":"`)
	if !ok {
		return "", false
	}
	value, _, ok := strings.Cut(rest, `"`)
	if !ok || value == "" || strings.ContainsRune(value, '\\') {
		return "", false
	}
	return value, true
}
