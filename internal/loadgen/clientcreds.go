package loadgen

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ClientCredentials is the client credentials scenario: every call posts
// the same prebuilt grant_type=client_credentials request (client_secret_basic,
// scope {resource}/.default) to app's v2 token endpoint over raw, one
// keep-alive connection per worker, and expects a 200 with an access token.
// Each answer is a fresh token: one RS256 signature, which is what the
// scenario is compared with (Ceilings.RS256PerSecond).
func ClientCredentials(app App, scope string, raw *RawClient) (Request, error) {
	u, err := url.Parse(app.TokenURL())
	if err != nil {
		return nil, err
	}
	header := map[string]string{
		"Content-Type":  "application/x-www-form-urlencoded",
		"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(app.ClientID)+":"+url.QueryEscape(app.ClientSecret))),
	}
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}.Encode()
	req := BuildRequest("POST", raw.host(), u.RequestURI(), header, []byte(body))
	return func(ctx context.Context, worker int) error {
		var out strings.Builder
		status, err := raw.Do(ctx, worker, req, &out)
		if err != nil {
			return err
		}
		if status != http.StatusOK || !strings.Contains(out.String(), `"access_token":"`) {
			return fmt.Errorf("client credentials: HTTP %d %.300s", status, out.String())
		}
		return nil
	}, nil
}
