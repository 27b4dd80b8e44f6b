package token

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/entranceidp/entrance/internal/aadsts"
	"github.com/entranceidp/entrance/internal/reqinfo"
	"github.com/entranceidp/entrance/internal/store"
)

// A client assertion (private_key_jwt) is checked in this order: its form,
// its algorithm against an explicit allowlist, the registered certificate it
// names, its signature, and only then its claims and its jti — so a forged
// assertion can neither learn anything nor fill the replay cache.

// allowedAssertionAlgs are the only algorithms accepted, whatever the header
// says: MSAL signs PS256 (x5t#S256), ADFS-era clients and msal-node RS256
// (x5t). "none" and HMAC algorithms are refused: a shared-key or unsigned
// assertion proves nothing about a certificate.
var allowedAssertionAlgs = map[string]crypto.Hash{"RS256": crypto.SHA256, "PS256": crypto.SHA256}

type assertionHeader struct {
	Alg     string   `json:"alg"`
	X5t     string   `json:"x5t"`
	X5tS256 string   `json:"x5t#S256"`
	Kid     string   `json:"kid"`
	Crit    []string `json:"crit"`
}

type assertionClaims struct {
	Iss string      `json:"iss"`
	Sub string      `json:"sub"`
	Aud audience    `json:"aud"`
	Exp numericDate `json:"exp"`
	Nbf numericDate `json:"nbf"`
	Jti string      `json:"jti"`
}

// checkAssertion verifies the client assertion of req for app.
func (h *Handler) checkAssertion(ctx context.Context, req *request, app store.Application) error {
	parts := strings.Split(req.cred.assertion, ".")
	if len(parts) != 3 {
		return malformedAssertion()
	}
	var hdr assertionHeader
	var claims assertionClaims
	if decodeSegment(parts[0], &hdr) != nil || decodeSegment(parts[1], &claims) != nil {
		return malformedAssertion()
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return malformedAssertion()
	}
	hash, ok := allowedAssertionAlgs[hdr.Alg]
	if !ok {
		return aadsts.New(aadsts.InvalidAssertionSignature, fmt.Sprintf("The algorithm '%s' is not supported; sign with PS256 or RS256.", hdr.Alg))
	}
	if len(hdr.Crit) > 0 {
		return aadsts.New(aadsts.InvalidAssertionSignature, "Critical header parameters are not supported.")
	}

	keys, reason := assertionKeys(app, hdr, req.now)
	if len(keys) == 0 {
		return aadsts.New(aadsts.InvalidAssertionSignature, reason)
	}
	digest := hash.New()
	digest.Write([]byte(parts[0] + "." + parts[1]))
	sum := digest.Sum(nil)
	verified := false
	for _, k := range keys {
		if verifyRSA(hdr.Alg, k, sum, sig) {
			verified = true
			break
		}
	}
	if !verified {
		return aadsts.New(aadsts.InvalidAssertionSignature, "The signature does not verify with the registered certificate.")
	}

	// The signature is the app's: now the claims.
	if claims.Iss == "" || claims.Iss != claims.Sub {
		return aadsts.New(aadsts.InvalidClientAssertion, "The client assertion's iss and sub must both be the client_id.")
	}
	if !strings.EqualFold(claims.Iss, app.AppID) {
		return aadsts.New(aadsts.InvalidClientAssertion, fmt.Sprintf("The client assertion was issued by '%s', not by the client '%s'.", claims.Iss, app.AppID))
	}
	if !h.audienceAllowed(req, claims.Aud) {
		return aadsts.New(aadsts.InvalidClientAssertion, fmt.Sprintf("The audience '%s' of the client assertion is not this token endpoint (%s).",
			strings.Join(claims.Aud, " "), h.tokenEndpoint(req)))
	}
	skew := h.opts.AssertionClockSkew
	switch {
	case !claims.Exp.set:
		return aadsts.New(aadsts.InvalidClientAssertion, "The client assertion has no exp claim.")
	case req.now.After(claims.Exp.t.Add(skew)):
		return aadsts.New(aadsts.InvalidClientAssertion, fmt.Sprintf("The client assertion is not within its valid time range: it expired at %s.", claims.Exp.t.UTC().Format(time.RFC3339)))
	case claims.Nbf.set && req.now.Add(skew).Before(claims.Nbf.t):
		return aadsts.New(aadsts.InvalidClientAssertion, fmt.Sprintf("The client assertion is not within its valid time range: it is valid from %s.", claims.Nbf.t.UTC().Format(time.RFC3339)))
	case claims.Jti == "":
		return aadsts.New(aadsts.InvalidClientAssertion, "The client assertion has no jti claim.")
	case !storable(claims.Jti):
		return aadsts.New(aadsts.InvalidClientAssertion, "The client assertion's jti is not valid.")
	}
	// Remember the jti until the assertion could no longer be accepted
	// anyway: a copied assertion cannot be used a second time.
	key := "client-assertion:" + strings.ToLower(app.AppID) + ":" + claims.Jti
	if err := h.opts.Store.RecordOnce(ctx, key, claims.Exp.t.Add(skew)); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			return aadsts.New(aadsts.InvalidClientAssertion, "The client assertion's jti was used before; sign a new assertion for every request.")
		}
		return err
	}
	return nil
}

func malformedAssertion() error {
	return aadsts.New(aadsts.InvalidClientAssertion, "The client assertion is not a well-formed JWT.")
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// assertionKeys returns the public keys of the app's certificates that the
// assertion's header names — by x5t#S256 (SHA-256 thumbprint), x5t (SHA-1)
// or kid — and that are valid now. A header naming no certificate is tried
// against every valid one: the signature decides. When nothing is left,
// reason says why, in the words of Entra's AADSTS700027.
func assertionKeys(app store.Application, hdr assertionHeader, now time.Time) ([]*rsa.PublicKey, string) {
	hinted := hdr.X5t != "" || hdr.X5tS256 != "" || hdr.Kid != ""
	var keys []*rsa.PublicKey
	expired := false
	for _, kc := range app.KeyCredentials {
		cert, err := x509.ParseCertificate(kc.Key)
		if err != nil {
			continue
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			continue
		}
		s1 := sha1.Sum(kc.Key)
		s256 := sha256.Sum256(kc.Key)
		if hinted && !(thumbprintIs(hdr.X5tS256, s256[:]) || thumbprintIs(hdr.X5t, s1[:]) ||
			thumbprintIs(hdr.Kid, s1[:]) || thumbprintIs(hdr.Kid, s256[:])) {
			continue
		}
		if now.Before(kc.StartDateTime) || (!kc.EndDateTime.IsZero() && now.After(kc.EndDateTime)) {
			expired = true
			continue
		}
		keys = append(keys, pub)
	}
	if len(keys) > 0 {
		return keys, ""
	}
	if expired {
		return nil, "The key used is expired or not yet valid."
	}
	return nil, fmt.Sprintf("The key was not found., Thumbprint of key used by client: '%s'", firstNonEmpty(hdr.X5tS256, hdr.X5t, hdr.Kid))
}

// thumbprintIs reports whether the header value v encodes sum. Clients
// disagree on the encoding: RFC 7515 says base64url, MSAL Go sends padded
// standard base64, MSAL.NET puts a hex thumbprint in kid. All are accepted:
// the value only picks the certificate, the signature proves the key.
func thumbprintIs(v string, sum []byte) bool {
	if v == "" {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(v); err == nil && bytes.Equal(b, sum) {
			return true
		}
	}
	b, err := hex.DecodeString(v)
	return err == nil && bytes.Equal(b, sum)
}

func verifyRSA(alg string, pub *rsa.PublicKey, digest, sig []byte) bool {
	switch alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig) == nil
	case "PS256":
		// Any salt length: signers differ (golang-jwt uses the hash length,
		// crypto/rsa defaults to the maximum).
		return rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil
	}
	return false
}

// audienceAllowed reports whether one of aud is this token endpoint: v2 or
// v1, under the public URL or the host the client used, with the tenant as
// the client named it in the path, its GUID or one of its domains — the
// forms clients take from the discovery document or build themselves. The
// tenant's v2 issuer is accepted too (RFC 7523bis moves assertions to the
// issuer as audience).
func (h *Handler) audienceAllowed(req *request, aud audience) bool {
	bases := map[string]bool{originOf(h.opts.PublicURL): true}
	if info := reqinfo.From(req.r.Context()); info != nil {
		bases[strings.ToLower(info.Scheme+"://"+info.Host)] = true
	}
	segs := map[string]bool{req.tenantSeg: true}
	if req.tenant.ID != "" {
		segs[strings.ToLower(req.tenant.ID)] = true
		for _, d := range req.tenant.Domains {
			segs[strings.ToLower(d)] = true
		}
	}
	for _, a := range aud {
		u, err := url.Parse(a)
		if err != nil || !bases[originOf(a)] {
			continue
		}
		p := strings.Split(strings.ToLower(strings.TrimPrefix(u.Path, "/")), "/")
		if !segs[p[0]] {
			continue
		}
		switch strings.Join(p[1:], "/") {
		case "oauth2/v2.0/token", "oauth2/token", "v2.0":
			return true
		}
	}
	return false
}

// originOf is scheme://host[:port] of a URL, lower-cased, without the
// scheme's default port.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if (scheme == "https" && strings.HasSuffix(host, ":443")) || (scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return scheme + "://" + host
}

// tokenEndpoint is the endpoint's URL as the client called it, for messages.
func (h *Handler) tokenEndpoint(req *request) string {
	if req.version == v1 {
		return h.opts.PublicURL + "/" + req.tenantSeg + "/oauth2/token"
	}
	return h.opts.PublicURL + "/" + req.tenantSeg + "/oauth2/v2.0/token"
}

// audience is the aud claim: one string or an array of them (RFC 7519).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// The range of numericDate: 0001-01-01 to 9999-12-31.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

// numericDate is a JWT time claim. Besides JSON numbers it accepts numeric
// strings, which older MSAL Go versions sent for exp and nbf.
type numericDate struct {
	t   time.Time
	set bool
}

func (d *numericDate) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("time claim %s: %w", b, err)
	}
	// Years 1 to 9999: the store keeps exp (the replay cache), and
	// int64(f) of NaN or 1e300 is meaningless.
	if !(f >= minNumericDate && f <= maxNumericDate) {
		return fmt.Errorf("time claim %s is out of range", b)
	}
	d.t, d.set = time.Unix(int64(f), 0), true
	return nil
}
