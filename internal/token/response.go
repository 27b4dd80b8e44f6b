package token

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/entranceidp/entrance/internal/ids"
)

// responseV2 is the v2 success body; field order is Entra's. scope is left
// out of client credentials answers, as Entra leaves it out.
type responseV2 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// responseV1 is the v1 success body: numbers as strings, plus expires_on,
// not_before and the resource; field order is Entra's.
type responseV1 struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// writeSuccess writes the tokens in the shape of the endpoint version, with
// the headers Entra sends: never cached, the request id, and the client's
// correlation id echoed.
func writeSuccess(w http.ResponseWriter, r *http.Request, version string, out *result) {
	var body any
	// ext_expires_in is the lifetime an API may honour during an outage of
	// the token service; Entrance has no such mode, so it equals expires_in.
	if version == v1 {
		body = responseV1{
			TokenType:    "Bearer",
			Scope:        out.scope,
			ExpiresIn:    strconv.Itoa(out.ExpiresIn),
			ExtExpiresIn: strconv.Itoa(out.ExpiresIn),
			ExpiresOn:    strconv.FormatInt(out.ExpiresOn.Unix(), 10),
			NotBefore:    strconv.FormatInt(out.NotBefore.Unix(), 10),
			Resource:     out.resource,
			AccessToken:  out.AccessToken,
			RefreshToken: out.RefreshToken,
			IDToken:      out.IDToken,
			ClientInfo:   out.ClientInfo,
		}
	} else {
		body = responseV2{
			TokenType:    "Bearer",
			Scope:        out.scope,
			ExpiresIn:    out.ExpiresIn,
			ExtExpiresIn: out.ExpiresIn,
			AccessToken:  out.AccessToken,
			RefreshToken: out.RefreshToken,
			IDToken:      out.IDToken,
			ClientInfo:   out.ClientInfo,
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // scopes are URIs; keep them as Entra writes them
	_ = enc.Encode(body)     // strings and ints only: cannot fail
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))

	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	if c := r.Header.Get("Client-Request-Id"); ids.IsGUID(c) {
		h.Set("Client-Request-Id", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
