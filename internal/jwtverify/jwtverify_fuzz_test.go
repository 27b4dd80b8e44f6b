package jwtverify_test

// Fuzz target: go test -run '^$' -fuzz '^FuzzVerify$' -fuzztime 15s ./internal/jwtverify

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/entranceidp/entrance/internal/jwtverify"
	"github.com/entranceidp/entrance/internal/keys"
	"github.com/entranceidp/entrance/internal/sealbox"
	"github.com/entranceidp/entrance/internal/store"
	"github.com/entranceidp/entrance/internal/store/storetest"
)

// FuzzVerify signs arbitrary JOSE headers and claims with the tenant's
// current key (mode 0), with a key the tenant never published (mode 1), or
// takes the input as the whole token (mode 2), and checks that whatever
// verifies satisfies every rule: RS256 only, a published key that really
// signed it, the tenant's issuer, within its lifetime.
func FuzzVerify(f *testing.F) {
	const tenant = "7d3e6f1a-0000-4000-8000-000000000001"
	ctx := context.Background()
	st := storetest.NewSQLite(f)
	if err := st.CreateTenant(ctx, store.Tenant{ID: tenant, DisplayName: "t", Type: store.TenantTypeAAD, Domains: []string{"fuzz.example"}}); err != nil {
		f.Fatal(err)
	}
	mk, err := sealbox.ParseMasterKeys(sealbox.GenerateMasterKey())
	if err != nil {
		f.Fatal(err)
	}
	box, err := sealbox.New(mk...)
	if err != nil {
		f.Fatal(err)
	}
	// The manager hands the decrypted key to NewSigner: keep it, to sign
	// what the fuzzer makes up.
	var current *rsa.PrivateKey
	km := keys.NewManager(st, box, keys.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewSigner: func(k *rsa.PrivateKey) (keys.Signer, error) {
			current = k
			return keys.NewRSASigner(k)
		},
	})
	signing, err := km.SigningKey(ctx, tenant, "")
	if err != nil {
		f.Fatal(err)
	}
	pubs, err := km.PublishedKeys(ctx, tenant, "")
	if err != nil {
		f.Fatal(err)
	}
	published := map[string]*rsa.PublicKey{}
	for _, k := range pubs {
		published[k.KID] = k.Key
	}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	v := jwtverify.New(jwtverify.Options{Store: st, Keys: km, URLs: urls{}, Now: func() time.Time { return now }})

	kid := signing.KID()
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	good := `{"aud":"api://x","iss":"` + urls{}.IssuerV2(tenant) + `","tid":"` + tenant + `","nbf":` + strconv.FormatInt(now.Unix(), 10) + `,"exp":` + exp + `}`
	for _, s := range []struct {
		hdr, claims string
		mode        uint8
	}{
		{`{"typ":"JWT","alg":"RS256","kid":"` + kid + `"}`, good, 0},
		{`{"typ":"JWT","alg":"RS256","x5t":"` + kid + `","kid":"` + kid + `"}`, strings.Replace(good, urls{}.IssuerV2(tenant), urls{}.IssuerV1(tenant), 1), 0},
		{`{"alg":"RS256","kid":"` + kid + `"}`, good, 1},
		{`{"alg":"none","kid":"` + kid + `"}`, good, 0},
		{`{"alg":"HS256","kid":"` + kid + `"}`, good, 0},
		{`{"alg":"RS256","kid":"` + kid + `","crit":["x"]}`, good, 0},
		{`{"alg":"RS256","kid":"other"}`, good, 0},
		{`{"alg":"RS256","kid":"` + kid + `"}`, strings.Replace(good, exp, "9223372036854775807", 1), 0},
		{`{"alg":"RS256","kid":"` + kid + `"}`, strings.Replace(good, tenant, strings.ToUpper(tenant), 1), 0},
		{`{"alg":"RS256","kid":"` + kid + `"}`, `{"tid":"00000000-0000-0000-0000-000000000000"}`, 0},
		{"eyJhbGciOiJub25lIn0", "eyJ0aWQiOiJ4In0.", 2},
	} {
		f.Add(s.hdr, s.claims, s.mode)
	}

	f.Fuzz(func(t *testing.T, header, payload string, mode uint8) {
		var token string
		switch mode % 3 {
		case 2:
			token = header + "." + payload
		default:
			signed := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
			key := current
			if mode%3 == 1 {
				key = foreign
			}
			digest := sha256.Sum256([]byte(signed))
			sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			token = signed + "." + base64.RawURLEncoding.EncodeToString(sig)
		}

		c, err := v.Verify(ctx, token, nil)
		if err != nil {
			var e *jwtverify.Error
			if !errors.As(err, &e) {
				t.Fatalf("not a token error: %v", err)
			}
			// Reasons quote the token ("%!" included, when the fuzzer puts it
			// there); their templates are checked by go vet (fail is a
			// printf wrapper).
			if e.Kind < jwtverify.Malformed || e.Kind > jwtverify.UnknownTenant || !strings.HasPrefix(e.Reason, "IDX") {
				t.Fatalf("error kind %d, reason %q", e.Kind, e.Reason)
			}
			return
		}
		if mode%3 == 1 {
			t.Fatalf("a token signed with an unpublished key verified: %s", token)
		}
		// Read the token again, independently.
		parts := strings.Split(strings.TrimSpace(token), ".")
		hdrJSON, _ := base64.RawURLEncoding.DecodeString(parts[0])
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		var hdr struct {
			Alg  string   `json:"alg"`
			Kid  string   `json:"kid"`
			Crit []string `json:"crit"`
		}
		if err := json.Unmarshal(hdrJSON, &hdr); err != nil || hdr.Alg != "RS256" || len(hdr.Crit) > 0 {
			t.Fatalf("verified a token with header %s", hdrJSON)
		}
		pub := published[hdr.Kid]
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if pub == nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			t.Fatalf("verified a token that kid %q does not sign", hdr.Kid)
		}
		u := urls{}
		if !strings.EqualFold(c.Tid, tenant) || c.Iss != u.IssuerV1(tenant) && c.Iss != u.IssuerV2(tenant) {
			t.Fatalf("verified tid %q iss %q", c.Tid, c.Iss)
		}
		skew := int64(jwtverify.DefaultClockSkew / time.Second)
		if c.Exp == 0 || c.Exp < math.MaxInt64-skew && now.Unix() > c.Exp+skew || c.Nbf > now.Unix()+skew {
			t.Fatalf("verified a token outside its lifetime: nbf %d exp %d now %d", c.Nbf, c.Exp, now.Unix())
		}
	})
}
